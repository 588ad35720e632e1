#include "virtq.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

/* Ring layouts from the virtio 1.x specification (2.7.5, 2.7.6, 2.7.8).
 * Virtio 1.x rings are little-endian, as is every host this runs on. */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "virtio 1.x rings are little-endian");

#define VRING_DESC_F_NEXT 1
#define VRING_DESC_F_WRITE 2
#define VRING_DESC_F_INDIRECT 4
#define VRING_USED_F_NO_NOTIFY 1
#define VRING_AVAIL_F_NO_INTERRUPT 1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];
};

void virtq_init(struct virtq *vq, unsigned index)
{
	memset(vq, 0, sizeof(*vq));
	vq->index = index;
	vq->kick_fd = vq->call_fd = vq->err_fd = -1;
	vq->kick_src.fd = -1;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void virtq_reset(struct virtq *vq)
{
	close_fd(&vq->kick_fd);
	close_fd(&vq->call_fd);
	close_fd(&vq->err_fd);
	vq->num = 0;
	vq->addr_set = false;
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	vq->last_avail = vq->used_idx = 0;
	vq->started = vq->enabled = vq->broken = vq->need_call = false;
}

int virtq_map(struct virtq *vq, const struct guest_mem *mem)
{
	uint64_t n = vq->num;

	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	if (!vq->addr_set || n == 0)
		return 0;
	vq->desc = guest_mem_uva(mem, vq->desc_uva, 16 * n);
	vq->avail = guest_mem_uva(mem, vq->avail_uva, 6 + 2 * n);
	vq->used = guest_mem_uva(mem, vq->used_uva, 6 + 8 * n);
	if (!vq->desc || !vq->avail || !vq->used) {
		vq->desc = NULL;
		vq->avail = NULL;
		vq->used = NULL;
		return -EFAULT;
	}
	return 0;
}

bool virtq_ready(const struct virtq *vq)
{
	return vq->started && vq->enabled && vq->desc && !vq->broken;
}

static int broken(struct virtq *vq, const char *why)
{
	log_msgf(LOG_ERROR, "virtqueue broken by the driver", "\"queue\":%u,\"why\":\"%s\"",
		 vq->index, why);
	vq->broken = true;
	return -EINVAL;
}

/* Appends the guest buffer [addr, addr+len) to iov, split at region
 * boundaries. */
static int add_buffer(const struct guest_mem *mem, struct iovec *iov, unsigned *n, uint64_t addr,
		      uint32_t len)
{
	while (len > 0) {
		uint64_t chunk = len;
		void *p = guest_mem_gpa(mem, addr, &chunk);

		if (!p || *n >= VQ_MAX_IOV)
			return -EINVAL;
		iov[*n].iov_base = p;
		iov[*n].iov_len = chunk;
		(*n)++;
		addr += chunk;
		len -= (uint32_t)chunk;
	}
	return 0;
}

static int walk_chain(struct virtq *vq, const struct guest_mem *mem, struct vq_chain *c)
{
	uint16_t i = c->head;

	for (unsigned count = 0;; count++) {
		struct vring_desc d;

		if (i >= vq->num || count >= vq->num)
			return broken(vq, "descriptor index out of range or chain loops");
		/* One copy: the guest may change the descriptor meanwhile. */
		memcpy(&d, &vq->desc[i], sizeof(d));
		if (d.flags & VRING_DESC_F_INDIRECT)
			return broken(vq, "indirect descriptor (not negotiated)");
		if (d.flags & VRING_DESC_F_WRITE) {
			if (add_buffer(mem, c->in, &c->n_in, d.addr, d.len) < 0)
				return broken(vq, "writable buffer outside guest memory");
			c->in_len += d.len;
		} else {
			if (c->n_in > 0)
				return broken(vq, "readable descriptor after a writable one");
			if (add_buffer(mem, c->out, &c->n_out, d.addr, d.len) < 0)
				return broken(vq, "readable buffer outside guest memory");
			c->out_len += d.len;
		}
		if (!(d.flags & VRING_DESC_F_NEXT))
			return 1;
		i = d.next;
	}
}

int virtq_peek(struct virtq *vq, const struct guest_mem *mem, struct vq_chain *c)
{
	uint16_t avail_idx;

	if (!virtq_ready(vq))
		return vq->broken ? -EINVAL : 0;
	avail_idx = __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE);
	if (avail_idx == vq->last_avail)
		return 0;
	if ((uint16_t)(avail_idx - vq->last_avail) > vq->num)
		return broken(vq, "available index ran ahead of the ring size");
	c->head = vq->avail->ring[vq->last_avail % vq->num];
	c->n_out = c->n_in = 0;
	c->out_len = c->in_len = 0;
	return walk_chain(vq, mem, c);
}

void virtq_consume(struct virtq *vq, const struct vq_chain *c, uint32_t written)
{
	struct vring_used_elem *e = &vq->used->ring[vq->used_idx % vq->num];

	e->id = c->head;
	e->len = written;
	vq->used_idx++;
	vq->last_avail++;
	/* The element must be visible before the index that publishes it. */
	__atomic_store_n(&vq->used->idx, vq->used_idx, __ATOMIC_RELEASE);
	vq->need_call = true;
}

void virtq_notify(struct virtq *vq)
{
	uint64_t one = 1;

	if (!vq->need_call || !vq->used)
		return;
	vq->need_call = false;
	/* Order the used index store before reading the driver's flags. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(&vq->avail->flags, __ATOMIC_RELAXED) & VRING_AVAIL_F_NO_INTERRUPT)
		return;
	if (vq->call_fd >= 0 && write(vq->call_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_msgf(LOG_WARN, "cannot signal the call eventfd", "\"queue\":%u,\"errno\":%d",
			 vq->index, errno);
}

void virtq_kicks_off(struct virtq *vq)
{
	if (vq->used)
		__atomic_store_n(&vq->used->flags, VRING_USED_F_NO_NOTIFY, __ATOMIC_RELAXED);
}

bool virtq_kicks_on(struct virtq *vq)
{
	if (!virtq_ready(vq))
		return false;
	__atomic_store_n(&vq->used->flags, 0, __ATOMIC_RELAXED);
	/* A chain made available before the driver saw the flag gets no kick:
	 * look at the index again after a full barrier. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	return __atomic_load_n(&vq->avail->idx, __ATOMIC_ACQUIRE) != vq->last_avail;
}

size_t iov_copy_from(void *dst, const struct iovec *iov, unsigned n, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t k = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy((uint8_t *)dst + done, iov[i].iov_base, k);
		done += k;
	}
	return done;
}

size_t iov_copy_to(const struct iovec *iov, unsigned n, const void *src, size_t len)
{
	size_t done = 0;

	for (unsigned i = 0; i < n && done < len; i++) {
		size_t k = iov[i].iov_len < len - done ? iov[i].iov_len : len - done;

		memcpy(iov[i].iov_base, (const uint8_t *)src + done, k);
		done += k;
	}
	return done;
}

unsigned iov_slice(struct iovec *dst, const struct iovec *iov, unsigned n, size_t skip, size_t len)
{
	unsigned out = 0;

	for (unsigned i = 0; i < n && len > 0; i++) {
		size_t l = iov[i].iov_len;

		if (skip >= l) {
			skip -= l;
			continue;
		}
		dst[out].iov_base = (uint8_t *)iov[i].iov_base + skip;
		dst[out].iov_len = l - skip < len ? l - skip : len;
		len -= dst[out].iov_len;
		skip = 0;
		out++;
	}
	return out;
}
