/* The stdio relay engine: moves bytes one way, from a source fd to a
 * destination fd, as non-blocking watchers on the event loop (gcs/core/loop.h).
 * It serves every stdio stream of the gcs (spec §6.3):
 *
 *   host stdin connection  -> pipe write end / pty master   (process input)
 *   pipe read end / pty master -> host stdout/stderr connection (output)
 *
 * Sources: a pipe read end, a stream socket, a pty master (EIO once every
 * slave fd is closed counts as end of file), any readable fd. Destinations: a
 * pipe write end, a stream socket, a pty master, or none (RELAY_DISCARD: the
 * bytes are read and dropped, e.g. a console nobody listens to).
 *
 * Behaviour:
 *   - splice(2) when either end is a pipe (the bytes never enter user
 *     space); otherwise read/write through one RELAY_BUF_SIZE buffer.
 *   - Backpressure: while the destination cannot take more, the source is
 *     not read, so a fast writer and a slow reader cost at most the pipe or
 *     socket buffers plus that one buffer.
 *   - End of the source: a socket destination is half-closed
 *     (shutdown(SHUT_WR): the host reads EOF), anything else is closed (a
 *     pipe reader sees EOF). Then done(r, 0, data) runs.
 *   - Failure (the peer closed the destination: EPIPE/ECONNRESET, a read
 *     error, ...): both fds are closed at once, so whoever writes into the
 *     source gets EPIPE (as with a closed socket), then done(r, -errno, data)
 *     runs. A destination that reports EPOLLERR/EPOLLHUP (host closed the
 *     connection, child closed its stdin) ends the relay without waiting for
 *     the next byte.
 *   - After a half-close the relay lives on by itself: it reads and drops
 *     what the peer still sends until the peer closes (as the reference
 *     waits for the host's close), for at most RELAY_LINGER_MS, then closes
 *     the socket. The caller must not use r after done().
 *
 * Never raises SIGPIPE (writes use MSG_NOSIGNAL where they can; the gcs
 * ignores SIGPIPE anyway for splice). Loop thread only.
 *
 * Typical use (a pipe-backed process; the containers' runc pipes and pty
 * master work the same way):
 *
 *     relay_start(l, stdin_conn, pipe_in[1], 0, in_done, p, &p->in, err);
 *     relay_start(l, pipe_out[0], stdout_conn, 0, out_done, p, &p->out, err);
 *     // pty: relay_start(l, conn, dup(master), ...) and
 *     //      relay_start(l, master, stdout_conn or RELAY_DISCARD, ...)
 *     ...
 *     relay_cancel(p->in);   // process exited: stop feeding its stdin
 */
#ifndef GCS_PROCESS_RELAY_H
#define GCS_PROCESS_RELAY_H

#include <stdint.h>

#include <json-c/printbuf.h>

#include "error.h"

struct loop;
struct relay;

#define RELAY_BUF_SIZE (64 * 1024)
/* The most one splice(2) call moves. */
#define RELAY_SPLICE_MAX (1024 * 1024)
/* The capacity a relay gives the pipes it is handed (when allowed): 4x the
 * default cuts the wake-ups per megabyte enough for splice to beat a plain
 * copy (make bench-process), while a stalled stream still pins at most this
 * much kernel memory. */
#define RELAY_PIPE_SIZE (256 * 1024)
/* How long a half-closed socket waits for the peer's close. */
#define RELAY_LINGER_MS (30 * 1000)
/* dst value: read the source and drop the bytes. */
#define RELAY_DISCARD (-1)

/* rc: 0 at end of file (destination half-closed or closed), else a negative
 * errno. Runs once, on the loop thread; r is not the caller's afterwards. */
typedef void (*relay_done_fn)(struct relay *r, int rc, void *data);

/* Starts relaying src to dst. Takes ownership of both fds in every case (on
 * failure they are closed): pass a dup() of an fd used elsewhere (a pty
 * master serves both directions). Both fds are switched to O_NONBLOCK: pass
 * ends of pipes or sockets that nobody else holds through the same open file
 * (the child's ends of its pipes are separate files and are not affected). */
int relay_start(struct loop *l, int src, int dst, relay_done_fn done, void *data,
		struct relay **out, struct error *err);

/* Stops a relay that has not completed: closes both fds, done() is not
 * called. NULL is ignored. */
void relay_cancel(struct relay *r);

/* Bytes moved so far. */
uint64_t relay_bytes(const struct relay *r);

/* Relays alive in this process (running and lingering), for DumpStacks and
 * leak checks. */
unsigned relay_count(void);
void relay_describe(struct printbuf *pb);

#endif
