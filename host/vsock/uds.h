/* The unix side of the bridge. A guest connection to (CID 2, port P) becomes
 * a connection to the unix socket "<prefix>_P"; a host program reaches a
 * guest listener by connecting to "<prefix>" and writing "CONNECT P\n", and
 * hears "OK <host port>\n" once the guest accepted (the hybrid vsock
 * convention of Firecracker and Cloud Hypervisor). Everything is
 * non-blocking: when a unix peer does not read, data waits in the
 * connection's bounded buffer and the guest runs out of credit. */
#ifndef VSOCK_UDS_H
#define VSOCK_UDS_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

#include "conn.h"

/* Listens on prefix for host-initiated connections. */
int uds_init(const char *prefix);
/* Stops listening and removes the prefix socket. */
void uds_fini(void);

/* Opens c's unix socket and connects it to "<prefix>_<c->local_port>". Returns 0,
 * -EAGAIN when the listener's backlog is full (retried on a timer; the
 * outcome arrives through vsock_dial_done()), or another negative errno. */
int uds_dial(struct conn *c);

/* Reads into iov. Returns bytes read, 0 at end of stream, -EAGAIN, or a
 * negative errno. */
ssize_t uds_read(struct conn *c, const struct iovec *iov, unsigned n);

/* Hands len guest bytes to the unix peer: what the socket does not take now
 * goes to c->buf (capacity cap). Advances c->fwd_cnt by what was sent.
 * Returns 0 or a negative errno (-EPIPE: peer gone, -ENOBUFS: over credit). */
int uds_send(struct conn *c, const struct iovec *iov, unsigned n, size_t len, uint32_t cap);

/* Sends buffered bytes; advances c->fwd_cnt. Returns 0 or a negative errno. */
int uds_flush(struct conn *c);

/* Which events to watch on c's socket (no-op once it is not polled). */
void uds_watch(struct conn *c, bool in, bool out);

/* Writes "OK <local port>\n" to a hybrid client. Returns 0 or -errno. */
int uds_reply_ok(struct conn *c);

/* The guest sends no more: the unix peer reads end of stream. */
void uds_shut_write(struct conn *c);

#endif
