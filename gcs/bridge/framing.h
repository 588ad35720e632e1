/* Bridge framing (bridge-protocol.md §2.1): a 16-byte little-endian header
 * {u32 Type, u32 Size (header included), u64 ID} followed by a JSON body.
 *
 * frame_reader turns an arbitrary split of the byte stream (one byte at a
 * time, or several messages in one read) into whole messages. It is pure:
 * no I/O, no logging, so it can be tested and fuzzed on its own. */
#ifndef GCS_BRIDGE_FRAMING_H
#define GCS_BRIDGE_FRAMING_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "bridge/wire.h"

struct frame_header {
	uint32_t type;
	uint32_t size; /* total, header included */
	uint64_t id;
};

void frame_header_encode(const struct frame_header *h, uint8_t out[WIRE_HEADER_SIZE]);
void frame_header_decode(const uint8_t in[WIRE_HEADER_SIZE], struct frame_header *h);

/* One received message. body is malloc'ed, NUL-terminated (not counted in
 * len) and owned by the caller (free()). */
struct frame {
	struct frame_header hdr;
	char *body;
	size_t len;
};

struct frame_reader {
	uint32_t max_size; /* largest accepted Size */
	uint8_t hdr[WIRE_HEADER_SIZE];
	size_t hdr_len;
	struct frame_header cur;
	char *body;
	size_t body_len;
	size_t body_cap; /* grows with what arrives, up to the declared Size */
};

void frame_reader_init(struct frame_reader *r, uint32_t max_size);
/* Drops a partial message (on disconnect). */
void frame_reader_reset(struct frame_reader *r);

/* Consumes bytes from data[0..len). Sets *consumed. Returns 1 when *out holds
 * a complete message (call again with the rest), 0 when every byte was
 * consumed without completing one, or a negative errno with err set:
 * -EPROTO for a Size below 16 or above max_size (the stream cannot be
 * resynchronised: drop the connection), -ENOMEM. */
int frame_reader_feed(struct frame_reader *r, const uint8_t *data, size_t len, size_t *consumed,
		      struct frame *out, struct error *err);

/* Header + body in one malloc'ed buffer (written with a single write so the
 * pair is atomic), or NULL. Size must fit in 32 bits: checked by callers. */
uint8_t *frame_encode(uint32_t type, uint64_t id, const void *body, size_t len);

#endif
