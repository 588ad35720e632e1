#include "ringbuf.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

int ringbuf_put(struct ringbuf *b, uint32_t cap, const struct iovec *iov, unsigned n, size_t len)
{
	if (!b->data) {
		b->data = malloc(cap);
		if (!b->data)
			return -ENOMEM;
		b->cap = cap;
		b->head = b->len = 0;
	}
	if (len > b->cap - b->len)
		return -ENOBUFS;
	for (unsigned i = 0; i < n && len > 0; i++) {
		const uint8_t *src = iov[i].iov_base;
		size_t left = iov[i].iov_len < len ? iov[i].iov_len : len;

		len -= left;
		while (left > 0) {
			uint32_t tail = (b->head + b->len) % b->cap;
			uint32_t k = b->cap - tail;

			if (k > left)
				k = (uint32_t)left;
			memcpy(b->data + tail, src, k);
			b->len += k;
			src += k;
			left -= k;
		}
	}
	return 0;
}

ssize_t ringbuf_send(struct ringbuf *b, int fd)
{
	struct iovec iov[2];
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 1};
	uint32_t first;
	ssize_t n;

	if (b->len == 0)
		return 0;
	first = b->cap - b->head < b->len ? b->cap - b->head : b->len;
	iov[0].iov_base = b->data + b->head;
	iov[0].iov_len = first;
	if (first < b->len) {
		iov[1].iov_base = b->data;
		iov[1].iov_len = b->len - first;
		mh.msg_iovlen = 2;
	}
	n = sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	b->head = (uint32_t)((b->head + (size_t)n) % b->cap);
	b->len -= (uint32_t)n;
	if (b->len == 0)
		b->head = 0;
	return n;
}

void ringbuf_free(struct ringbuf *b)
{
	free(b->data);
	memset(b, 0, sizeof(*b));
}
