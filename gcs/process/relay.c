/* The loop side of a relay: which fd to watch, how a relay ends, and the
 * lingering half-closed socket. The bytes are moved by relay_io.c. */
#include "process/relay_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"

/* Bytes one callback may move before letting other fds have their turn
 * (the watches are level-triggered: the rest comes on the next round). */
#define RELAY_ROUND_BYTES (4u * 1024 * 1024)
#define RELAY_LINGER_READ 4096

static struct relay relays = {.prev = &relays, .next = &relays};
static unsigned n_relays;

static void on_src(struct loop *l, int fd, uint32_t events, void *data);
static void on_dst(struct loop *l, int fd, uint32_t events, void *data);

static void relay_free(struct relay *r)
{
	loop_watch_remove(r->src_w);
	loop_watch_remove(r->dst_w);
	loop_timer_cancel(r->linger_timer);
	if (r->src >= 0)
		close(r->src);
	if (r->dst >= 0)
		close(r->dst);
	r->prev->next = r->next;
	r->next->prev = r->prev;
	n_relays--;
	free(r->buf);
	free(r);
}

static void finish(struct relay *r, int rc)
{
	relay_done_fn done = r->done;

	r->done = NULL;
	r->finished = true;
	if (done)
		done(r, rc, r->data);
}

static void fail(struct relay *r, int rc)
{
	log_fields(LOG_DEBUG,
		   LOG_FIELDS(LOG_INT("src", r->src), LOG_INT("dst", r->dst),
			      LOG_UINT("bytes", r->bytes)),
		   "relay stopped: %s", strerror(-rc));
	/* Closing the source first: a writer into it gets EPIPE at once. */
	loop_watch_remove(r->src_w);
	r->src_w = NULL;
	close(r->src);
	r->src = -1;
	finish(r, rc);
	relay_free(r);
}

static void linger_expired(struct loop *l, void *data)
{
	struct relay *r = data;

	r->linger_timer = NULL;
	relay_free(r);
}

static void on_linger(struct loop *l, int fd, uint32_t events, void *data)
{
	struct relay *r = data;
	char sink[RELAY_LINGER_READ];
	ssize_t n = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);

	if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EINTR)))
		return;
	relay_free(r); /* the peer closed (or the socket failed) */
}

/* A socket destination is half-closed and kept until the peer closes, so
 * that the host reads every byte and then EOF, as with the reference GCS;
 * anything else is closed now. Either way the relay has done its job. */
static void end_of_source(struct relay *r)
{
	struct error err;

	loop_watch_remove(r->src_w);
	r->src_w = NULL;
	close(r->src);
	r->src = -1;
	if (!r->dst_socket || shutdown(r->dst, SHUT_WR) < 0) {
		finish(r, 0);
		relay_free(r);
		return;
	}
	r->lingering = true;
	finish(r, 0);
	r->linger_timer = loop_timer_add(r->loop, RELAY_LINGER_MS, linger_expired, r);
	if (!r->linger_timer || loop_watch_set_events(r->dst_w, EPOLLIN, &err) < 0)
		relay_free(r);
}

/* Only one side is watched for readiness at a time: the source while
 * waiting for bytes, the destination while it is full. The destination is
 * always watched for errors (EPOLLERR/EPOLLHUP need no events), the source
 * is not watched at all while the destination is full, since a pipe whose
 * writers are gone would report EPOLLHUP without end. */
static int wait_for(struct relay *r, int side, struct error *err)
{
	if (side == RELAY_WAIT_SRC && !r->src_w) {
		r->src_w = loop_watch_add(r->loop, r->src, EPOLLIN, on_src, r, err);
		if (!r->src_w)
			return -errno;
	} else if (side == RELAY_WAIT_DST && r->src_w) {
		loop_watch_remove(r->src_w);
		r->src_w = NULL;
	}
	if (!r->dst_w)
		return 0;
	return loop_watch_set_events(r->dst_w, side == RELAY_WAIT_DST ? EPOLLOUT : 0, err);
}

static void pump(struct relay *r)
{
	uint64_t start = r->bytes;
	struct error err;
	int rc;

	do {
		rc = relay_io_step(r);
	} while (rc == RELAY_MOVED && r->bytes - start < RELAY_ROUND_BYTES);
	/* More next round: bytes still in the buffer need the destination's
	 * readiness, the source may have nothing new to report. */
	if (rc == RELAY_MOVED && r->off < r->len)
		rc = RELAY_WAIT_DST;
	else if (rc == RELAY_MOVED)
		return;
	if (rc == RELAY_EOF) {
		end_of_source(r);
		return;
	}
	if (rc < 0 || wait_for(r, rc, &err) < 0)
		fail(r, rc < 0 ? rc : -EIO);
}

static void on_src(struct loop *l, int fd, uint32_t events, void *data)
{
	pump(data);
}

static void on_dst(struct loop *l, int fd, uint32_t events, void *data)
{
	struct relay *r = data;

	if (r->lingering) {
		on_linger(l, fd, events, data);
		return;
	}
	/* Waiting for bytes and the destination went away (the host closed
	 * the connection, the child closed its stdin): nothing can be
	 * delivered any more, so stop now rather than at the next byte. */
	if (r->src_w && (events & (EPOLLERR | EPOLLHUP)) && !(events & EPOLLOUT)) {
		fail(r, -EPIPE);
		return;
	}
	pump(r);
}

static int set_nonblock(int fd, struct error *err)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return error_errno(err, errno, "relay: set O_NONBLOCK on fd %d", fd);
	return 0;
}

/* A bigger pipe means fewer wake-ups per megabyte (the default is 64 KiB).
 * Best effort: an unprivileged gcs may be refused, and nothing else
 * depends on it. */
static void grow_pipe(int fd)
{
	int size = fcntl(fd, F_GETPIPE_SZ);

	if (size >= 0 && size < RELAY_PIPE_SIZE)
		fcntl(fd, F_SETPIPE_SZ, RELAY_PIPE_SIZE);
}

static int relay_setup(struct relay *r, struct error *err)
{
	int rc;

	grow_pipe(r->src);
	if (r->dst != RELAY_DISCARD)
		grow_pipe(r->dst);
	rc = relay_io_classify(r, err);
	if (rc == 0)
		rc = set_nonblock(r->src, err);
	if (rc == 0 && r->dst != RELAY_DISCARD)
		rc = set_nonblock(r->dst, err);
	if (rc < 0)
		return rc;
	if (r->dst != RELAY_DISCARD) {
		r->dst_w = loop_watch_add(r->loop, r->dst, 0, on_dst, r, err);
		if (!r->dst_w)
			return error_prefix(err, "relay");
	}
	rc = wait_for(r, RELAY_WAIT_SRC, err);
	return rc < 0 ? error_prefix(err, "relay") : 0;
}

int relay_start(struct loop *l, int src, int dst, relay_done_fn done, void *data,
		struct relay **out, struct error *err)
{
	struct relay *r = calloc(1, sizeof(*r));
	int rc;

	if (out)
		*out = NULL;
	if (!r || src < 0 || dst < RELAY_DISCARD) {
		if (src >= 0)
			close(src);
		if (dst >= 0)
			close(dst);
		free(r);
		if (!r)
			return error_set(err, ERR_FAIL, ENOMEM, "relay: out of memory");
		return error_set(err, ERR_INVALID_ARG, EBADF, "relay: bad fds %d -> %d", src, dst);
	}
	*r = (struct relay){.loop = l, .src = src, .dst = dst, .done = done, .data = data};
	r->next = &relays;
	r->prev = relays.prev;
	relays.prev->next = r;
	relays.prev = r;
	n_relays++;
	rc = relay_setup(r, err);
	if (rc < 0) {
		relay_free(r);
		return rc;
	}
	if (out)
		*out = r;
	return 0;
}

void relay_cancel(struct relay *r)
{
	if (!r || r->finished)
		return;
	r->done = NULL;
	relay_free(r);
}

uint64_t relay_bytes(const struct relay *r)
{
	return r->bytes;
}

unsigned relay_count(void)
{
	return n_relays;
}

void relay_describe(struct printbuf *pb)
{
	unsigned lingering = 0;

	for (struct relay *r = relays.next; r != &relays; r = r->next)
		lingering += r->lingering;
	sprintbuf(pb, "relays: %u running, %u waiting for the peer to close\n",
		  n_relays - lingering, lingering);
}
