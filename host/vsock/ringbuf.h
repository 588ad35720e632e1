/* The bytes a guest sent on a connection that the unix peer has not taken
 * yet. Its capacity is the credit (buf_alloc) the backend grants the guest,
 * so it can never need to grow: a guest that sends more breaks the protocol. */
#ifndef VSOCK_RINGBUF_H
#define VSOCK_RINGBUF_H

#include <stdint.h>
#include <sys/types.h>
#include <sys/uio.h>

struct ringbuf {
	uint8_t *data; /* allocated on first use */
	uint32_t cap, head, len;
};

/* Appends len bytes of iov; returns 0, -ENOBUFS when they do not fit, or
 * -ENOMEM. */
int ringbuf_put(struct ringbuf *b, uint32_t cap, const struct iovec *iov, unsigned n, size_t len);

/* Writes buffered bytes to the socket fd without blocking. Returns the bytes
 * written (0 when the socket is full) or a negative errno. */
ssize_t ringbuf_send(struct ringbuf *b, int fd);

void ringbuf_free(struct ringbuf *b);

#endif
