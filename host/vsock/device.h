/* The virtio-vsock device: packets from the guest's tx queue drive the
 * connection state machine; packets owed to the guest (replies, data read
 * from unix sockets, credit updates) go out on the rx queue as the guest
 * provides buffers. Flow control is virtio-vsock's credit scheme in both
 * directions: the guest may have at most buf_size unforwarded bytes per
 * connection with us, and we send it no more than its buf_alloc allows. */
#ifndef VSOCK_DEVICE_H
#define VSOCK_DEVICE_H

#include <stdint.h>

#include "conn.h"
#include "vhost_user.h"

struct vsock_cfg {
	uint64_t guest_cid;
	uint32_t buf_size; /* buf_alloc granted to the guest per connection */
};

/* Serves the device behind vu (rings VSOCK_VQ_RX and VSOCK_VQ_TX). */
void vsock_dev_init(struct vu_dev *vu, const struct vsock_cfg *cfg);
/* Closes every connection (the backend is exiting). */
void vsock_dev_fini(void);

/* After each batch of events: send what is owed, free dead connections. */
void vsock_dev_after_events(void);

/* Events from the unix side. */
void vsock_hybrid_connect(struct conn *c, uint32_t port);
void vsock_dial_done(struct conn *c, int err);
/* Something changed on c: recompute what to watch and what to send. */
void vsock_conn_update(struct conn *c);
/* The unix side failed: reset the guest side (or just drop c if the guest
 * never heard of it). */
void vsock_conn_abort(struct conn *c);

/* The ops the vhost-user layer calls. */
extern const struct vu_ops vsock_vu_ops;

#endif
