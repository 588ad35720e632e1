/* The virtio socket device's wire format (virtio 1.x, "Socket Device"):
 * every packet on the rx and tx queues starts with this little-endian
 * header, followed by len bytes of payload for OP_RW. */
#ifndef VSOCK_VIRTIO_VSOCK_H
#define VSOCK_VIRTIO_VSOCK_H

#include <stdint.h>

#define VSOCK_HOST_CID 2u

/* Queue indexes of the device. QEMU's vhost-user-vsock keeps the event queue
 * (transport reset after migration) to itself and hands over rx and tx. */
#define VSOCK_VQ_RX 0 /* device -> driver */
#define VSOCK_VQ_TX 1 /* driver -> device */
#define VSOCK_NUM_VQS 2

#define VSOCK_TYPE_STREAM 1

enum vsock_op {
	VSOCK_OP_INVALID = 0,
	VSOCK_OP_REQUEST = 1,
	VSOCK_OP_RESPONSE = 2,
	VSOCK_OP_RST = 3,
	VSOCK_OP_SHUTDOWN = 4,
	VSOCK_OP_RW = 5,
	VSOCK_OP_CREDIT_UPDATE = 6,
	VSOCK_OP_CREDIT_REQUEST = 7,
};

/* SHUTDOWN flags: the sender will receive / send no more data. */
#define VSOCK_SHUTDOWN_RCV 1u
#define VSOCK_SHUTDOWN_SEND 2u

struct vsock_hdr {
	uint64_t src_cid;
	uint64_t dst_cid;
	uint32_t src_port;
	uint32_t dst_port;
	uint32_t len;
	uint16_t type;
	uint16_t op;
	uint32_t flags;
	uint32_t buf_alloc;
	uint32_t fwd_cnt;
} __attribute__((packed));

_Static_assert(sizeof(struct vsock_hdr) == 44, "struct virtio_vsock_hdr is 44 bytes");

/* Device configuration space: the guest's context id. */
struct vsock_config {
	uint64_t guest_cid;
};

#endif
