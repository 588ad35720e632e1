/* The connection table: one struct conn per guest stream, keyed by the
 * host-side port (CID 2) and the guest-side port, plus the lists the backend
 * walks: every connection, the ones owing the guest a packet (served round
 * robin), the ones still dialling their unix socket, and the dead ones
 * waiting to be freed after the current batch of events. */
#ifndef VSOCK_CONN_H
#define VSOCK_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "list.h"
#include "loop.h"
#include "ringbuf.h"

enum conn_state {
	CONN_HANDSHAKE,	  /* hybrid: accepted, waiting for "CONNECT <port>\n" */
	CONN_CONNECTING,  /* hybrid: REQUEST owed or sent, waiting for the guest */
	CONN_DIALING,	  /* guest REQUEST: the unix listener's backlog is full */
	CONN_ESTABLISHED, /* data flows */
	CONN_CLOSING,	  /* only an RST to the guest remains */
};

/* Packets owed to the guest. */
#define PEND_RST (1u << 0)
#define PEND_RESPONSE (1u << 1)
#define PEND_REQUEST (1u << 2)
#define PEND_CREDIT_UPDATE (1u << 3)
#define PEND_CREDIT_REQUEST (1u << 4)
#define PEND_SHUTDOWN (1u << 5)

struct conn {
	int fd; /* the unix socket, -1 once closed */
	struct loop_src src;
	enum conn_state state;
	uint32_t local_port; /* host side */
	uint32_t peer_port;  /* guest side */
	bool hashed;	     /* in the table: the guest knows (or will know) it */
	bool dead;
	unsigned pend;
	bool readable;		/* the unix socket has data or EOF not yet read */
	bool hup;		/* the unix socket hung up: read it out, no more polling */
	bool local_eof;		/* read EOF from the unix socket */
	bool peer_no_rcv;	/* guest SHUTDOWN: it receives no more */
	bool peer_no_send;	/* guest SHUTDOWN: it sends no more */
	bool wr_shut;		/* shutdown(SHUT_WR) done on the unix socket */
	bool credit_asked;	/* CREDIT_REQUEST sent since credit last ran out */
	uint64_t dial_deadline; /* CONN_DIALING: monotonic ms */
	/* Credit the guest grants us: its receive buffer. */
	uint32_t peer_buf_alloc, peer_fwd_cnt, tx_cnt;
	/* Credit we grant the guest: buf holds rx_cnt - fwd_cnt bytes. */
	uint32_t rx_cnt, fwd_cnt, fwd_cnt_sent;
	struct ringbuf buf;
	char line[32]; /* hybrid handshake: the line read so far */
	unsigned line_len;
	struct list_node all, send, dial;
	struct conn *hash_next;
	struct conn *dead_next;
};

extern struct list_node conn_all;
extern struct list_node conn_send_queue;
extern struct list_node conn_dial_list;

/* A new connection around the unix socket fd (owned from now on). */
struct conn *conn_new(int fd);
unsigned conn_count(void);

void conn_hash_add(struct conn *c);
struct conn *conn_lookup(uint32_t local_port, uint32_t peer_port);
/* A host-side port for a connection to the guest's peer_port that is not in
 * use with that peer port. */
uint32_t conn_alloc_port(uint32_t peer_port);

/* Puts c on (tail of) or takes it off the send queue. */
void conn_queue(struct conn *c, bool want);
void conn_requeue_tail(struct conn *c);

/* Closes the unix socket (if still open) and frees the ring buffer. */
void conn_close_fd(struct conn *c);
/* Takes c out of every list and the table, closes it, and frees it after
 * the current batch of events (conn_reap). */
void conn_kill(struct conn *c);
void conn_reap(void);

/* Bytes the guest can still take: its buf_alloc minus what is in flight. */
uint32_t conn_peer_credit(const struct conn *c);

#endif
