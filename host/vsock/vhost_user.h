/* The backend side of QEMU's vhost-user protocol (docs/interop/vhost-user.rst)
 * for one device with a fixed number of virtqueues: QEMU connects to our unix
 * socket, negotiates features, shares guest memory and hands over each ring
 * (addresses, kick and call eventfds). The device behind it is told about
 * kicks, about rings starting and stopping, and about QEMU going away. */
#ifndef VSOCK_VHOST_USER_H
#define VSOCK_VHOST_USER_H

#include <stdbool.h>
#include <stdint.h>

#include "guest_mem.h"
#include "loop.h"
#include "virtq.h"

#define VU_MAX_QUEUES 3

struct vu_dev;

struct vu_ops {
	/* The driver made buffers available on queue idx (kick eventfd). */
	void (*kick)(struct vu_dev *vu, unsigned idx);
	/* A ring started or stopped (device start, stop or reset). */
	void (*rings_changed)(struct vu_dev *vu);
	/* QEMU closed the connection. */
	void (*disconnected)(struct vu_dev *vu);
};

struct vu_dev {
	char path[108];
	int listen_fd;
	int fd;
	struct loop_src listen_src, sock_src;
	uint64_t features;	 /* offered (GET_FEATURES) */
	uint64_t acked_features; /* SET_FEATURES */
	uint64_t protocol_features;
	struct guest_mem mem;
	unsigned nvqs;
	struct virtq vq[VU_MAX_QUEUES];
	uint8_t config[256]; /* device configuration space (GET_CONFIG) */
	unsigned config_len;
	const struct vu_ops *ops;
	void *priv;
};

/* Listens on path (bound under a temporary name, then renamed, so the path
 * appears only once it accepts). Returns 0 or a negative errno. */
int vu_listen(struct vu_dev *vu, const char *path, unsigned nvqs, uint64_t features,
	      const struct vu_ops *ops);

/* Closes everything and removes the socket path if it is still there. */
void vu_close(struct vu_dev *vu);

#endif
