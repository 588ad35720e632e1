/* Shared by bridge.c (connection, I/O, queues) and dispatch.c (requests). */
#ifndef GCS_BRIDGE_INTERNAL_H
#define GCS_BRIDGE_INTERNAL_H

#include "bridge/bridge.h"
#include "bridge/framing.h"
#include "bridge/request.h"

struct out_msg {
	struct out_msg *next;
	size_t len, off;
	bool notification; /* re-sent after a reconnect if not fully written */
	uint8_t *data;	   /* header + body, malloc'ed (frame_encode) */
};

struct out_queue {
	struct out_msg *head, *tail;
	size_t count, bytes;
};

/* The private part of a request. */
struct request_priv {
	struct request pub;
	struct bridge *bridge;
	uint64_t gen;	     /* connection it arrived on */
	uint64_t started;    /* loop_now_ms() */
	uint64_t started_ns; /* loop_now_ns() */
	uint64_t runc_ns;    /* request_add_runc_ns() */
	bool ran_runc;
	uint64_t process_ns; /* request_note_process_reaped() */
	bool waited_process;
	const char *handler;
	struct json_object *body;
	bool in_handler; /* the handler is running: free after it returns */
	bool done;	 /* replied */
	void (*cancel)(struct request *req, void *data);
	void *cancel_data;
	struct request_priv *prev, *next;
};

struct dial_job;

struct bridge {
	struct gcs *gcs;
	struct loop *loop;
	struct bridge_config cfg;

	/* connection */
	int in_fd, out_fd;
	struct loop_watch *in_watch, *out_watch;
	bool connected, negotiated, attached, closed;
	bool out_is_socket; /* send(MSG_NOSIGNAL), else write() */
	bool want_out;	    /* EPOLLOUT: the queue waits for the fd */
	bool paused;	    /* no reading: too many reply bytes queued */
	uint64_t pauses;
	uint64_t gen;
	uint64_t connections;
	struct frame_reader reader;
	uint8_t *rbuf;
	struct out_queue out;

	/* dialling */
	struct dial_job *dialing;
	struct loop_timer *redial;
	uint64_t dial_failures;
	int last_dial_errno;
	uint64_t last_dial_log;

	/* notifications waiting for a negotiated connection */
	struct out_queue pending;
	uint64_t notifications_sent;

	/* requests */
	struct request_priv inflight; /* sentinel */
	size_t n_inflight;
	uint64_t requests;
};

/* dispatch.c */
void dispatch_frame(struct bridge *b, struct frame *f);
void dispatch_cancel_all(struct bridge *b);
void dispatch_describe(struct bridge *b, struct printbuf *pb);

/* bridge.c */
/* Queues a complete message (takes ownership of buf, malloc'ed). Dropped
 * when the connection is gone, except notifications. */
void bridge_send(struct bridge *b, uint8_t *buf, size_t len, bool notification);
/* After a successful NegotiateProtocol reply has been queued. */
void bridge_set_negotiated(struct bridge *b);

#endif
