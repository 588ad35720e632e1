#include "conn.h"

#include <stdlib.h>
#include <unistd.h>

#define HASH_BUCKETS 1024u
/* Host-side ports of host-initiated connections: high, out of the way of
 * the ports guests connect to and of Linux's ephemeral guest ports. */
#define LOCAL_PORT_FIRST 0x80000000u
#define LOCAL_PORT_LAST 0xfffffffeu /* 0xffffffff is VMADDR_PORT_ANY */

struct list_node conn_all = LIST_INIT(conn_all);
struct list_node conn_send_queue = LIST_INIT(conn_send_queue);
struct list_node conn_dial_list = LIST_INIT(conn_dial_list);

static struct conn *buckets[HASH_BUCKETS];
static struct conn *dead;
static unsigned count;
static uint32_t next_local_port = LOCAL_PORT_FIRST;

static unsigned hash(uint32_t local_port, uint32_t peer_port)
{
	return (local_port * 2654435761u ^ peer_port * 40503u) % HASH_BUCKETS;
}

struct conn *conn_new(int fd)
{
	struct conn *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->fd = fd;
	c->src.fd = -1;
	list_init(&c->send);
	list_init(&c->dial);
	list_add_tail(&c->all, &conn_all);
	count++;
	return c;
}

unsigned conn_count(void)
{
	return count;
}

void conn_hash_add(struct conn *c)
{
	unsigned h = hash(c->local_port, c->peer_port);

	c->hash_next = buckets[h];
	buckets[h] = c;
	c->hashed = true;
}

static void hash_del(struct conn *c)
{
	struct conn **p = &buckets[hash(c->local_port, c->peer_port)];

	for (; *p; p = &(*p)->hash_next) {
		if (*p == c) {
			*p = c->hash_next;
			break;
		}
	}
	c->hashed = false;
}

struct conn *conn_lookup(uint32_t local_port, uint32_t peer_port)
{
	struct conn *c = buckets[hash(local_port, peer_port)];

	for (; c; c = c->hash_next)
		if (c->local_port == local_port && c->peer_port == peer_port)
			return c;
	return NULL;
}

uint32_t conn_alloc_port(uint32_t peer_port)
{
	/* Connections are far fewer than ports: this ends quickly. */
	for (;;) {
		uint32_t port = next_local_port;

		next_local_port = port == LOCAL_PORT_LAST ? LOCAL_PORT_FIRST : port + 1;
		if (!conn_lookup(port, peer_port))
			return port;
	}
}

void conn_queue(struct conn *c, bool want)
{
	if (want && !list_linked(&c->send))
		list_add_tail(&c->send, &conn_send_queue);
	else if (!want && list_linked(&c->send))
		list_del_init(&c->send);
}

void conn_requeue_tail(struct conn *c)
{
	if (!list_linked(&c->send))
		return;
	list_del_init(&c->send);
	list_add_tail(&c->send, &conn_send_queue);
}

void conn_close_fd(struct conn *c)
{
	loop_del(&c->src);
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	ringbuf_free(&c->buf);
	if (list_linked(&c->dial))
		list_del_init(&c->dial);
}

void conn_kill(struct conn *c)
{
	if (c->dead)
		return;
	conn_close_fd(c);
	if (c->hashed)
		hash_del(c);
	conn_queue(c, false);
	list_del_init(&c->all);
	c->dead = true;
	c->dead_next = dead;
	dead = c;
	count--;
}

void conn_reap(void)
{
	while (dead) {
		struct conn *c = dead;

		dead = c->dead_next;
		free(c);
	}
}

uint32_t conn_peer_credit(const struct conn *c)
{
	uint32_t in_flight = c->tx_cnt - c->peer_fwd_cnt;

	return in_flight >= c->peer_buf_alloc ? 0 : c->peer_buf_alloc - in_flight;
}
