/* State shared by relay.c (the loop side: watches, ending, lingering) and
 * relay_io.c (moving bytes). */
#ifndef GCS_PROCESS_RELAY_INTERNAL_H
#define GCS_PROCESS_RELAY_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "process/relay.h"

struct loop_watch;
struct loop_timer;

/* What one transfer attempt found. */
enum relay_step {
	RELAY_MOVED,	/* some bytes moved: try again */
	RELAY_WAIT_SRC, /* nothing to read yet */
	RELAY_WAIT_DST, /* the destination is full */
	RELAY_EOF,	/* the source ended and nothing is left to write */
};

struct relay {
	struct loop *loop;
	int src, dst; /* dst is RELAY_DISCARD when the bytes are dropped */
	bool src_tty; /* a pty master: EIO means every slave is closed */
	bool dst_socket;
	bool splice;	/* false: through buf */
	bool finished;	/* done() has run (or is running) */
	bool lingering; /* half-closed, waiting for the peer's close */
	char *buf;	/* RELAY_BUF_SIZE bytes, only without splice */
	size_t len, off;
	uint64_t bytes;
	struct loop_watch *src_w, *dst_w;
	struct loop_timer *linger_timer;
	relay_done_fn done;
	void *data;
	struct relay *prev, *next; /* every live relay, for relay_count() */
};

/* Fills in src_tty, dst_socket and splice from the fds' types. */
int relay_io_classify(struct relay *r, struct error *err);

/* One transfer: returns an enum relay_step or a negative errno. */
int relay_io_step(struct relay *r);

#endif
