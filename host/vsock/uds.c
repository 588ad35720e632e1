#include "uds.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "unix_listen.h"
#include "virtq.h"

#define LISTEN_BACKLOG 128
/* Enough for any number of concurrent connections a test or a utility VM
 * makes, and a bound on the fds a misbehaving peer can pin. */
#define MAX_CONNS 4096
/* Retry a full backlog for less than Linux's 2 s vsock connect timeout. */
#define DIAL_RETRY_MS 10
#define DIAL_TIMEOUT_MS 1500

static char prefix[108];
static int listen_fd = -1, timer_fd = -1;
static struct loop_src listen_src = {.fd = -1}, timer_src = {.fd = -1};

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int port_addr(struct sockaddr_un *sa, uint32_t port)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if ((size_t)snprintf(sa->sun_path, sizeof(sa->sun_path), "%s_%u", prefix, port) >=
	    sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	return 0;
}

/* Parses "CONNECT <port>" (the newline already stripped). */
static int parse_connect(const char *line, uint32_t *port)
{
	char *end;
	unsigned long v;

	if (strncmp(line, "CONNECT ", 8) != 0 || line[8] < '0' || line[8] > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(line + 8, &end, 10);
	if (errno || *end != '\0' || v >= 0xffffffffUL)
		return -EINVAL;
	*port = (uint32_t)v;
	return 0;
}

static void bad_handshake(struct conn *c, const char *why)
{
	char text[64];

	c->line[c->line_len < sizeof(c->line) ? c->line_len : sizeof(c->line) - 1] = '\0';
	log_msgf(LOG_WARN, "hybrid connect: bad request, closing", "\"why\":\"%s\",\"line\":\"%s\"",
		 why, log_str(c->line, text, sizeof(text)));
	conn_kill(c);
}

/* Reads the "CONNECT <port>\n" line without consuming a byte past it: what
 * follows is already payload for the guest. */
static void handshake(struct conn *c)
{
	size_t room = sizeof(c->line) - 1 - c->line_len;
	char *nl;
	uint32_t port;
	ssize_t n;

	n = recv(c->fd, c->line + c->line_len, room, MSG_PEEK | MSG_DONTWAIT);
	if (n < 0 && errno == EAGAIN)
		return;
	if (n <= 0) {
		log_debugf("hybrid connect: client left before its request", "\"bytes\":%u",
			   c->line_len);
		conn_kill(c);
		return;
	}
	nl = memchr(c->line + c->line_len, '\n', (size_t)n);
	if (nl)
		n = nl - (c->line + c->line_len) + 1;
	/* Consume exactly what was peeked up to the newline. */
	if (recv(c->fd, c->line + c->line_len, (size_t)n, MSG_DONTWAIT) != n) {
		conn_kill(c);
		return;
	}
	c->line_len += (unsigned)n;
	if (!nl) {
		if (c->line_len >= sizeof(c->line) - 1)
			bad_handshake(c, "line too long");
		return;
	}
	c->line[c->line_len - 1] = '\0';
	if (parse_connect(c->line, &port) < 0) {
		bad_handshake(c, "expected CONNECT <port>");
		return;
	}
	vsock_hybrid_connect(c, port);
}

static void on_hangup(struct conn *c)
{
	/* Hung up for good: epoll would report it forever, so stop polling and
	 * read out what is left; buffered guest bytes can no longer go out. */
	c->hup = true;
	c->readable = true;
	loop_del(&c->src);
	if (c->buf.len > 0)
		vsock_conn_abort(c);
}

static void on_conn_event(struct loop_src *src, uint32_t events)
{
	struct conn *c = list_entry(src, struct conn, src);

	if (c->state == CONN_HANDSHAKE) {
		handshake(c);
		return;
	}
	if ((events & EPOLLERR) || (c->state != CONN_ESTABLISHED && (events & EPOLLHUP))) {
		vsock_conn_abort(c);
		return;
	}
	if ((events & EPOLLOUT) && uds_flush(c) < 0) {
		vsock_conn_abort(c);
		return;
	}
	if (events & EPOLLIN)
		c->readable = true;
	if (events & EPOLLHUP)
		on_hangup(c);
	vsock_conn_update(c);
}

static void on_accept(struct loop_src *src, uint32_t events)
{
	for (;;) {
		int fd = accept4(listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct conn *c;

		if (fd < 0)
			return;
		if (conn_count() >= MAX_CONNS) {
			log_msg(LOG_WARN, "hybrid connect: too many connections, refusing");
			close(fd);
			continue;
		}
		c = conn_new(fd);
		if (!c) {
			close(fd);
			continue;
		}
		c->state = CONN_HANDSHAKE;
		if (loop_add(&c->src, fd, EPOLLIN, on_conn_event) < 0)
			conn_kill(c);
	}
}

static int try_connect(struct conn *c)
{
	struct sockaddr_un sa;
	int r = port_addr(&sa, c->local_port);

	if (r < 0)
		return r;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
		return 0;
	return -errno;
}

static void arm_timer(bool on)
{
	struct itimerspec its = {0};

	if (on) {
		its.it_interval.tv_nsec = DIAL_RETRY_MS * 1000000L;
		its.it_value = its.it_interval;
	}
	timerfd_settime(timer_fd, 0, &its, NULL);
}

/* Polled only once connected: an unconnected unix stream socket reports
 * EPOLLHUP. */
static int watch(struct conn *c)
{
	return loop_add(&c->src, c->fd, 0, on_conn_event);
}

static void on_timer(struct loop_src *src, uint32_t events)
{
	struct list_node *pos, *tmp;
	uint64_t ticks, now = now_ms();

	if (read(timer_fd, &ticks, sizeof(ticks)) < 0 && errno != EAGAIN)
		return;
	list_for_each_safe (pos, tmp, &conn_dial_list) {
		struct conn *c = list_entry(pos, struct conn, dial);
		int r = try_connect(c);

		if (r == -EAGAIN && now < c->dial_deadline)
			continue;
		list_del_init(&c->dial);
		if (r == 0)
			r = watch(c);
		vsock_dial_done(c, r == -EAGAIN ? -ETIMEDOUT : r);
	}
	if (list_empty(&conn_dial_list))
		arm_timer(false);
}

int uds_dial(struct conn *c)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	int r;

	if (fd < 0)
		return -errno;
	c->fd = fd;
	r = try_connect(c);
	if (r == 0)
		return watch(c);
	if (r != -EAGAIN)
		return r;
	/* The listener's backlog is full: a blocking connect would wait, so
	 * try again shortly. */
	c->dial_deadline = now_ms() + DIAL_TIMEOUT_MS;
	if (list_empty(&conn_dial_list))
		arm_timer(true);
	list_add_tail(&c->dial, &conn_dial_list);
	return -EAGAIN;
}

ssize_t uds_read(struct conn *c, const struct iovec *iov, unsigned n)
{
	ssize_t r;

	if (c->fd < 0)
		return 0;
	r = readv(c->fd, iov, (int)n);
	return r < 0 ? -errno : r;
}

int uds_send(struct conn *c, const struct iovec *iov, unsigned n, size_t len, uint32_t cap)
{
	struct iovec rest[VQ_MAX_IOV];
	size_t sent = 0;

	if (c->fd < 0 || c->wr_shut)
		return -EPIPE;
	if (c->buf.len == 0) {
		struct msghdr mh = {.msg_iov = (struct iovec *)iov, .msg_iovlen = n};
		ssize_t w = sendmsg(c->fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno != EAGAIN)
			return -errno;
		if (w > 0)
			sent = (size_t)w;
		c->fwd_cnt += (uint32_t)sent;
	}
	if (sent == len)
		return 0;
	n = iov_slice(rest, iov, n, sent, len - sent);
	return ringbuf_put(&c->buf, cap, rest, n, len - sent);
}

int uds_flush(struct conn *c)
{
	ssize_t n;

	if (c->fd < 0)
		return c->buf.len ? -EPIPE : 0;
	n = ringbuf_send(&c->buf, c->fd);
	if (n < 0)
		return (int)n;
	c->fwd_cnt += (uint32_t)n;
	return 0;
}

void uds_watch(struct conn *c, bool in, bool out)
{
	loop_mod(&c->src, (in ? EPOLLIN : 0) | (out ? EPOLLOUT : 0));
}

int uds_reply_ok(struct conn *c)
{
	char line[32];
	int len = snprintf(line, sizeof(line), "OK %u\n", c->local_port);
	ssize_t n = send(c->fd, line, (size_t)len, MSG_NOSIGNAL | MSG_DONTWAIT);

	if (n < 0)
		return -errno;
	return n == len ? 0 : -EIO;
}

void uds_shut_write(struct conn *c)
{
	if (c->fd >= 0)
		shutdown(c->fd, SHUT_WR);
	c->wr_shut = true;
}

int uds_init(const char *path)
{
	int r;

	if (strlen(path) + 12 > sizeof(prefix))
		return -ENAMETOOLONG;
	strcpy(prefix, path);
	timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (timer_fd < 0)
		return -errno;
	r = loop_add(&timer_src, timer_fd, EPOLLIN, on_timer);
	if (r < 0)
		return r;
	r = unix_listen(prefix, LISTEN_BACKLOG);
	if (r < 0)
		return r;
	listen_fd = r;
	return loop_add(&listen_src, listen_fd, EPOLLIN, on_accept);
}

void uds_fini(void)
{
	loop_del(&listen_src);
	loop_del(&timer_src);
	if (listen_fd >= 0) {
		close(listen_fd);
		unlink(prefix);
	}
	if (timer_fd >= 0)
		close(timer_fd);
	listen_fd = timer_fd = -1;
}
