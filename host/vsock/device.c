#include "device.h"

#include <errno.h>
#include <string.h>

#include "log.h"
#include "uds.h"
#include "virtio_vsock.h"
#include "virtq.h"

#define HDR_LEN sizeof(struct vsock_hdr)
/* Linux's own cap on one packet's payload (VIRTIO_VSOCK_MAX_PKT_BUF_SIZE). */
#define MAX_PKT_PAYLOAD (64u * 1024)
/* Replies owed for packets that have no connection (refused, stray). */
#define RST_QUEUE_MAX 256

struct rst_entry {
	uint32_t local_port, peer_port;
};

static struct {
	struct vu_dev *vu;
	uint64_t guest_cid;
	uint32_t buf_size;
	bool running;
	struct rst_entry rst[RST_QUEUE_MAX];
	unsigned rst_head, rst_len;
	struct vq_chain chain; /* scratch, one chain is handled at a time */
} dev;

static void queue_rst(uint32_t local_port, uint32_t peer_port)
{
	if (dev.rst_len == RST_QUEUE_MAX) {
		log_msg(LOG_WARN, "too many resets owed to the guest, dropping one");
		return;
	}
	dev.rst[(dev.rst_head + dev.rst_len) % RST_QUEUE_MAX] =
		(struct rst_entry){.local_port = local_port, .peer_port = peer_port};
	dev.rst_len++;
}

static bool may_read(const struct conn *c)
{
	return c->state == CONN_ESTABLISHED && !c->local_eof && !c->peer_no_rcv &&
	       conn_peer_credit(c) > 0;
}

/* ---- connection state ---- */

static void maybe_shut_write(struct conn *c)
{
	if (c->peer_no_send && c->buf.len == 0 && !c->wr_shut)
		uds_shut_write(c);
}

/* Tell the guest about forwarded bytes only when its idea of our free space
 * gets low, as Linux does, not once per packet. The window is the smaller of
 * our buf_alloc and the guest's own: Linux caps its transmit credit at its
 * own buffer size, so beyond that it blocks whatever we granted. */
static void maybe_credit_update(struct conn *c)
{
	uint32_t window = c->peer_buf_alloc && c->peer_buf_alloc < dev.buf_size ? c->peer_buf_alloc
										: dev.buf_size;
	uint32_t threshold = window / 2 < MAX_PKT_PAYLOAD ? window / 2 : MAX_PKT_PAYLOAD;
	uint32_t believed_used = c->rx_cnt - c->fwd_cnt_sent;
	uint32_t believed_free = believed_used >= window ? 0 : window - believed_used;

	if (c->fwd_cnt != c->fwd_cnt_sent && believed_free < threshold)
		c->pend |= PEND_CREDIT_UPDATE;
}

/* Out of credit with data waiting: ask once, in case the guest's own update
 * is not coming. */
static void maybe_credit_request(struct conn *c)
{
	if (conn_peer_credit(c) > 0) {
		c->credit_asked = false;
		return;
	}
	if (c->readable && !c->local_eof && !c->peer_no_rcv && !c->credit_asked) {
		c->pend |= PEND_CREDIT_REQUEST;
		c->credit_asked = true;
	}
}

/* Both directions finished and flushed: reset to release the guest socket
 * (a Linux guest closing waits for that RST). */
static void maybe_finish(struct conn *c)
{
	bool guest_done = c->peer_no_send && c->buf.len == 0;
	bool host_done = c->peer_no_rcv || (c->local_eof && !(c->pend & PEND_SHUTDOWN));

	if (!guest_done || !host_done)
		return;
	log_debugf("connection finished",
		   "\"local_port\":%u,\"peer_port\":%u,\"to_guest\":%u,"
		   "\"from_guest\":%u",
		   c->local_port, c->peer_port, c->tx_cnt, c->rx_cnt);
	conn_close_fd(c);
	c->state = CONN_CLOSING;
	c->pend = PEND_RST;
}

void vsock_conn_update(struct conn *c)
{
	bool readable;

	if (c->dead)
		return;
	if (c->state == CONN_ESTABLISHED) {
		maybe_shut_write(c);
		maybe_credit_update(c);
		maybe_credit_request(c);
		maybe_finish(c);
	}
	readable = may_read(c);
	uds_watch(c, c->state == CONN_HANDSHAKE || (readable && !c->readable),
		  c->state == CONN_ESTABLISHED && c->buf.len > 0);
	conn_queue(c, c->pend != 0 || (readable && c->readable));
}

void vsock_conn_abort(struct conn *c)
{
	if (c->dead)
		return;
	/* Nothing to tell a guest that never saw a REQUEST. */
	if (!c->hashed || (c->state == CONN_CONNECTING && (c->pend & PEND_REQUEST))) {
		conn_kill(c);
		return;
	}
	conn_close_fd(c);
	c->state = CONN_CLOSING;
	c->pend = PEND_RST;
	c->readable = false;
	vsock_conn_update(c);
}

void vsock_hybrid_connect(struct conn *c, uint32_t port)
{
	c->peer_port = port;
	c->local_port = conn_alloc_port(port);
	conn_hash_add(c);
	c->state = CONN_CONNECTING;
	c->pend |= PEND_REQUEST;
	log_debugf("hybrid connect: requesting", "\"port\":%u,\"local_port\":%u", port,
		   c->local_port);
	vsock_conn_update(c);
}

void vsock_dial_done(struct conn *c, int err)
{
	if (err < 0) {
		log_msgf(LOG_INFO, "guest connect refused: no unix listener",
			 "\"port\":%u,\"guest_port\":%u,\"errno\":%d", c->local_port, c->peer_port,
			 -err);
		vsock_conn_abort(c);
		return;
	}
	log_debugf("guest connected", "\"port\":%u,\"guest_port\":%u", c->local_port, c->peer_port);
	c->state = CONN_ESTABLISHED;
	c->pend |= PEND_RESPONSE;
	vsock_conn_update(c);
}

/* ---- packets from the guest (tx queue) ---- */

static void guest_request(const struct vsock_hdr *h)
{
	struct conn *c;
	int r;

	if (conn_count() >= 4096) {
		log_msg(LOG_WARN, "guest connect: too many connections, refusing");
		queue_rst(h->dst_port, h->src_port);
		return;
	}
	c = conn_new(-1);
	if (!c) {
		queue_rst(h->dst_port, h->src_port);
		return;
	}
	c->local_port = h->dst_port;
	c->peer_port = h->src_port;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	c->state = CONN_DIALING;
	conn_hash_add(c);
	r = uds_dial(c);
	if (r != -EAGAIN)
		vsock_dial_done(c, r);
}

static void on_response(struct conn *c)
{
	if (c->state != CONN_CONNECTING || (c->pend & PEND_REQUEST)) {
		log_msgf(LOG_WARN, "unexpected RESPONSE from the guest", "\"port\":%u",
			 c->peer_port);
		vsock_conn_abort(c);
		return;
	}
	c->state = CONN_ESTABLISHED;
	if (uds_reply_ok(c) < 0) {
		vsock_conn_abort(c);
		return;
	}
	log_debugf("hybrid connect: guest accepted", "\"port\":%u,\"local_port\":%u", c->peer_port,
		   c->local_port);
}

static void on_rst(struct conn *c)
{
	if (c->state == CONN_CONNECTING)
		log_msgf(LOG_INFO, "hybrid connect: guest refused (no listener)", "\"port\":%u",
			 c->peer_port);
	/* Closing the unix socket is how its peer learns about it. */
	conn_kill(c);
}

static void on_shutdown(struct conn *c, uint32_t flags)
{
	if (flags & VSOCK_SHUTDOWN_RCV)
		c->peer_no_rcv = true;
	if (flags & VSOCK_SHUTDOWN_SEND)
		c->peer_no_send = true;
}

static void on_rw(struct conn *c, const struct iovec *iov, unsigned n, uint32_t len)
{
	int r;

	if (c->state != CONN_ESTABLISHED || c->peer_no_send) {
		vsock_conn_abort(c);
		return;
	}
	c->rx_cnt += len;
	if (c->rx_cnt - c->fwd_cnt > dev.buf_size) {
		log_msgf(LOG_WARN, "guest sent beyond its credit, resetting",
			 "\"port\":%u,\"guest_port\":%u", c->local_port, c->peer_port);
		vsock_conn_abort(c);
		return;
	}
	r = uds_send(c, iov, n, len, dev.buf_size);
	if (r < 0) {
		log_debugf("unix peer gone, resetting", "\"port\":%u,\"errno\":%d", c->local_port,
			   -r);
		vsock_conn_abort(c);
	}
}

static void on_packet(const struct vsock_hdr *h, const struct iovec *payload, unsigned n)
{
	struct conn *c;

	if (h->type != VSOCK_TYPE_STREAM) {
		if (h->op != VSOCK_OP_RST)
			queue_rst(h->dst_port, h->src_port);
		return;
	}
	c = conn_lookup(h->dst_port, h->src_port);
	if (h->op == VSOCK_OP_REQUEST) {
		if (c) /* a second REQUEST on a live connection: reset it */
			vsock_conn_abort(c);
		else
			guest_request(h);
		return;
	}
	if (!c) {
		if (h->op != VSOCK_OP_RST)
			queue_rst(h->dst_port, h->src_port);
		return;
	}
	if (h->op == VSOCK_OP_RST) {
		on_rst(c);
		return;
	}
	if (c->state == CONN_CLOSING)
		return;
	c->peer_buf_alloc = h->buf_alloc;
	c->peer_fwd_cnt = h->fwd_cnt;
	switch (h->op) {
	case VSOCK_OP_RESPONSE:
		on_response(c);
		break;
	case VSOCK_OP_SHUTDOWN:
		on_shutdown(c, h->flags);
		break;
	case VSOCK_OP_RW:
		on_rw(c, payload, n, h->len);
		break;
	case VSOCK_OP_CREDIT_UPDATE:
		break;
	case VSOCK_OP_CREDIT_REQUEST:
		c->pend |= PEND_CREDIT_UPDATE;
		break;
	default:
		log_msgf(LOG_WARN, "unknown vsock operation from the guest", "\"op\":%u", h->op);
		break;
	}
	vsock_conn_update(c);
}

static void handle_tx_chain(const struct vq_chain *ch)
{
	struct iovec payload[VQ_MAX_IOV];
	struct vsock_hdr h;
	unsigned n;

	if (iov_copy_from(&h, ch->out, ch->n_out, HDR_LEN) < HDR_LEN ||
	    h.len > ch->out_len - HDR_LEN) {
		log_msgf(LOG_WARN, "malformed packet from the guest", "\"bytes\":%zu", ch->out_len);
		return;
	}
	if (h.src_cid != dev.guest_cid || h.dst_cid != VSOCK_HOST_CID) {
		log_msgf(LOG_WARN, "packet with foreign addresses from the guest",
			 "\"src_cid\":%llu,\"dst_cid\":%llu", (unsigned long long)h.src_cid,
			 (unsigned long long)h.dst_cid);
		return;
	}
	n = iov_slice(payload, ch->out, ch->n_out, HDR_LEN, h.len);
	on_packet(&h, payload, n);
}

static void process_tx(void)
{
	struct virtq *vq = &dev.vu->vq[VSOCK_VQ_TX];

	/* Draining anyway: no kick per packet meanwhile. */
	virtq_kicks_off(vq);
	for (;;) {
		int r = virtq_peek(vq, &dev.vu->mem, &dev.chain);

		if (r == 0 && virtq_kicks_on(vq)) {
			virtq_kicks_off(vq);
			continue;
		}
		if (r <= 0)
			break;
		handle_tx_chain(&dev.chain);
		virtq_consume(vq, &dev.chain, 0);
	}
	virtq_notify(vq);
}

/* ---- packets to the guest (rx queue) ---- */

static void fill_hdr(struct vsock_hdr *h, uint32_t local_port, uint32_t peer_port, uint16_t op)
{
	memset(h, 0, sizeof(*h));
	h->src_cid = VSOCK_HOST_CID;
	h->dst_cid = dev.guest_cid;
	h->src_port = local_port;
	h->dst_port = peer_port;
	h->type = VSOCK_TYPE_STREAM;
	h->op = op;
}

static uint32_t put_hdr(struct vq_chain *ch, const struct vsock_hdr *h)
{
	iov_copy_to(ch->in, ch->n_in, h, HDR_LEN);
	return HDR_LEN + h->len;
}

static uint32_t put_conn_pkt(struct conn *c, struct vq_chain *ch, uint16_t op, uint32_t flags,
			     uint32_t len)
{
	struct vsock_hdr h;

	fill_hdr(&h, c->local_port, c->peer_port, op);
	h.flags = flags;
	h.len = len;
	/* Every packet tells the guest our credit. */
	h.buf_alloc = dev.buf_size;
	h.fwd_cnt = c->fwd_cnt;
	c->fwd_cnt_sent = c->fwd_cnt;
	c->pend &= ~PEND_CREDIT_UPDATE;
	return put_hdr(ch, &h);
}

/* Reads from the unix socket straight into the guest's buffer. Returns the
 * packet length, or 0 when nothing was read (EAGAIN, end of stream). */
static uint32_t put_data(struct conn *c, struct vq_chain *ch)
{
	struct iovec iov[VQ_MAX_IOV];
	size_t max = ch->in_len - HDR_LEN;
	uint32_t credit = conn_peer_credit(c);
	unsigned n;
	ssize_t r;

	if (max > credit)
		max = credit;
	if (max > MAX_PKT_PAYLOAD)
		max = MAX_PKT_PAYLOAD;
	n = iov_slice(iov, ch->in, ch->n_in, HDR_LEN, max);
	r = uds_read(c, iov, n);
	if (r > 0) {
		c->tx_cnt += (uint32_t)r;
		return put_conn_pkt(c, ch, VSOCK_OP_RW, 0, (uint32_t)r);
	}
	c->readable = false;
	if (r == 0) {
		c->local_eof = true;
		c->pend |= PEND_SHUTDOWN;
	} else if (r != -EAGAIN) {
		vsock_conn_abort(c);
	}
	return 0;
}

/* The next packet c owes the guest, in protocol order. */
static uint32_t build_conn_pkt(struct conn *c, struct vq_chain *ch)
{
	uint32_t len;

	if (c->pend & PEND_RST) {
		len = put_conn_pkt(c, ch, VSOCK_OP_RST, 0, 0);
		conn_kill(c);
		return len;
	}
	if (c->pend & PEND_RESPONSE) {
		c->pend &= ~PEND_RESPONSE;
		return put_conn_pkt(c, ch, VSOCK_OP_RESPONSE, 0, 0);
	}
	if (c->pend & PEND_REQUEST) {
		c->pend &= ~PEND_REQUEST;
		return put_conn_pkt(c, ch, VSOCK_OP_REQUEST, 0, 0);
	}
	if (may_read(c) && c->readable) {
		len = put_data(c, ch);
		if (len)
			return len;
		if (c->pend & PEND_RST) /* the read failed */
			return build_conn_pkt(c, ch);
	}
	if (c->pend & PEND_CREDIT_UPDATE)
		return put_conn_pkt(c, ch, VSOCK_OP_CREDIT_UPDATE, 0, 0);
	if (c->pend & PEND_CREDIT_REQUEST) {
		c->pend &= ~PEND_CREDIT_REQUEST;
		return put_conn_pkt(c, ch, VSOCK_OP_CREDIT_REQUEST, 0, 0);
	}
	if (c->pend & PEND_SHUTDOWN) {
		c->pend &= ~PEND_SHUTDOWN;
		return put_conn_pkt(c, ch, VSOCK_OP_SHUTDOWN, VSOCK_SHUTDOWN_SEND, 0);
	}
	return 0;
}

static uint32_t build_queued_rst(struct vq_chain *ch)
{
	struct rst_entry *e = &dev.rst[dev.rst_head];
	struct vsock_hdr h;

	fill_hdr(&h, e->local_port, e->peer_port, VSOCK_OP_RST);
	dev.rst_head = (dev.rst_head + 1) % RST_QUEUE_MAX;
	dev.rst_len--;
	return put_hdr(ch, &h);
}

static uint32_t build_next(struct vq_chain *ch)
{
	struct conn *c;
	uint32_t len;

	if (dev.rst_len)
		return build_queued_rst(ch);
	c = list_entry(conn_send_queue.next, struct conn, send);
	len = build_conn_pkt(c, ch);
	if (c->dead)
		return len;
	vsock_conn_update(c);
	/* Nothing to read after all, but the update may have found a packet
	 * owed (credit): one more try, then never spin on c. */
	if (len == 0 && list_linked(&c->send)) {
		len = build_conn_pkt(c, ch);
		if (c->dead)
			return len;
		vsock_conn_update(c);
		if (len == 0 && list_linked(&c->send)) {
			log_msgf(LOG_ERROR, "connection stuck in the send queue", "\"pend\":%u",
				 c->pend);
			conn_queue(c, false);
		}
	}
	conn_requeue_tail(c);
	return len;
}

static void flush_rx(void)
{
	struct virtq *vq = &dev.vu->vq[VSOCK_VQ_RX];

	while (dev.rst_len || !list_empty(&conn_send_queue)) {
		uint32_t len;

		if (virtq_peek(vq, &dev.vu->mem, &dev.chain) <= 0)
			break;
		if (dev.chain.in_len < HDR_LEN || dev.chain.n_out) {
			log_msg(LOG_WARN, "guest rx buffer unusable, skipping it");
			virtq_consume(vq, &dev.chain, 0);
			continue;
		}
		len = build_next(&dev.chain);
		if (len)
			virtq_consume(vq, &dev.chain, len);
	}
	virtq_notify(vq);
}

/* ---- device lifecycle ---- */

static void drop_guest_connections(void)
{
	struct list_node *pos, *tmp;
	unsigned n = 0;

	list_for_each_safe (pos, tmp, &conn_all) {
		struct conn *c = list_entry(pos, struct conn, all);

		/* Hybrid clients still writing their CONNECT line never
		 * reached the guest and may wait for the next one. */
		if (c->state == CONN_HANDSHAKE)
			continue;
		conn_kill(c);
		n++;
	}
	dev.rst_len = 0;
	if (n)
		log_msgf(LOG_INFO, "closed the connections of the stopped device", "\"count\":%u",
			 n);
}

static void on_rings_changed(struct vu_dev *vu)
{
	bool running = vu->vq[VSOCK_VQ_RX].started && vu->vq[VSOCK_VQ_TX].started;

	if (running == dev.running)
		return;
	dev.running = running;
	log_msg(LOG_INFO, running ? "device started" : "device stopped");
	/* Stopped means reset or gone: the guest's sockets are gone too. */
	if (!running)
		drop_guest_connections();
}

static void on_kick(struct vu_dev *vu, unsigned idx)
{
	/* rx: new buffers; flush_rx runs after this batch of events anyway. */
	if (idx == VSOCK_VQ_TX)
		process_tx();
}

static void on_disconnected(struct vu_dev *vu)
{
	dev.running = false;
	drop_guest_connections();
	loop_stop();
}

const struct vu_ops vsock_vu_ops = {
	.kick = on_kick,
	.rings_changed = on_rings_changed,
	.disconnected = on_disconnected,
};

void vsock_dev_init(struct vu_dev *vu, const struct vsock_cfg *cfg)
{
	struct vsock_config config = {.guest_cid = cfg->guest_cid};

	dev.vu = vu;
	dev.guest_cid = cfg->guest_cid;
	dev.buf_size = cfg->buf_size;
	memcpy(vu->config, &config, sizeof(config));
	vu->config_len = sizeof(config);
}

void vsock_dev_fini(void)
{
	struct list_node *pos, *tmp;

	list_for_each_safe (pos, tmp, &conn_all)
		conn_kill(list_entry(pos, struct conn, all));
	conn_reap();
}

void vsock_dev_after_events(void)
{
	if (dev.running)
		flush_rx();
	conn_reap();
}
