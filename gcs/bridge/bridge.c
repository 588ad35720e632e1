/* The bridge connection: dialling (on a worker, so a slow vsock connect never
 * stalls the loop), reading frames, the write queue (one writer: header and
 * body leave in one piece, replies in completion order), reconnecting, and
 * the queue of notifications waiting for a negotiated connection. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "boottime.h"
#include "bridge/internal.h"
#include "core/dial.h"
#include "core/log.h"
#include "bridge/reply.h"
#include "bridge/wire.h"

#define READ_CHUNK 65536
/* Back-pressure: a host that sends requests but does not read the replies
 * stops being read once this many reply bytes wait, until the queue has
 * drained below the second bound. One READ_CHUNK of requests can still be
 * answered past the first: the queue stays within a few MiB. */
#define OUT_PAUSE_BYTES (4u << 20)
#define OUT_RESUME_BYTES (1u << 20)
/* Dial failures are logged once, then every this many milliseconds. */
#define DIAL_LOG_EVERY_MS 10000

struct dial_job {
	struct bridge *bridge; /* NULL once the bridge is gone */
	struct transport transport;
	uint32_t port;
	int fd;
};

static void schedule_redial(struct bridge *b);

static void queue_push(struct out_queue *q, struct out_msg *m)
{
	m->next = NULL;
	if (q->tail)
		q->tail->next = m;
	else
		q->head = m;
	q->tail = m;
	q->count++;
	q->bytes += m->len;
}

static struct out_msg *queue_pop(struct out_queue *q)
{
	struct out_msg *m = q->head;

	if (!m)
		return NULL;
	q->head = m->next;
	if (!q->head)
		q->tail = NULL;
	q->count--;
	q->bytes -= m->len;
	return m;
}

static void out_msg_free(struct out_msg *m)
{
	if (m)
		free(m->data);
	free(m);
}

static void queue_clear(struct out_queue *q)
{
	struct out_msg *m;

	while ((m = queue_pop(q)))
		out_msg_free(m);
}

/* Takes ownership of buf (freed on failure too). */
static struct out_msg *out_msg_new(uint8_t *buf, size_t len, bool notification)
{
	struct out_msg *m = malloc(sizeof(*m));

	if (!m) {
		free(buf);
		return NULL;
	}
	m->len = len;
	m->off = 0;
	m->notification = notification;
	m->data = buf;
	return m;
}

/* The events the connection's watches wait for: input unless paused,
 * output while the queue waits for the fd. */
static void apply_interest(struct bridge *b)
{
	uint32_t in = b->paused ? 0 : EPOLLIN, out = b->want_out ? EPOLLOUT : 0;
	struct error err;

	if (b->out_watch) {
		if (loop_watch_set_events(b->out_watch, out, &err) < 0 ||
		    (b->in_watch && loop_watch_set_events(b->in_watch, in, &err) < 0))
			log_error("bridge: %s", err.msg);
	} else if (b->in_watch) {
		if (loop_watch_set_events(b->in_watch, in | out, &err) < 0)
			log_error("bridge: %s", err.msg);
	}
}

static void set_out_interest(struct bridge *b, bool want)
{
	if (b->want_out == want)
		return;
	b->want_out = want;
	apply_interest(b);
}

/* Pauses or resumes reading by the size of the reply queue. */
static void check_backpressure(struct bridge *b)
{
	bool pause = b->paused ? b->out.bytes >= OUT_RESUME_BYTES : b->out.bytes > OUT_PAUSE_BYTES;

	if (pause == b->paused)
		return;
	b->paused = pause;
	if (pause) {
		b->pauses++;
		log_fields(LOG_WARN, LOG_FIELDS(LOG_UINT("queuedBytes", b->out.bytes)),
			   "bridge: the host is not reading replies; requests wait until it does");
	}
	apply_interest(b);
}

/* Closes the connection. Requests in flight keep running; their replies will
 * be dropped (request_is_live). Unsent notifications go back to the pending
 * queue, ahead of newer ones, to be sent after the next negotiation. */
static void disconnect(struct bridge *b, const char *why)
{
	struct out_queue keep = {0};
	struct out_msg *m;

	if (!b->connected)
		return;
	log_fields(b->closed ? LOG_INFO : LOG_WARN,
		   LOG_FIELDS(LOG_UINT("connection", b->connections),
			      LOG_UINT("unsent", b->out.count)),
		   "bridge connection %s: %s", b->closed ? "closed" : "lost", why);
	loop_watch_remove(b->in_watch);
	loop_watch_remove(b->out_watch);
	b->in_watch = b->out_watch = NULL;
	if (!b->cfg.use_stdio || b->attached) {
		close(b->in_fd);
		if (b->out_fd != b->in_fd)
			close(b->out_fd);
	}
	b->in_fd = b->out_fd = -1;
	while ((m = queue_pop(&b->out))) {
		if (m->notification) {
			m->off = 0;
			queue_push(&keep, m);
		} else {
			out_msg_free(m);
		}
	}
	while ((m = queue_pop(&b->pending)))
		queue_push(&keep, m);
	b->pending = keep;
	frame_reader_reset(&b->reader);
	b->connected = b->negotiated = false;
	b->paused = b->want_out = false;
	b->gen++;
	if (b->closed)
		return;
	if (b->cfg.use_stdio || b->attached) {
		/* Nothing to redial: stdin/stdout (or a test's fds) are gone. */
		loop_quit(b->loop, 0);
		return;
	}
	schedule_redial(b);
}

/* Writes as much of the queue as the fd takes. */
static void flush(struct bridge *b)
{
	struct out_msg *m;

	while ((m = b->out.head)) {
		const uint8_t *p = m->data + m->off;
		size_t left = m->len - m->off;
		ssize_t n = b->out_is_socket ? send(b->out_fd, p, left, MSG_NOSIGNAL)
					     : write(b->out_fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			set_out_interest(b, true);
			return;
		}
		if (n <= 0) {
			disconnect(b, n < 0 ? strerror(errno) : "write returned 0");
			return;
		}
		m->off += (size_t)n;
		if (m->off < m->len)
			continue;
		if (m->notification)
			b->notifications_sent++;
		out_msg_free(queue_pop(&b->out));
		if (b->paused)
			check_backpressure(b);
	}
	set_out_interest(b, false);
}

void bridge_send(struct bridge *b, uint8_t *buf, size_t len, bool notification)
{
	struct out_msg *m;
	bool was_empty = !b->out.head;

	if (!b->connected && !notification) {
		free(buf);
		return;
	}
	m = out_msg_new(buf, len, notification);
	if (!m) {
		log_error("out of memory: a %zu-byte message to the host is lost", len);
		return;
	}
	if (!b->connected || !b->negotiated) {
		if (notification) {
			queue_push(&b->pending, m);
			return;
		}
	}
	queue_push(&b->out, m);
	if (was_empty)
		flush(b);
	check_backpressure(b);
}

void bridge_set_negotiated(struct bridge *b)
{
	struct out_msg *m;

	if (!b->connected)
		return;
	b->negotiated = true;
	log_info("bridge negotiated protocol version %u", WIRE_PROTOCOL_VERSION);
	if (!b->pending.head)
		return;
	log_info("sending %zu queued container notification(s)", b->pending.count);
	while ((m = queue_pop(&b->pending)))
		queue_push(&b->out, m);
	flush(b);
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *data);
static void on_writable(struct loop *l, int fd, uint32_t events, void *data);

static void read_frames(struct bridge *b, size_t n)
{
	uint64_t gen = b->gen;
	size_t off = 0;

	while (off < n && b->gen == gen) {
		struct frame f;
		struct error err;
		size_t used;
		int rc = frame_reader_feed(&b->reader, b->rbuf + off, n - off, &used, &f, &err);

		off += used;
		if (rc < 0) {
			log_error("bridge: %s", err.msg);
			disconnect(b, "protocol error");
			return;
		}
		if (rc == 1)
			dispatch_frame(b, &f);
	}
}

static void on_readable(struct loop *l, int fd, uint32_t events, void *data)
{
	struct bridge *b = data;
	ssize_t n;

	if (events & EPOLLOUT)
		flush(b);
	if (!b->connected || !(events & (EPOLLIN | EPOLLHUP | EPOLLERR)))
		return;
	n = read(b->in_fd, b->rbuf, READ_CHUNK);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		disconnect(b, n == 0 ? "the host closed it" : strerror(errno));
		return;
	}
	read_frames(b, (size_t)n);
}

static void on_writable(struct loop *l, int fd, uint32_t events, void *data)
{
	struct bridge *b = data;

	/* Reported even with no interest: the reader of stdout is gone. */
	if (events & (EPOLLERR | EPOLLHUP)) {
		disconnect(b, "output closed");
		return;
	}
	flush(b);
}

static int set_nonblock(int fd, struct error *err)
{
	int flags = fcntl(fd, F_GETFL);

	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0)
		return error_errno(err, errno, "set fd %d non-blocking", fd);
	return 0;
}

static bool is_socket(int fd)
{
	int type;
	socklen_t len = sizeof(type);

	return getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) == 0;
}

static int connection_up(struct bridge *b, int in_fd, int out_fd, struct error *err)
{
	int rc = set_nonblock(in_fd, err);

	if (rc == 0 && out_fd != in_fd)
		rc = set_nonblock(out_fd, err);
	if (rc < 0)
		return rc;
	b->in_watch = loop_watch_add(b->loop, in_fd, EPOLLIN, on_readable, b, err);
	if (!b->in_watch)
		return -errno;
	if (out_fd != in_fd) {
		b->out_watch = loop_watch_add(b->loop, out_fd, 0, on_writable, b, err);
		if (!b->out_watch) {
			rc = -errno;
			loop_watch_remove(b->in_watch);
			b->in_watch = NULL;
			return rc;
		}
	}
	b->in_fd = in_fd;
	b->out_fd = out_fd;
	b->out_is_socket = is_socket(out_fd);
	b->connected = true;
	b->negotiated = false;
	b->connections++;
	b->dial_failures = 0;
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_UINT("connection", b->connections),
			      LOG_UINT("boottimeUs", boottime_ns() / 1000)),
		   "bridge connected, serving");
	return 0;
}

static int dial_run(void *data, struct error *err)
{
	struct dial_job *j = data;

	j->fd = gcs_dial(&j->transport, j->port, err);
	return j->fd < 0 ? j->fd : 0;
}

static void dial_log(struct bridge *b, int rc, const struct error *err)
{
	uint64_t now = loop_now_ms();

	b->dial_failures++;
	if (b->dial_failures > 1 && -rc == b->last_dial_errno &&
	    now - b->last_dial_log < DIAL_LOG_EVERY_MS)
		return;
	b->last_dial_errno = -rc;
	b->last_dial_log = now;
	log_fields(LOG_WARN, LOG_FIELDS(LOG_UINT("attempts", b->dial_failures)),
		   "failed to dial the host, retrying every %d ms: %s", BRIDGE_REDIAL_MS, err->msg);
}

static void dial_done(struct loop *l, int rc, const struct error *err, void *data)
{
	struct dial_job *j = data;
	struct bridge *b = j->bridge;
	struct error e2;
	int fd = j->fd;

	free(j);
	if (!b) {
		if (rc == 0)
			close(fd);
		return;
	}
	b->dialing = NULL;
	if (rc < 0) {
		if (rc != -ECANCELED)
			dial_log(b, rc, err);
		schedule_redial(b);
		return;
	}
	if (connection_up(b, fd, fd, &e2) < 0) {
		log_error("bridge: %s", e2.msg);
		close(fd);
		schedule_redial(b);
	}
}

static int dial_start(struct bridge *b, struct error *err)
{
	struct dial_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->bridge = b;
	j->transport = b->gcs->transport;
	j->port = b->cfg.port;
	j->fd = -1;
	rc = loop_job(b->loop, dial_run, dial_done, j, err);
	if (rc < 0) {
		free(j);
		return rc;
	}
	b->dialing = j;
	return 0;
}

static void redial(struct loop *l, void *data)
{
	struct bridge *b = data;
	struct error err;

	b->redial = NULL;
	if (b->closed || b->connected || b->dialing)
		return;
	if (dial_start(b, &err) < 0) {
		log_error("bridge: cannot dial: %s", err.msg);
		schedule_redial(b);
	}
}

static void schedule_redial(struct bridge *b)
{
	if (b->closed || b->redial)
		return;
	b->redial = loop_timer_add(b->loop, BRIDGE_REDIAL_MS, redial, b);
	if (!b->redial)
		log_error("out of memory: the bridge will not redial");
}

int bridge_new(struct gcs *g, const struct bridge_config *cfg, struct bridge **out,
	       struct error *err)
{
	struct bridge *b = calloc(1, sizeof(*b));

	*out = NULL;
	if (b)
		b->rbuf = malloc(READ_CHUNK);
	if (!b || !b->rbuf) {
		free(b);
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	}
	b->gcs = g;
	b->loop = g->loop;
	b->cfg = *cfg;
	b->in_fd = b->out_fd = -1;
	b->inflight.next = b->inflight.prev = &b->inflight;
	frame_reader_init(&b->reader, WIRE_MAX_HOST_MESSAGE);
	*out = b;
	return 0;
}

int bridge_start(struct bridge *b, struct error *err)
{
	if (b->cfg.use_stdio) {
		log_info("bridge on stdin/stdout (-use-inouterr)");
		return connection_up(b, 0, 1, err);
	}
	return dial_start(b, err);
}

int bridge_attach(struct bridge *b, int in_fd, int out_fd, struct error *err)
{
	b->attached = true;
	return connection_up(b, in_fd, out_fd, err);
}

void bridge_shutdown(struct bridge *b)
{
	if (!b || b->closed)
		return;
	b->closed = true;
	disconnect(b, "shutting down");
	loop_timer_cancel(b->redial);
	b->redial = NULL;
	if (b->dialing) {
		b->dialing->bridge = NULL; /* its completion just closes the fd */
		b->dialing = NULL;
	}
	dispatch_cancel_all(b);
}

void bridge_free(struct bridge *b)
{
	if (!b)
		return;
	queue_clear(&b->out);
	queue_clear(&b->pending);
	frame_reader_reset(&b->reader);
	free(b->rbuf);
	free(b);
}

int bridge_notify_container(struct bridge *b, const char *container_id, const char *activity_id,
			    const char *type, int32_t result, struct error *err)
{
	return bridge_notify_container_info(b, container_id, activity_id, type, result, NULL, err);
}

int bridge_notify_container_info(struct bridge *b, const char *container_id,
				 const char *activity_id, const char *type, int32_t result,
				 const char *result_info, struct error *err)
{
	Gcs__ContainerNotification n = GCS__CONTAINER_NOTIFICATION__INIT;
	uint8_t *buf;
	size_t len;
	int rc;

	n.containerid = (char *)container_id;
	n.activityid = (char *)(wire_guid_valid(activity_id) ? activity_id : WIRE_NULL_GUID);
	n.type = (char *)type;
	n.operation = "None";
	n.result = result;
	if (result_info && *result_info)
		n.resultinfo = (char *)result_info;
	rc = notification_build(&n, &buf, &len, err);
	if (rc < 0)
		return error_prefix(err, "container %s notification", container_id);
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_STR("cid", container_id), LOG_STR("type", type),
			      LOG_BOOL("queued", !b->negotiated)),
		   "container notification");
	bridge_send(b, buf, len, true);
	return 0;
}

bool bridge_connected(const struct bridge *b)
{
	return b->connected;
}

bool bridge_negotiated(const struct bridge *b)
{
	return b->negotiated;
}

void bridge_describe(struct bridge *b, struct printbuf *pb)
{
	sprintbuf(pb,
		  "bridge: %s%s%s, connection #%llu, %zu messages (%zu bytes) to write, "
		  "%zu notifications queued, %llu sent, reading paused %llu times\n",
		  b->connected ? "connected" : (b->dialing ? "dialling" : "disconnected"),
		  b->negotiated ? ", negotiated v4" : "", b->paused ? ", reading paused" : "",
		  (unsigned long long)b->connections, b->out.count, b->out.bytes, b->pending.count,
		  (unsigned long long)b->notifications_sent, (unsigned long long)b->pauses);
	dispatch_describe(b, pb);
}
