/* Bridge framing: the header layout and the stream reader (split reads,
 * several messages per read, invalid sizes). */
#include "unit.h"

#include <errno.h>

#include "bridge/framing.h"

static size_t put_msg(uint8_t *p, uint32_t type, uint64_t id, const char *body)
{
	size_t n = strlen(body);
	struct frame_header h = {.type = type, .size = (uint32_t)(16 + n), .id = id};

	frame_header_encode(&h, p);
	memcpy(p + 16, body, n);
	return 16 + n;
}

TEST(header_is_little_endian_type_size_id)
{
	struct frame_header h = {
		.type = 0x10100b01, .size = 0x11223344, .id = 0x0102030405060708ull};
	const uint8_t want[16] = {0x01, 0x0b, 0x10, 0x10, 0x44, 0x33, 0x22, 0x11,
				  0x08, 0x07, 0x06, 0x05, 0x04, 0x03, 0x02, 0x01};
	struct frame_header back;
	uint8_t buf[16];

	frame_header_encode(&h, buf);
	CHECK(memcmp(buf, want, 16) == 0);
	frame_header_decode(buf, &back);
	CHECK_EQ(back.type, h.type);
	CHECK_EQ(back.size, h.size);
	CHECK(back.id == h.id);
}

TEST(encode_puts_header_then_body_in_one_buffer)
{
	uint8_t *buf = frame_encode(0x20100901, 7, "{}", 2);
	struct frame_header h;

	CHECK(buf != NULL);
	frame_header_decode(buf, &h);
	CHECK_EQ(h.type, 0x20100901);
	CHECK_EQ(h.size, 18);
	CHECK_EQ(h.id, 7);
	CHECK(memcmp(buf + 16, "{}", 2) == 0);
	free(buf);
}

TEST(reader_reassembles_messages_fed_one_byte_at_a_time)
{
	uint8_t stream[256];
	size_t len = put_msg(stream, 1, 10, "{\"a\":1}\n");
	struct frame_reader r;
	struct error err;
	int got = 0;

	len += put_msg(stream + len, 2, 11, "{\"b\":2}");
	frame_reader_init(&r, 1024);
	for (size_t i = 0; i < len; i++) {
		struct frame f;
		size_t used;
		int rc = frame_reader_feed(&r, stream + i, 1, &used, &f, &err);

		CHECK(rc >= 0);
		CHECK_EQ(used, 1);
		if (rc == 1) {
			got++;
			CHECK_EQ(f.hdr.type, got);
			CHECK_EQ(f.hdr.id, 9 + got);
			CHECK_STREQ(f.body, got == 1 ? "{\"a\":1}\n" : "{\"b\":2}");
			CHECK_EQ(f.len, strlen(f.body));
			free(f.body);
		}
	}
	CHECK_EQ(got, 2);
	frame_reader_reset(&r);
}

TEST(reader_splits_several_messages_in_one_read)
{
	uint8_t stream[512];
	size_t len = 0, off = 0;
	struct frame_reader r;
	struct error err;
	int got = 0;

	for (int i = 0; i < 5; i++)
		len += put_msg(stream + len, 0x10100901, (uint64_t)i, "{\"ContainerId\":\"x\"}\n");
	frame_reader_init(&r, 1024);
	while (off < len) {
		struct frame f;
		size_t used;
		int rc = frame_reader_feed(&r, stream + off, len - off, &used, &f, &err);

		CHECK(rc >= 0);
		off += used;
		if (rc == 1) {
			CHECK_EQ(f.hdr.id, got);
			got++;
			free(f.body);
		}
	}
	CHECK_EQ(got, 5);
}

TEST(reader_accepts_an_empty_body)
{
	uint8_t buf[16];
	struct frame_reader r;
	struct frame f;
	struct error err;
	size_t used;

	put_msg(buf, 3, 4, "");
	frame_reader_init(&r, 1024);
	CHECK_EQ(frame_reader_feed(&r, buf, 16, &used, &f, &err), 1);
	CHECK_EQ(f.len, 0);
	CHECK_STREQ(f.body, "");
	free(f.body);
}

static int feed_header(uint32_t size, uint32_t max, struct error *err)
{
	struct frame_header h = {.type = 1, .size = size, .id = 1};
	struct frame_reader r;
	struct frame f;
	uint8_t buf[16];
	size_t used;
	int rc;

	frame_header_encode(&h, buf);
	frame_reader_init(&r, max);
	rc = frame_reader_feed(&r, buf, 16, &used, &f, err);
	frame_reader_reset(&r);
	return rc;
}

TEST(reader_rejects_size_below_16)
{
	struct error err;

	CHECK_EQ(feed_header(0, 1024, &err), -EPROTO);
	CHECK(strstr(err.msg, "Size 0") != NULL);
	CHECK_EQ(feed_header(15, 1024, &err), -EPROTO);
}

TEST(reader_rejects_size_above_the_limit)
{
	struct error err;

	CHECK_EQ(feed_header(1025, 1024, &err), -EPROTO);
	CHECK_EQ(feed_header(UINT32_MAX, WIRE_MAX_HOST_MESSAGE, &err), -EPROTO);
	CHECK_EQ(feed_header(1024, 1024, &err), 0); /* at the limit: waits for the body */
}

TEST(reader_reset_drops_a_partial_message)
{
	uint8_t stream[64];
	size_t len = put_msg(stream, 5, 6, "{\"x\":true}");
	struct frame_reader r;
	struct frame f;
	struct error err;
	size_t used;

	frame_reader_init(&r, 1024);
	CHECK_EQ(frame_reader_feed(&r, stream, len - 3, &used, &f, &err), 0);
	frame_reader_reset(&r);
	CHECK_EQ(frame_reader_feed(&r, stream, len, &used, &f, &err), 1);
	CHECK_EQ(f.hdr.id, 6);
	free(f.body);
}

/* A header that declares 8 MiB holds memory for what has arrived, not for
 * the declared size; the whole body still arrives intact. */
TEST(reader_grows_the_body_with_what_arrives)
{
	const size_t size = 8u << 20;
	struct frame_header h = {.type = 0x10100101, .size = (uint32_t)size, .id = 7};
	uint8_t hdr[WIRE_HEADER_SIZE], *chunk = malloc(1 << 20);
	struct frame_reader r;
	struct frame f = {0};
	struct error err;
	size_t used, sent = 0;
	int rc = 0;

	CHECK(chunk != NULL);
	frame_reader_init(&r, size);
	frame_header_encode(&h, hdr);
	CHECK_EQ(frame_reader_feed(&r, hdr, sizeof(hdr), &used, &f, &err), 0);
	CHECK(r.body_cap <= 64 * 1024);
	CHECK_EQ(frame_reader_feed(&r, (const uint8_t *)"{}", 2, &used, &f, &err), 0);
	CHECK(r.body_cap <= 64 * 1024);
	sent = 2;
	for (size_t i = 0; sent < size - WIRE_HEADER_SIZE; i++) {
		size_t n = size - WIRE_HEADER_SIZE - sent < (1 << 20)
				   ? size - WIRE_HEADER_SIZE - sent
				   : (1 << 20);

		memset(chunk, 'a' + (int)(i % 26), n);
		rc = frame_reader_feed(&r, chunk, n, &used, &f, &err);
		CHECK(rc >= 0 && used == n);
		CHECK(r.body_cap <= size);
		sent += n;
	}
	CHECK_EQ(rc, 1);
	CHECK_EQ(f.len, size - WIRE_HEADER_SIZE);
	CHECK(memcmp(f.body, "{}aaaa", 6) == 0 && f.body[f.len - 1] != '\0' &&
	      f.body[f.len] == '\0');
	free(f.body);
	free(chunk);
	frame_reader_reset(&r);
}
