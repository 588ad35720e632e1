#include "bridge/framing.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, int n)
{
	uint64_t v = 0;

	for (int i = n - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

void frame_header_encode(const struct frame_header *h, uint8_t out[WIRE_HEADER_SIZE])
{
	put_le(out, h->type, 4);
	put_le(out + 4, h->size, 4);
	put_le(out + 8, h->id, 8);
}

void frame_header_decode(const uint8_t in[WIRE_HEADER_SIZE], struct frame_header *h)
{
	h->type = (uint32_t)get_le(in, 4);
	h->size = (uint32_t)get_le(in + 4, 4);
	h->id = get_le(in + 8, 8);
}

void frame_reader_init(struct frame_reader *r, uint32_t max_size)
{
	memset(r, 0, sizeof(*r));
	r->max_size = max_size;
}

void frame_reader_reset(struct frame_reader *r)
{
	free(r->body);
	frame_reader_init(r, r->max_size);
}

/* The body buffer starts at this and doubles as bytes arrive: a header
 * that declares 8 MiB costs what was actually sent, not 8 MiB at once. */
#define BODY_FIRST_CAP (64u * 1024)

static int take_header(struct frame_reader *r, struct error *err)
{
	size_t body;

	frame_header_decode(r->hdr, &r->cur);
	if (r->cur.size < WIRE_HEADER_SIZE || r->cur.size > r->max_size)
		return error_set(err, ERR_FAIL, EPROTO,
				 "message type 0x%08x id %llu: Size %u outside [%u, %u]",
				 r->cur.type, (unsigned long long)r->cur.id, r->cur.size,
				 WIRE_HEADER_SIZE, r->max_size);
	body = r->cur.size - WIRE_HEADER_SIZE;
	r->body_cap = body < BODY_FIRST_CAP ? body : BODY_FIRST_CAP;
	r->body = malloc(r->body_cap + 1);
	if (!r->body)
		return error_set(err, ERR_FAIL, ENOMEM, "no memory for a %zu-byte message", body);
	r->body_len = 0;
	return 0;
}

/* Room for n more body bytes (never past the declared Size). */
static int reserve(struct frame_reader *r, size_t n, struct error *err)
{
	size_t body = r->cur.size - WIRE_HEADER_SIZE, cap = r->body_cap;
	char *p;

	if (r->body_len + n <= cap)
		return 0;
	while (cap < r->body_len + n)
		cap *= 2;
	if (cap > body)
		cap = body;
	p = realloc(r->body, cap + 1);
	if (!p)
		return error_set(err, ERR_FAIL, ENOMEM, "no memory for a %zu-byte message", body);
	r->body = p;
	r->body_cap = cap;
	return 0;
}

int frame_reader_feed(struct frame_reader *r, const uint8_t *data, size_t len, size_t *consumed,
		      struct frame *out, struct error *err)
{
	size_t used = 0, want, n;
	int rc;

	*consumed = 0;
	if (r->hdr_len < WIRE_HEADER_SIZE) {
		n = WIRE_HEADER_SIZE - r->hdr_len;
		if (n > len)
			n = len;
		if (n)
			memcpy(r->hdr + r->hdr_len, data, n);
		r->hdr_len += n;
		used += n;
		*consumed = used;
		if (r->hdr_len < WIRE_HEADER_SIZE)
			return 0;
		rc = take_header(r, err);
		if (rc < 0)
			return rc;
	}
	want = r->cur.size - WIRE_HEADER_SIZE - r->body_len;
	n = len - used < want ? len - used : want;
	rc = reserve(r, n, err);
	if (rc < 0)
		return rc;
	if (n)
		memcpy(r->body + r->body_len, data + used, n);
	r->body_len += n;
	used += n;
	*consumed = used;
	if (n < want)
		return 0;
	r->body[r->body_len] = '\0';
	out->hdr = r->cur;
	out->body = r->body;
	out->len = r->body_len;
	r->body = NULL;
	r->hdr_len = 0;
	r->body_len = 0;
	r->body_cap = 0;
	return 1;
}

uint8_t *frame_encode(uint32_t type, uint64_t id, const void *body, size_t len)
{
	struct frame_header h = {
		.type = type, .size = (uint32_t)(WIRE_HEADER_SIZE + len), .id = id};
	uint8_t *buf = malloc(WIRE_HEADER_SIZE + len);

	if (!buf)
		return NULL;
	frame_header_encode(&h, buf);
	if (len)
		memcpy(buf + WIRE_HEADER_SIZE, body, len);
	return buf;
}
