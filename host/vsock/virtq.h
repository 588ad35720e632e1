/* Split virtqueues (virtio 1.x, 2.7) seen from the device side: descriptor
 * chains come from the available ring, are turned into iovecs over the
 * mapped guest memory, and go back through the used ring. Only in-order use
 * is supported (the backend finishes each chain before taking the next),
 * which is all a vsock device needs. */
#ifndef VSOCK_VIRTQ_H
#define VSOCK_VIRTQ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "guest_mem.h"
#include "loop.h"

#define VQ_MAX_SIZE 32768
/* Linux's vsock driver uses two descriptors per buffer; a region boundary can
 * split one, so this is generous. */
#define VQ_MAX_IOV 32

struct vring_desc;
struct vring_avail;
struct vring_used;

struct vq_chain {
	uint16_t head;
	unsigned n_out, n_in;
	size_t out_len, in_len;
	struct iovec out[VQ_MAX_IOV]; /* device-readable */
	struct iovec in[VQ_MAX_IOV];  /* device-writable */
};

struct virtq {
	unsigned index;
	unsigned num; /* ring size, at most VQ_MAX_SIZE */
	/* QEMU virtual addresses from SET_VRING_ADDR */
	uint64_t desc_uva, avail_uva, used_uva;
	bool addr_set;
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint16_t last_avail; /* next available entry to take */
	uint16_t used_idx;
	int kick_fd, call_fd, err_fd;
	bool started; /* has a kick fd, not stopped by GET_VRING_BASE */
	bool enabled; /* SET_VRING_ENABLE */
	bool broken;  /* the driver put something invalid in the ring */
	bool need_call;
	struct loop_src kick_src;
};

void virtq_init(struct virtq *vq, unsigned index);
/* Closes the fds and forgets the rings (not the loop registration). */
void virtq_reset(struct virtq *vq);

/* Translates the ring addresses through mem; returns 0 or -EFAULT. */
int virtq_map(struct virtq *vq, const struct guest_mem *mem);

/* Whether chains may be taken: started, enabled, mapped and not broken. */
bool virtq_ready(const struct virtq *vq);

/* Describes the next available chain without taking it. Returns 1 when c
 * holds a chain, 0 when the ring is empty, -EINVAL when the ring is broken
 * (the queue then stays unusable until it is set up again). */
int virtq_peek(struct virtq *vq, const struct guest_mem *mem, struct vq_chain *c);

/* Returns the chain last peeked to the driver with `written` bytes used. */
void virtq_consume(struct virtq *vq, const struct vq_chain *c, uint32_t written);

/* Signals the call eventfd if chains were used and the driver wants it. */
void virtq_notify(struct virtq *vq);

/* Asks the driver not to kick (while the device is draining the ring anyway)
 * or to kick again. Returns true, after re-enabling, when more chains arrived
 * meanwhile: the caller must look again. */
void virtq_kicks_off(struct virtq *vq);
bool virtq_kicks_on(struct virtq *vq);

/* iovec helpers for chains. */
size_t iov_copy_from(void *dst, const struct iovec *iov, unsigned n, size_t len);
size_t iov_copy_to(const struct iovec *iov, unsigned n, const void *src, size_t len);
/* Fills dst with the part of iov that starts at byte skip, at most len bytes;
 * returns the number of entries. */
unsigned iov_slice(struct iovec *dst, const struct iovec *iov, unsigned n, size_t skip, size_t len);

#endif
