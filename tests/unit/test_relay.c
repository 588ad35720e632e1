/* The stdio relay engine (gcs/process/relay.h) on a real event loop: end-of-file
 * handling per fd type, splice and copy paths, backpressure without busy
 * looping, early close by either side, cancellation. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "core/loop.h"
#include "process/process.h"
#include "process/relay.h"

struct outcome {
	bool done;
	int rc;
	int calls;
};

static void on_done(struct relay *r, int rc, void *data)
{
	struct outcome *o = data;

	o->done = true;
	o->rc = rc;
	o->calls++;
}

static struct loop *new_loop(void)
{
	struct loop *l;
	struct error err;

	/* As in the gcs: a closed peer must give EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	if (loop_new(&l, &err) < 0)
		unit_fail(__FILE__, __LINE__, "loop_new: %s", err.msg);
	return l;
}

static void run_until(struct loop *l, const bool *flag)
{
	for (int i = 0; i < 2000 && !*flag; i++)
		CHECK(loop_run_once(l, 10) >= 0);
	CHECK(*flag);
}

static void set_nonblock(int fd)
{
	CHECK(fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) == 0);
}

/* Reads everything up to EOF (blocking). */
static size_t read_all(int fd, char *buf, size_t size)
{
	size_t got = 0;

	for (;;) {
		ssize_t n = read(fd, buf + got, size - got);

		if (n < 0 && errno == EINTR)
			continue;
		CHECK(n >= 0);
		if (n == 0)
			return got;
		got += (size_t)n;
		CHECK(got < size);
	}
}

static void fill_pattern(char *buf, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++) {
		seed = seed * 1103515245u + 12345u;
		buf[i] = (char)(seed >> 16);
	}
}

static void start(struct loop *l, int src, int dst, struct outcome *o, struct relay **r)
{
	struct error err;

	if (relay_start(l, src, dst, on_done, o, r, &err) < 0)
		unit_fail(__FILE__, __LINE__, "relay_start: %s", err.msg);
}

TEST(pipe_to_socket_half_closes_at_eof)
{
	struct loop *l = new_loop();
	struct outcome o = {0};
	int p[2], s[2];
	char buf[64];

	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	start(l, p[0], s[0], &o, NULL);
	CHECK(write(p[1], "hello\n", 6) == 6);
	close(p[1]);
	run_until(l, &o.done);
	CHECK_EQ(o.rc, 0);
	CHECK_EQ(o.calls, 1);
	CHECK_EQ(read_all(s[1], buf, sizeof(buf)), 6);
	CHECK(memcmp(buf, "hello\n", 6) == 0);
	/* Half-closed: the relay still holds the socket until the peer closes. */
	CHECK_EQ(relay_count(), 1);
	close(s[1]);
	for (int i = 0; i < 100 && relay_count(); i++)
		loop_run_once(l, 10);
	CHECK_EQ(relay_count(), 0);
	loop_free(l);
}

TEST(socket_to_pipe_closes_the_pipe_at_eof)
{
	struct loop *l = new_loop();
	struct outcome o = {0};
	int p[2], s[2];
	char buf[64];

	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	start(l, s[0], p[1], &o, NULL);
	CHECK(write(s[1], "input", 5) == 5);
	CHECK_OK(shutdown(s[1], SHUT_WR));
	run_until(l, &o.done);
	CHECK_EQ(o.rc, 0);
	/* The reader sees the bytes, then EOF: the relay closed its end. */
	CHECK_EQ(read_all(p[0], buf, sizeof(buf)), 5);
	CHECK_EQ(relay_count(), 0);
	close(s[1]);
	close(p[0]);
	loop_free(l);
}

/* Moves `total` bytes through src_w -> [relay] -> ... -> dst_r while the
 * loop runs, checking the bytes. */
static void pump_through(struct loop *l, int src_w, int dst_r, size_t total, struct outcome *o)
{
	size_t chunk = 256 * 1024, sent = 0, got = 0;
	char *out = malloc(chunk), *in = malloc(chunk);
	bool eof = false;

	fill_pattern(out, chunk, 7);
	set_nonblock(src_w);
	set_nonblock(dst_r);
	while (!eof) {
		ssize_t n;

		if (sent < total) {
			size_t off = sent % chunk, len = chunk - off;

			if (len > total - sent)
				len = total - sent;
			n = write(src_w, out + off, len);
			if (n > 0)
				sent += (size_t)n;
			else
				CHECK(errno == EAGAIN);
			if (sent == total)
				close(src_w);
		}
		n = read(dst_r, in, chunk);
		if (n > 0) {
			for (ssize_t i = 0; i < n; i++)
				if (in[i] != out[(got + (size_t)i) % chunk])
					unit_fail(__FILE__, __LINE__, "byte %zu differs",
						  got + (size_t)i);
			got += (size_t)n;
		} else if (n == 0) {
			eof = true;
		} else {
			CHECK(errno == EAGAIN);
		}
		CHECK(loop_run_once(l, 0) >= 0);
	}
	CHECK_EQ(got, total);
	CHECK(o->done);
	CHECK_EQ(o->rc, 0);
	free(out);
	free(in);
}

TEST(splice_path_moves_32_mib_intact)
{
	struct loop *l = new_loop();
	struct outcome o1 = {0}, o2 = {0};
	int in[2], s[2], out[2];

	/* pipe -> socket -> pipe: both relays splice. */
	CHECK_OK(pipe2(in, O_CLOEXEC));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	CHECK_OK(pipe2(out, O_CLOEXEC));
	start(l, in[0], s[0], &o1, NULL);
	start(l, s[1], out[1], &o2, NULL);
	pump_through(l, in[1], out[0], 32u << 20, &o2);
	CHECK(o1.done && o1.rc == 0);
	close(out[0]);
	loop_free(l);
}

TEST(copy_path_moves_8_mib_intact)
{
	struct loop *l = new_loop();
	struct outcome o = {0};
	int a[2], b[2];

	/* socket -> socket: no pipe, so read/write through the buffer. */
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, a));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, b));
	start(l, a[1], b[0], &o, NULL);
	pump_through(l, a[0], b[1], 8u << 20, &o);
	close(b[1]);
	loop_free(l);
}

static size_t fill_nonblocking(int fd)
{
	static char junk[65536];
	size_t total = 0;
	ssize_t n;

	set_nonblock(fd);
	while ((n = write(fd, junk, sizeof(junk))) > 0)
		total += (size_t)n;
	CHECK(n < 0 && errno == EAGAIN);
	return total;
}

static int pipe_pending(int fd)
{
	int n = -1;

	CHECK_OK(ioctl(fd, FIONREAD, &n));
	return n;
}

TEST(backpressure_stops_reading_and_does_not_spin)
{
	struct loop *l = new_loop();
	struct outcome o = {0};
	int p[2], s[2];
	size_t written, got = 0;
	char *buf = malloc(1 << 20);
	int callbacks = 0;

	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	start(l, p[0], s[0], &o, NULL);
	/* Keep the pipe full until the relay no longer drains it. */
	written = 0;
	for (int i = 0; i < 1000; i++) {
		size_t n = fill_nonblocking(p[1]);

		written += n;
		if (n == 0 && i > 2)
			break;
		for (int j = 0; j < 5; j++)
			loop_run_once(l, 0);
	}
	/* The socket is full and nobody reads it: the rest stays in the pipe. */
	CHECK(pipe_pending(p[0]) > 0);
	/* Even with the writer gone (the pipe now reports EPOLLHUP) the relay
	 * sleeps until the socket drains. */
	close(p[1]);
	for (int i = 0; i < 5; i++)
		callbacks += loop_run_once(l, 20);
	CHECK_EQ(callbacks, 0);
	CHECK(!o.done);
	set_nonblock(s[1]);
	while (!o.done || got < written) {
		ssize_t n = read(s[1], buf, 1 << 20);

		if (n > 0)
			got += (size_t)n;
		loop_run_once(l, 1);
	}
	CHECK_EQ(got, written);
	CHECK_EQ(o.rc, 0);
	close(s[1]);
	free(buf);
	loop_free(l);
}

TEST(peer_closing_the_destination_stops_the_relay_at_once)
{
	struct loop *l = new_loop();
	struct outcome o = {0};
	int p[2], s[2];

	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	start(l, p[0], s[0], &o, NULL);
	close(s[1]); /* the host hangs up stdout before any output */
	run_until(l, &o.done);
	CHECK_EQ(o.rc, -EPIPE);
	/* The writer (the child) now gets EPIPE instead of blocking. */
	CHECK(write(p[1], "x", 1) < 0 && errno == EPIPE);
	CHECK_EQ(relay_count(), 0);
	close(p[1]);
	loop_free(l);
}

TEST(write_error_on_destination_ends_with_error)
{
	struct loop *l = new_loop();
	struct outcome o = {0};
	int p[2], s[2];

	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	start(l, s[0], p[1], &o, NULL);
	close(p[0]); /* the child closed its stdin */
	CHECK(write(s[1], "data", 4) == 4);
	run_until(l, &o.done);
	CHECK_EQ(o.rc, -EPIPE);
	close(s[1]);
	loop_free(l);
}

TEST(pty_master_eio_is_end_of_file)
{
	struct loop *l = new_loop();
	struct outcome o = {0};
	struct error err;
	int master, slave, s[2];
	char buf[256];
	size_t n;

	if (process_pty_open(&master, &slave, 0, 0, &err) < 0)
		SKIP("no pty: %s", err.msg);
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	start(l, master, s[0], &o, NULL);
	CHECK(write(slave, "from the tty\n", 13) == 13);
	close(slave);
	run_until(l, &o.done);
	CHECK_EQ(o.rc, 0);
	n = read_all(s[1], buf, sizeof(buf));
	buf[n] = 0;
	/* The line discipline turns \n into \r\n. */
	CHECK_STREQ(buf, "from the tty\r\n");
	close(s[1]);
	loop_free(l);
}

TEST(discard_reads_and_drops)
{
	struct loop *l = new_loop();
	struct outcome o = {0};
	struct relay *r;
	int p[2];

	CHECK_OK(pipe2(p, O_CLOEXEC));
	start(l, p[0], RELAY_DISCARD, &o, &r);
	fill_nonblocking(p[1]);
	close(p[1]);
	run_until(l, &o.done);
	CHECK_EQ(o.rc, 0);
	CHECK_EQ(relay_count(), 0);
	loop_free(l);
}

TEST(cancel_closes_both_ends_without_callback)
{
	struct loop *l = new_loop();
	struct outcome o = {0};
	struct relay *r;
	int p[2], s[2];
	char c;

	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, s));
	start(l, s[0], p[1], &o, &r);
	relay_cancel(r);
	for (int i = 0; i < 5; i++)
		loop_run_once(l, 0);
	CHECK(!o.done);
	CHECK_EQ(relay_count(), 0);
	CHECK(read(p[0], &c, 1) == 0); /* pipe writer closed */
	CHECK(write(s[1], "x", 1) < 0 && errno == EPIPE);
	close(p[0]);
	close(s[1]);
	loop_free(l);
}

TEST(bad_fds_are_refused_and_closed)
{
	struct loop *l = new_loop();
	struct error err;
	struct relay *r = (struct relay *)1;
	int p[2];

	CHECK_OK(pipe2(p, O_CLOEXEC));
	CHECK(relay_start(l, -1, p[1], on_done, NULL, &r, &err) < 0);
	CHECK(r == NULL);
	CHECK(fcntl(p[1], F_GETFD) < 0 && errno == EBADF);
	close(p[0]);
	loop_free(l);
}
