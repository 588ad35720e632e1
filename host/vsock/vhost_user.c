#include "vhost_user.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "log.h"
#include "unix_listen.h"

/* Message framing and constants from QEMU's docs/interop/vhost-user.rst. */
#define VU_VERSION 0x1u
#define VU_VERSION_MASK 0x3u
#define VU_FLAG_REPLY (1u << 2)
#define VU_FLAG_NEED_REPLY (1u << 3)
#define VU_F_PROTOCOL_FEATURES 30
#define VU_PROTOCOL_F_REPLY_ACK 3
#define VU_PROTOCOL_F_CONFIG 9
#define VU_VRING_INDEX_MASK 0xffu
#define VU_VRING_NOFD (1u << 8)
#define VU_MAX_FDS 8
#define VU_MAX_PAYLOAD 4096
/* A message is sent whole; a peer that stalls inside one is broken. */
#define VU_IO_TIMEOUT_S 10

enum vu_request {
	VU_GET_FEATURES = 1,
	VU_SET_FEATURES = 2,
	VU_SET_OWNER = 3,
	VU_RESET_OWNER = 4,
	VU_SET_MEM_TABLE = 5,
	VU_SET_LOG_BASE = 6,
	VU_SET_LOG_FD = 7,
	VU_SET_VRING_NUM = 8,
	VU_SET_VRING_ADDR = 9,
	VU_SET_VRING_BASE = 10,
	VU_GET_VRING_BASE = 11,
	VU_SET_VRING_KICK = 12,
	VU_SET_VRING_CALL = 13,
	VU_SET_VRING_ERR = 14,
	VU_GET_PROTOCOL_FEATURES = 15,
	VU_SET_PROTOCOL_FEATURES = 16,
	VU_GET_QUEUE_NUM = 17,
	VU_SET_VRING_ENABLE = 18,
	VU_SEND_RARP = 19,
	VU_NET_SET_MTU = 20,
	VU_SET_BACKEND_REQ_FD = 21,
	VU_IOTLB_MSG = 22,
	VU_SET_VRING_ENDIAN = 23,
	VU_GET_CONFIG = 24,
	VU_SET_CONFIG = 25,
	VU_CREATE_CRYPTO_SESSION = 26,
	VU_CLOSE_CRYPTO_SESSION = 27,
	VU_POSTCOPY_ADVISE = 28,
	VU_POSTCOPY_LISTEN = 29,
	VU_POSTCOPY_END = 30,
	VU_GET_INFLIGHT_FD = 31,
	VU_SET_INFLIGHT_FD = 32,
	VU_GPU_SET_SOCKET = 33,
	VU_RESET_DEVICE = 34,
	VU_VRING_KICK = 35,
	VU_GET_MAX_MEM_SLOTS = 36,
	VU_ADD_MEM_REG = 37,
	VU_REM_MEM_REG = 38,
	VU_SET_STATUS = 39,
	VU_GET_STATUS = 40,
	VU_REQUEST_MAX,
};

static const char *const request_names[VU_REQUEST_MAX] = {
	[VU_GET_FEATURES] = "GET_FEATURES",
	[VU_SET_FEATURES] = "SET_FEATURES",
	[VU_SET_OWNER] = "SET_OWNER",
	[VU_RESET_OWNER] = "RESET_OWNER",
	[VU_SET_MEM_TABLE] = "SET_MEM_TABLE",
	[VU_SET_LOG_BASE] = "SET_LOG_BASE",
	[VU_SET_LOG_FD] = "SET_LOG_FD",
	[VU_SET_VRING_NUM] = "SET_VRING_NUM",
	[VU_SET_VRING_ADDR] = "SET_VRING_ADDR",
	[VU_SET_VRING_BASE] = "SET_VRING_BASE",
	[VU_GET_VRING_BASE] = "GET_VRING_BASE",
	[VU_SET_VRING_KICK] = "SET_VRING_KICK",
	[VU_SET_VRING_CALL] = "SET_VRING_CALL",
	[VU_SET_VRING_ERR] = "SET_VRING_ERR",
	[VU_GET_PROTOCOL_FEATURES] = "GET_PROTOCOL_FEATURES",
	[VU_SET_PROTOCOL_FEATURES] = "SET_PROTOCOL_FEATURES",
	[VU_GET_QUEUE_NUM] = "GET_QUEUE_NUM",
	[VU_SET_VRING_ENABLE] = "SET_VRING_ENABLE",
	[VU_SEND_RARP] = "SEND_RARP",
	[VU_NET_SET_MTU] = "NET_SET_MTU",
	[VU_SET_BACKEND_REQ_FD] = "SET_BACKEND_REQ_FD",
	[VU_IOTLB_MSG] = "IOTLB_MSG",
	[VU_SET_VRING_ENDIAN] = "SET_VRING_ENDIAN",
	[VU_GET_CONFIG] = "GET_CONFIG",
	[VU_SET_CONFIG] = "SET_CONFIG",
	[VU_CREATE_CRYPTO_SESSION] = "CREATE_CRYPTO_SESSION",
	[VU_CLOSE_CRYPTO_SESSION] = "CLOSE_CRYPTO_SESSION",
	[VU_POSTCOPY_ADVISE] = "POSTCOPY_ADVISE",
	[VU_POSTCOPY_LISTEN] = "POSTCOPY_LISTEN",
	[VU_POSTCOPY_END] = "POSTCOPY_END",
	[VU_GET_INFLIGHT_FD] = "GET_INFLIGHT_FD",
	[VU_SET_INFLIGHT_FD] = "SET_INFLIGHT_FD",
	[VU_GPU_SET_SOCKET] = "GPU_SET_SOCKET",
	[VU_RESET_DEVICE] = "RESET_DEVICE",
	[VU_VRING_KICK] = "VRING_KICK",
	[VU_GET_MAX_MEM_SLOTS] = "GET_MAX_MEM_SLOTS",
	[VU_ADD_MEM_REG] = "ADD_MEM_REG",
	[VU_REM_MEM_REG] = "REM_MEM_REG",
	[VU_SET_STATUS] = "SET_STATUS",
	[VU_GET_STATUS] = "GET_STATUS",
};

struct vu_hdr {
	uint32_t request;
	uint32_t flags;
	uint32_t size;
};

struct vu_vring_state {
	uint32_t index;
	uint32_t num;
};

struct vu_vring_addr {
	uint32_t index;
	uint32_t flags;
	uint64_t desc;
	uint64_t used;
	uint64_t avail;
	uint64_t log;
};

struct vu_mem_table {
	uint32_t nregions;
	uint32_t padding;
	struct guest_mem_desc regions[GUEST_MEM_MAX_REGIONS];
};

struct vu_config {
	uint32_t offset;
	uint32_t size;
	uint32_t flags;
	uint8_t data[256];
};

struct vu_msg {
	struct vu_hdr hdr;
	union {
		uint64_t u64;
		struct vu_vring_state state;
		struct vu_vring_addr addr;
		struct vu_mem_table mem;
		struct vu_config config;
		uint8_t raw[VU_MAX_PAYLOAD];
	};
	int fds[VU_MAX_FDS];
	unsigned nfds;
};

#define container_of(ptr, type, member) ((type *)((char *)(ptr)-offsetof(type, member)))

static const char *request_name(uint32_t req)
{
	if (req < VU_REQUEST_MAX && request_names[req])
		return request_names[req];
	return "unknown";
}

static void close_msg_fds(struct vu_msg *m)
{
	for (unsigned i = 0; i < m->nfds; i++)
		if (m->fds[i] >= 0)
			close(m->fds[i]);
	m->nfds = 0;
}

/* Takes the message's only fd, or -1. */
static int take_fd(struct vu_msg *m)
{
	int fd;

	if (m->nfds != 1)
		return -1;
	fd = m->fds[0];
	m->fds[0] = -1;
	return fd;
}

static int collect_fds(struct msghdr *mh, struct vu_msg *m)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		size_t n;

		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < n; i++) {
			int fd;

			memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
			if (m->nfds < VU_MAX_FDS)
				m->fds[m->nfds++] = fd;
			else
				close(fd);
		}
	}
	return (mh->msg_flags & MSG_CTRUNC) ? -EPROTO : 0;
}

/* Reads one message. Returns 0, -ECONNRESET at end of stream, or another
 * negative errno for a broken peer. */
static int vu_recv(struct vu_dev *vu, struct vu_msg *m)
{
	char cbuf[CMSG_SPACE(VU_MAX_FDS * sizeof(int))];
	struct iovec iov = {.iov_base = &m->hdr, .iov_len = sizeof(m->hdr)};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = cbuf,
		.msg_controllen = sizeof(cbuf),
	};
	ssize_t n;

	m->nfds = 0;
	n = recvmsg(vu->fd, &mh, MSG_CMSG_CLOEXEC | MSG_WAITALL);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return -errno;
	if (collect_fds(&mh, m) < 0 || n != sizeof(m->hdr))
		return -EPROTO;
	if ((m->hdr.flags & VU_VERSION_MASK) != VU_VERSION || m->hdr.size > VU_MAX_PAYLOAD)
		return -EPROTO;
	if (m->hdr.size == 0)
		return 0;
	n = recv(vu->fd, m->raw, m->hdr.size, MSG_WAITALL);
	if (n == 0)
		return -ECONNRESET;
	if (n < 0)
		return -errno;
	return n == (ssize_t)m->hdr.size ? 0 : -EPROTO;
}

static int vu_send(struct vu_dev *vu, uint32_t request, const void *payload, uint32_t size)
{
	struct vu_hdr hdr = {.request = request, .flags = VU_VERSION | VU_FLAG_REPLY, .size = size};
	struct iovec iov[2] = {
		{.iov_base = &hdr, .iov_len = sizeof(hdr)},
		{.iov_base = (void *)payload, .iov_len = size},
	};
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = 2};
	ssize_t n = sendmsg(vu->fd, &mh, MSG_NOSIGNAL);

	if (n < 0)
		return -errno;
	return n == (ssize_t)(sizeof(hdr) + size) ? 0 : -EPROTO;
}

static struct virtq *msg_vq(struct vu_dev *vu, uint32_t index)
{
	index &= VU_VRING_INDEX_MASK;
	if (index >= vu->nvqs) {
		log_msgf(LOG_WARN, "vhost-user: no such virtqueue", "\"index\":%u", index);
		return NULL;
	}
	return &vu->vq[index];
}

static bool protocol_features_on(const struct vu_dev *vu)
{
	return vu->acked_features & (1ull << VU_F_PROTOCOL_FEATURES);
}

static void rings_changed(struct vu_dev *vu)
{
	if (vu->ops->rings_changed)
		vu->ops->rings_changed(vu);
}

static void on_kick(struct loop_src *src, uint32_t events)
{
	struct virtq *vq = container_of(src, struct virtq, kick_src);
	struct vu_dev *vu = container_of(vq - vq->index, struct vu_dev, vq);
	uint64_t count;

	if (read(src->fd, &count, sizeof(count)) < 0 && errno != EAGAIN) {
		log_msgf(LOG_ERROR, "vhost-user: cannot read kick eventfd",
			 "\"queue\":%u,\"errno\":%d", vq->index, errno);
		loop_del(src);
		return;
	}
	vu->ops->kick(vu, vq->index);
}

/* Stops one ring (GET_VRING_BASE, reset): no more kicks, no more chains. */
static void stop_ring(struct virtq *vq)
{
	loop_del(&vq->kick_src);
	if (vq->kick_fd >= 0)
		close(vq->kick_fd);
	vq->kick_fd = -1;
	vq->started = false;
}

static void reset_rings(struct vu_dev *vu)
{
	for (unsigned i = 0; i < vu->nvqs; i++) {
		stop_ring(&vu->vq[i]);
		virtq_reset(&vu->vq[i]);
	}
}

static int set_mem_table(struct vu_dev *vu, struct vu_msg *m)
{
	const struct vu_mem_table *t = &m->mem;
	int r;

	if (m->hdr.size < 8 || t->nregions > GUEST_MEM_MAX_REGIONS || t->nregions != m->nfds ||
	    m->hdr.size < 8 + t->nregions * sizeof(struct guest_mem_desc))
		return -EINVAL;
	guest_mem_unmap(&vu->mem);
	r = guest_mem_map(&vu->mem, t->regions, m->fds, t->nregions);
	/* The mappings keep the memory; the fds are not needed any more. */
	close_msg_fds(m);
	if (r < 0) {
		log_msgf(LOG_ERROR, "vhost-user: cannot map guest memory", "\"errno\":%d", -r);
		return r;
	}
	for (unsigned i = 0; i < t->nregions; i++)
		log_debugf("vhost-user: memory region",
			   "\"gpa\":\"0x%llx\",\"size\":%llu,\"uva\":\"0x%llx\",\"offset\":%llu",
			   (unsigned long long)t->regions[i].gpa,
			   (unsigned long long)t->regions[i].size,
			   (unsigned long long)t->regions[i].uva,
			   (unsigned long long)t->regions[i].mmap_offset);
	for (unsigned i = 0; i < vu->nvqs; i++)
		if (virtq_map(&vu->vq[i], &vu->mem) < 0)
			log_msgf(LOG_ERROR, "vhost-user: ring outside the new memory table",
				 "\"queue\":%u", i);
	return 0;
}

static int set_vring_num(struct vu_dev *vu, struct vu_msg *m)
{
	struct virtq *vq = msg_vq(vu, m->state.index);

	if (!vq || m->state.num == 0 || m->state.num > VQ_MAX_SIZE)
		return -EINVAL;
	vq->num = m->state.num;
	return virtq_map(vq, &vu->mem) < 0 && vu->mem.n ? -EFAULT : 0;
}

static int set_vring_addr(struct vu_dev *vu, struct vu_msg *m)
{
	struct virtq *vq = msg_vq(vu, m->addr.index);

	if (!vq)
		return -EINVAL;
	vq->desc_uva = m->addr.desc;
	vq->used_uva = m->addr.used;
	vq->avail_uva = m->addr.avail;
	vq->addr_set = true;
	if (virtq_map(vq, &vu->mem) < 0) {
		log_msgf(LOG_ERROR, "vhost-user: ring addresses outside guest memory",
			 "\"queue\":%u", vq->index);
		return -EFAULT;
	}
	return 0;
}

static int set_vring_base(struct vu_dev *vu, struct vu_msg *m)
{
	struct virtq *vq = msg_vq(vu, m->state.index);

	if (!vq)
		return -EINVAL;
	/* Chains are used in order and at once, so both indexes agree. */
	vq->last_avail = vq->used_idx = (uint16_t)m->state.num;
	vq->broken = false;
	return 0;
}

static int get_vring_base(struct vu_dev *vu, struct vu_msg *m)
{
	struct virtq *vq = msg_vq(vu, m->state.index);

	if (!vq)
		return -EINVAL;
	stop_ring(vq);
	m->state.num = vq->last_avail;
	rings_changed(vu);
	return sizeof(m->state);
}

static int set_vring_kick(struct vu_dev *vu, struct vu_msg *m)
{
	struct virtq *vq = msg_vq(vu, (uint32_t)m->u64);
	int fd = take_fd(m), r;

	if (!vq) {
		if (fd >= 0)
			close(fd);
		return -EINVAL;
	}
	stop_ring(vq);
	if ((m->u64 & VU_VRING_NOFD) || fd < 0) {
		log_msgf(LOG_ERROR, "vhost-user: polling rings without a kick fd are not supported",
			 "\"queue\":%u", vq->index);
		if (fd >= 0)
			close(fd);
		return -ENOTSUP;
	}
	vq->kick_fd = fd;
	r = loop_add(&vq->kick_src, fd, EPOLLIN, on_kick);
	if (r < 0)
		return r;
	/* The ring starts with its kick fd; without VHOST_USER_F_PROTOCOL_FEATURES
	 * it is enabled at once, with it SET_VRING_ENABLE decides. */
	vq->started = true;
	if (!protocol_features_on(vu))
		vq->enabled = true;
	rings_changed(vu);
	/* Buffers made available before the fd was handed over got no kick. */
	vu->ops->kick(vu, vq->index);
	return 0;
}

static int replace_fd(int *slot, struct vu_msg *m)
{
	int fd = take_fd(m);

	if (*slot >= 0)
		close(*slot);
	*slot = (m->u64 & VU_VRING_NOFD) ? -1 : fd;
	if ((m->u64 & VU_VRING_NOFD) && fd >= 0)
		close(fd);
	return 0;
}

static int set_vring_call(struct vu_dev *vu, struct vu_msg *m)
{
	struct virtq *vq = msg_vq(vu, (uint32_t)m->u64);

	return vq ? replace_fd(&vq->call_fd, m) : -EINVAL;
}

static int set_vring_err(struct vu_dev *vu, struct vu_msg *m)
{
	struct virtq *vq = msg_vq(vu, (uint32_t)m->u64);

	return vq ? replace_fd(&vq->err_fd, m) : -EINVAL;
}

static int set_vring_enable(struct vu_dev *vu, struct vu_msg *m)
{
	struct virtq *vq = msg_vq(vu, m->state.index);

	if (!vq)
		return -EINVAL;
	vq->enabled = m->state.num != 0;
	rings_changed(vu);
	if (vq->enabled)
		vu->ops->kick(vu, vq->index);
	return 0;
}

static int get_config(struct vu_dev *vu, struct vu_msg *m)
{
	struct vu_config *c = &m->config;

	if (m->hdr.size < 12 || c->size > sizeof(c->data) || c->offset > sizeof(vu->config) ||
	    c->size > sizeof(vu->config) - c->offset)
		return -EINVAL;
	memcpy(c->data, vu->config + c->offset, c->size);
	return (int)(12 + c->size);
}

static int set_features(struct vu_dev *vu, struct vu_msg *m)
{
	if (m->u64 & ~vu->features)
		log_msgf(LOG_WARN, "vhost-user: features acked that were not offered",
			 "\"features\":\"0x%llx\"", (unsigned long long)(m->u64 & ~vu->features));
	vu->acked_features = m->u64;
	if (!protocol_features_on(vu))
		for (unsigned i = 0; i < vu->nvqs; i++)
			if (vu->vq[i].started)
				vu->vq[i].enabled = true;
	return 0;
}

static int reset_device(struct vu_dev *vu)
{
	reset_rings(vu);
	rings_changed(vu);
	return 0;
}

/* Returns the size of a reply payload placed in m, 0 when the request has no
 * reply of its own, or a negative errno. */
static int handle(struct vu_dev *vu, struct vu_msg *m)
{
	switch (m->hdr.request) {
	case VU_GET_FEATURES:
		m->u64 = vu->features;
		return sizeof(m->u64);
	case VU_SET_FEATURES:
		return set_features(vu, m);
	case VU_GET_PROTOCOL_FEATURES:
		m->u64 = (1ull << VU_PROTOCOL_F_REPLY_ACK) | (1ull << VU_PROTOCOL_F_CONFIG);
		return sizeof(m->u64);
	case VU_SET_PROTOCOL_FEATURES:
		vu->protocol_features = m->u64;
		return 0;
	case VU_SET_OWNER:
		return 0;
	case VU_RESET_OWNER:
	case VU_RESET_DEVICE:
		return reset_device(vu);
	case VU_GET_QUEUE_NUM:
		m->u64 = vu->nvqs;
		return sizeof(m->u64);
	case VU_SET_MEM_TABLE:
		return set_mem_table(vu, m);
	case VU_SET_VRING_NUM:
		return set_vring_num(vu, m);
	case VU_SET_VRING_ADDR:
		return set_vring_addr(vu, m);
	case VU_SET_VRING_BASE:
		return set_vring_base(vu, m);
	case VU_GET_VRING_BASE:
		return get_vring_base(vu, m);
	case VU_SET_VRING_KICK:
		return set_vring_kick(vu, m);
	case VU_SET_VRING_CALL:
		return set_vring_call(vu, m);
	case VU_SET_VRING_ERR:
		return set_vring_err(vu, m);
	case VU_SET_VRING_ENABLE:
		return set_vring_enable(vu, m);
	case VU_GET_CONFIG:
		return get_config(vu, m);
	default:
		log_msgf(LOG_WARN, "vhost-user: unsupported request",
			 "\"request\":%u,\"name\":\"%s\",\"size\":%u,\"fds\":%u", m->hdr.request,
			 request_name(m->hdr.request), m->hdr.size, m->nfds);
		return -ENOTSUP;
	}
}

static void log_request(const struct vu_msg *m)
{
	if (log_level_min > LOG_DEBUG)
		return;
	if (m->hdr.size >= 8)
		log_debugf("vhost-user request",
			   "\"request\":\"%s\",\"flags\":\"0x%x\",\"size\":%u,\"fds\":%u,"
			   "\"u64\":\"0x%llx\"",
			   request_name(m->hdr.request), m->hdr.flags, m->hdr.size, m->nfds,
			   (unsigned long long)m->u64);
	else
		log_debugf("vhost-user request",
			   "\"request\":\"%s\",\"flags\":\"0x%x\",\"size\":%u,\"fds\":%u",
			   request_name(m->hdr.request), m->hdr.flags, m->hdr.size, m->nfds);
}

static void disconnect(struct vu_dev *vu)
{
	loop_del(&vu->sock_src);
	if (vu->fd >= 0)
		close(vu->fd);
	vu->fd = -1;
	reset_rings(vu);
	guest_mem_unmap(&vu->mem);
	vu->ops->disconnected(vu);
}

static int process_one(struct vu_dev *vu, struct vu_msg *m)
{
	int r = vu_recv(vu, m);

	if (r < 0) {
		close_msg_fds(m);
		return r;
	}
	log_request(m);
	r = handle(vu, m);
	close_msg_fds(m);
	if (r > 0)
		return vu_send(vu, m->hdr.request, m->raw, (uint32_t)r);
	if (r < 0 && m->hdr.request != VU_SET_MEM_TABLE)
		log_msgf(LOG_WARN, "vhost-user: request failed", "\"request\":\"%s\",\"errno\":%d",
			 request_name(m->hdr.request), -r);
	/* REPLY_ACK: 0 is success, anything else failure. */
	if ((m->hdr.flags & VU_FLAG_NEED_REPLY) &&
	    (vu->protocol_features & (1ull << VU_PROTOCOL_F_REPLY_ACK))) {
		uint64_t status = r < 0;

		return vu_send(vu, m->hdr.request, &status, sizeof(status));
	}
	return 0;
}

static void on_message(struct loop_src *src, uint32_t events)
{
	struct vu_dev *vu = container_of(src, struct vu_dev, sock_src);
	static struct vu_msg m;
	int r = process_one(vu, &m);

	if (r == -ECONNRESET) {
		log_msg(LOG_INFO, "vhost-user: QEMU disconnected");
		disconnect(vu);
	} else if (r < 0) {
		log_msgf(LOG_ERROR, "vhost-user: connection failed, dropping it", "\"errno\":%d",
			 -r);
		disconnect(vu);
	}
}

static void on_accept(struct loop_src *src, uint32_t events)
{
	struct vu_dev *vu = container_of(src, struct vu_dev, listen_src);
	struct timeval tv = {.tv_sec = VU_IO_TIMEOUT_S};
	int fd = accept4(vu->listen_fd, NULL, NULL, SOCK_CLOEXEC);

	if (fd < 0)
		return;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (loop_add(&vu->sock_src, fd, EPOLLIN, on_message) < 0) {
		close(fd);
		return;
	}
	vu->fd = fd;
	/* One QEMU per backend: nobody else may connect, so the path goes. */
	loop_del(&vu->listen_src);
	close(vu->listen_fd);
	vu->listen_fd = -1;
	unlink(vu->path);
	log_msg(LOG_INFO, "vhost-user: QEMU connected");
}

int vu_listen(struct vu_dev *vu, const char *path, unsigned nvqs, uint64_t features,
	      const struct vu_ops *ops)
{
	int r;

	if (nvqs > VU_MAX_QUEUES || strlen(path) >= sizeof(vu->path))
		return -EINVAL;
	vu->fd = vu->listen_fd = -1;
	vu->sock_src.fd = vu->listen_src.fd = -1;
	vu->nvqs = nvqs;
	for (unsigned i = 0; i < nvqs; i++)
		virtq_init(&vu->vq[i], i);
	vu->features = features | (1ull << VU_F_PROTOCOL_FEATURES);
	vu->ops = ops;
	strcpy(vu->path, path);
	r = unix_listen(path, 1);
	if (r < 0)
		return r;
	vu->listen_fd = r;
	r = loop_add(&vu->listen_src, vu->listen_fd, EPOLLIN, on_accept);
	if (r < 0) {
		vu_close(vu);
		return r;
	}
	return 0;
}

void vu_close(struct vu_dev *vu)
{
	loop_del(&vu->sock_src);
	loop_del(&vu->listen_src);
	if (vu->fd >= 0)
		close(vu->fd);
	if (vu->listen_fd >= 0) {
		close(vu->listen_fd);
		unlink(vu->path);
	}
	vu->fd = vu->listen_fd = -1;
	reset_rings(vu);
	guest_mem_unmap(&vu->mem);
}
