/* vsock-test: /init of the vsock backend's test initrd (static musl).
 *
 * Boots as PID 1 under QEMU with the backend behind vhost-user-vsock-pci and
 * runs the operations given after "--" on the kernel command line, separated
 * by "+", e.g. "send 5000 8388608 + refused 5001". Every result is one line
 * on the console starting with "@@ ", which the host-side test reads:
 *
 *   send PORT BYTES [EVERY]   dial (CID 2, PORT), write BYTES of pseudo-random
 *                             data (a progress line every EVERY bytes), shut
 *                             down writing, wait for EOF; reports crc32
 *   recv PORT [AFTER MS]      dial, read to EOF (pausing MS ms after AFTER
 *                             bytes); reports bytes and crc32
 *   echo PORT CONNS BYTES     open CONNS connections at once, send BYTES on
 *                             each while reading the echo back; reports how
 *                             many came back identical
 *   refused PORT              dial a port nobody serves; reports the errno
 *   midclose PORT MAX         dial and write until an error (or MAX bytes)
 *   listen PORT CONNS         listen on PORT, echo CONNS accepted connections
 *   hold PORT                 dial, say "hello", obey one line: "reboot"
 *                             (with the connection open), "keep" (leave it
 *                             open and go on) or anything else (close it)
 *   sleep MS
 *
 * Then "@@ done" and power off.
 *
 * First it loads the kernel's modules with /init's own coldplug
 * (init/modules.c, compiled in): the project's kernel has the virtio vsock
 * transport as a module, and tests/vm/vsock_vm.py appends the modules tree
 * to this initrd. It reports "@@ modules loaded=N failed=N error=E"; a
 * kernel without /lib/modules/<release> in the initrd reports nothing. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/reboot.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <linux/vm_sockets.h>

#include "klog.h"
#include "modules.h"

#define HOST_CID 2
#define CHUNK (64 * 1024)
#define MAX_CONNS 256

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void say(const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	strcpy(line, "@@ ");
	va_start(ap, fmt);
	n = vsnprintf(line + 3, sizeof(line) - 4, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	n = (int)strlen(line);
	line[n++] = '\n';
	if (write(1, line, (size_t)n) < 0)
		return;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- data: a reproducible pseudo-random stream and its crc32 ---- */

static uint32_t crc_table[256];

static void crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;

		for (int k = 0; k < 8; k++)
			c = (c & 1) ? 0xedb88320u ^ (c >> 1) : c >> 1;
		crc_table[i] = c;
	}
}

/* zlib's crc32 (Python's zlib.crc32), continued from crc. */
static uint32_t crc32_update(uint32_t crc, const uint8_t *p, size_t n)
{
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

static void fill_random(uint64_t *state, uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i += 8) {
		uint64_t x = *state;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		*state = x;
		memcpy(buf + i, &x, n - i < 8 ? n - i : 8);
	}
}

/* ---- sockets ---- */

static int dial(uint32_t port)
{
	struct sockaddr_vm sa = {.svm_family = AF_VSOCK, .svm_cid = HOST_CID, .svm_port = port};
	int fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static void set_nonblock(int fd)
{
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

/* Reads until EOF, discarding; returns bytes or -errno. */
static long drain(int fd)
{
	static uint8_t buf[CHUNK];
	long total = 0;

	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return -errno;
		if (r == 0)
			return total;
		total += r;
	}
}

/* ---- operations ---- */

/* The guest's own CID, as the device configuration gave it (getsockname
 * on a connected vsock says VMADDR_CID_ANY; /dev/vsock knows). */
static unsigned local_cid(void)
{
	unsigned cid = 0;
	int fd;

	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/vsock", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (ioctl(fd, IOCTL_VM_SOCKETS_GET_LOCAL_CID, &cid) < 0)
		cid = 0;
	close(fd);
	return cid;
}

static void op_send(uint32_t port, uint64_t bytes, uint64_t every)
{
	static uint8_t buf[CHUNK];
	unsigned cid;
	uint64_t state = 0x9e3779b97f4a7c15ull ^ port, sent = 0, next_report = every;
	uint32_t crc = 0;
	uint64_t t0;
	long tail;
	int fd, r = 0;

	t0 = now_ms();
	fd = dial(port);
	if (fd < 0) {
		say("send port=%u error=%d", port, -fd);
		return;
	}
	cid = local_cid();
	while (sent < bytes) {
		size_t n = bytes - sent < CHUNK ? (size_t)(bytes - sent) : CHUNK;

		fill_random(&state, buf, n);
		crc = crc32_update(crc, buf, n);
		r = write_all(fd, buf, n);
		if (r < 0)
			break;
		sent += n;
		if (every && sent >= next_report) {
			say("progress port=%u bytes=%llu", port, (unsigned long long)sent);
			next_report += every;
		}
	}
	shutdown(fd, SHUT_WR);
	tail = drain(fd);
	close(fd);
	say("send port=%u bytes=%llu crc=%08x ms=%llu error=%d eof=%ld cid=%u", port,
	    (unsigned long long)sent, crc, (unsigned long long)(now_ms() - t0), -r, tail, cid);
}

static void op_recv(uint32_t port, uint64_t pause_after, uint64_t pause_ms)
{
	static uint8_t buf[CHUNK];
	uint64_t got = 0, t0 = now_ms();
	uint32_t crc = 0;
	bool paused = !pause_ms;
	int fd = dial(port), err = 0;

	if (fd < 0) {
		say("recv port=%u error=%d", port, -fd);
		return;
	}
	for (;;) {
		size_t want = sizeof(buf);
		ssize_t r;

		if (!paused && got + want > pause_after)
			want = (size_t)(pause_after - got);
		if (!paused && want == 0) {
			say("paused port=%u bytes=%llu", port, (unsigned long long)got);
			usleep((useconds_t)(pause_ms * 1000));
			say("resumed port=%u", port);
			paused = true;
			continue;
		}
		r = read(fd, buf, want);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0) {
			err = r < 0 ? errno : 0;
			break;
		}
		crc = crc32_update(crc, buf, (size_t)r);
		got += (uint64_t)r;
	}
	close(fd);
	say("recv port=%u bytes=%llu crc=%08x ms=%llu error=%d", port, (unsigned long long)got, crc,
	    (unsigned long long)(now_ms() - t0), err);
}

struct echo_conn {
	int fd;
	uint64_t state;
	uint64_t to_send, sent, got;
	uint32_t crc_sent, crc_got;
	uint8_t *chunk;
	size_t chunk_len, chunk_off;
	bool wr_done, eof;
	int err;
};

static void echo_write(struct echo_conn *c)
{
	while (!c->wr_done) {
		ssize_t w;

		if (c->chunk_off == c->chunk_len) {
			size_t n = c->to_send - c->sent < CHUNK ? (size_t)(c->to_send - c->sent)
								: CHUNK;

			if (n == 0) {
				shutdown(c->fd, SHUT_WR);
				c->wr_done = true;
				return;
			}
			fill_random(&c->state, c->chunk, n);
			c->crc_sent = crc32_update(c->crc_sent, c->chunk, n);
			c->chunk_len = n;
			c->chunk_off = 0;
		}
		w = write(c->fd, c->chunk + c->chunk_off, c->chunk_len - c->chunk_off);
		if (w < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				c->err = errno;
				c->wr_done = c->eof = true;
			}
			return;
		}
		c->chunk_off += (size_t)w;
		c->sent += (uint64_t)w;
	}
}

static void echo_read(struct echo_conn *c)
{
	static uint8_t buf[CHUNK];

	for (;;) {
		ssize_t r = read(c->fd, buf, sizeof(buf));

		if (r < 0) {
			if (errno != EAGAIN && errno != EINTR) {
				c->err = errno;
				c->eof = c->wr_done = true;
			}
			return;
		}
		if (r == 0) {
			c->eof = true;
			return;
		}
		c->crc_got = crc32_update(c->crc_got, buf, (size_t)r);
		c->got += (uint64_t)r;
	}
}

/* Drives every connection until all have sent their data and read EOF. */
static void echo_pump(struct echo_conn *conns, unsigned n)
{
	static struct pollfd pfds[MAX_CONNS];

	for (;;) {
		unsigned active = 0;

		for (unsigned i = 0; i < n; i++) {
			pfds[i].fd = conns[i].eof ? -1 : conns[i].fd;
			pfds[i].events = POLLIN | (conns[i].wr_done ? 0 : POLLOUT);
			active += !conns[i].eof;
		}
		if (!active)
			return;
		if (poll(pfds, n, 20000) <= 0) {
			say("echo stalled: no progress in 20 s");
			return;
		}
		for (unsigned i = 0; i < n; i++) {
			if (pfds[i].revents & (POLLOUT | POLLERR | POLLHUP))
				echo_write(&conns[i]);
			if (pfds[i].revents & (POLLIN | POLLERR | POLLHUP))
				echo_read(&conns[i]);
		}
	}
}

static void op_echo(uint32_t port, unsigned nconns, uint64_t bytes)
{
	static struct echo_conn conns[MAX_CONNS];
	unsigned ok = 0, opened = 0;
	uint64_t total = 0, t0 = now_ms();
	int first_err = 0;

	if (nconns > MAX_CONNS)
		nconns = MAX_CONNS;
	say("echo port=%u dialing=%u", port, nconns);
	/* All connections are open before any data moves: they are concurrent. */
	for (unsigned i = 0; i < nconns; i++) {
		struct echo_conn *c = &conns[i];

		memset(c, 0, sizeof(*c));
		c->fd = dial(port);
		if (c->fd < 0) {
			first_err = first_err ? first_err : -c->fd;
			c->eof = c->wr_done = true;
			continue;
		}
		opened++;
		c->state = 0x2545f4914f6cdd1dull ^ ((uint64_t)port << 20) ^ i;
		c->to_send = bytes;
		c->chunk = malloc(CHUNK);
		set_nonblock(c->fd);
	}
	say("echo port=%u opened=%u", port, opened);
	echo_pump(conns, nconns);
	for (unsigned i = 0; i < nconns; i++) {
		struct echo_conn *c = &conns[i];

		if (c->fd < 0)
			continue;
		if (c->err && !first_err)
			first_err = c->err;
		if (!c->err && c->sent == bytes && c->got == bytes && c->crc_got == c->crc_sent)
			ok++;
		total += c->got;
		close(c->fd);
		free(c->chunk);
	}
	say("echo port=%u conns=%u ok=%u bytes=%llu ms=%llu error=%d", port, nconns, ok,
	    (unsigned long long)total, (unsigned long long)(now_ms() - t0), first_err);
}

static void op_refused(uint32_t port)
{
	int fd = dial(port);

	if (fd >= 0) {
		close(fd);
		say("refused port=%u connected=1 errno=0", port);
		return;
	}
	say("refused port=%u connected=0 errno=%d (%s)", port, -fd, strerror(-fd));
}

static void op_midclose(uint32_t port, uint64_t max)
{
	static uint8_t buf[CHUNK];
	uint64_t state = 7, written = 0, t0 = now_ms();
	int fd = dial(port), err = 0;

	if (fd < 0) {
		say("midclose port=%u error=%d", port, -fd);
		return;
	}
	while (written < max) {
		ssize_t w;

		fill_random(&state, buf, sizeof(buf));
		w = write(fd, buf, sizeof(buf));
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			err = errno;
			break;
		}
		written += (uint64_t)w;
	}
	close(fd);
	say("midclose port=%u written=%llu errno=%d ms=%llu", port, (unsigned long long)written,
	    err, (unsigned long long)(now_ms() - t0));
}

/* Echo server: accepts nconns connections and echoes each until EOF. */
static void op_listen(uint32_t port, unsigned nconns)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK, .svm_cid = VMADDR_CID_ANY, .svm_port = port};
	static struct pollfd pfds[MAX_CONNS + 1];
	static struct {
		uint8_t buf[CHUNK];
		size_t len;
		bool eof;
	} bufs[MAX_CONNS];
	unsigned accepted = 0, done = 0;
	uint64_t total = 0;
	int lfd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (nconns > MAX_CONNS)
		nconns = MAX_CONNS;
	if (lfd < 0 || bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(lfd, 64) < 0) {
		say("listen port=%u error=%d", port, errno);
		return;
	}
	set_nonblock(lfd);
	say("listening port=%u", port);
	pfds[0].fd = lfd;
	pfds[0].events = POLLIN;
	while (done < nconns) {
		if (poll(pfds, accepted + 1, 60000) <= 0) {
			say("listen stalled: no progress in 60 s");
			break;
		}
		if (pfds[0].revents & POLLIN) {
			int fd = accept4(lfd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

			if (fd >= 0 && accepted < nconns) {
				/* close() then waits for the host's RST, which the
				 * backend sends once it has passed the echo on:
				 * without it, the power-off after the last close
				 * lost what the guest still had queued. */
				struct linger lg = {.l_onoff = 1, .l_linger = 10};

				setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg));
				accepted++;
				pfds[accepted].fd = fd;
				bufs[accepted - 1].len = 0;
				bufs[accepted - 1].eof = false;
			} else if (fd >= 0) {
				close(fd);
			}
		}
		for (unsigned i = 1; i <= accepted; i++) {
			typeof(&bufs[0]) b = &bufs[i - 1];
			int fd = pfds[i].fd;
			ssize_t n;

			if (fd < 0)
				continue;
			if (b->len > 0) {
				n = write(fd, b->buf, b->len);
				if (n > 0) {
					memmove(b->buf, b->buf + n, b->len - (size_t)n);
					b->len -= (size_t)n;
				} else if (n < 0 && errno != EAGAIN) {
					b->eof = true;
					b->len = 0;
				}
			}
			if (!b->eof && b->len < sizeof(b->buf)) {
				n = read(fd, b->buf + b->len, sizeof(b->buf) - b->len);
				if (n > 0) {
					b->len += (size_t)n;
					total += (uint64_t)n;
				} else if (n == 0 || errno != EAGAIN) {
					b->eof = true;
				}
			}
			if (b->eof && b->len == 0) {
				close(fd);
				pfds[i].fd = -1;
				done++;
				continue;
			}
			pfds[i].events = (b->len ? POLLOUT : 0) |
					 (!b->eof && b->len < sizeof(b->buf) ? POLLIN : 0);
		}
	}
	close(lfd);
	say("listen port=%u conns=%u bytes=%llu", port, done, (unsigned long long)total);
}

static void op_hold(uint32_t port)
{
	char line[64];
	ssize_t n;
	int fd = dial(port);

	if (fd < 0) {
		say("hold port=%u error=%d", port, -fd);
		return;
	}
	if (write_all(fd, (const uint8_t *)"hello\n", 6) < 0) {
		say("hold port=%u write failed", port);
		close(fd);
		return;
	}
	n = read(fd, line, sizeof(line) - 1);
	line[n > 0 ? n : 0] = '\0';
	if (strncmp(line, "reboot", 6) == 0) {
		say("hold port=%u rebooting", port);
		/* The connection stays open: the backend must clean up on reset. */
		reboot(RB_AUTOBOOT);
	}
	if (strncmp(line, "keep", 4) == 0) {
		say("hold port=%u kept", port);
		return; /* fd left open on purpose */
	}
	close(fd);
	say("hold port=%u released", port);
}

/* ---- command line ---- */

static uint64_t num(char **argv, int argc, int i)
{
	return i < argc ? strtoull(argv[i], NULL, 0) : 0;
}

/* Runs the operation starting at argv[0] (argc words, up to the next "+"). */
static void run_op(char **argv, int argc)
{
	const char *op = argv[0];
	uint32_t port = (uint32_t)num(argv, argc, 1);

	if (strcmp(op, "send") == 0)
		op_send(port, num(argv, argc, 2), num(argv, argc, 3));
	else if (strcmp(op, "recv") == 0)
		op_recv(port, num(argv, argc, 2), num(argv, argc, 3));
	else if (strcmp(op, "echo") == 0)
		op_echo(port, (unsigned)num(argv, argc, 2), num(argv, argc, 3));
	else if (strcmp(op, "refused") == 0)
		op_refused(port);
	else if (strcmp(op, "midclose") == 0)
		op_midclose(port, num(argv, argc, 2));
	else if (strcmp(op, "listen") == 0)
		op_listen(port, (unsigned)num(argv, argc, 2));
	else if (strcmp(op, "hold") == 0)
		op_hold(port);
	else if (strcmp(op, "sleep") == 0)
		usleep((useconds_t)(num(argv, argc, 1) * 1000));
	else
		say("unknown-op %s", op);
}

/* The kernel gives PID 1 the console as fds 0-2 when the initramfs has
 * /dev/console; make sure of it either way. */
static void ensure_console(void)
{
	int fd;

	if (fcntl(1, F_GETFD) >= 0)
		return;
	mkdir("/dev", 0755);
	mount("devtmpfs", "/dev", "devtmpfs", 0, NULL);
	fd = open("/dev/console", O_RDWR);
	if (fd < 0)
		return;
	dup2(fd, 0);
	dup2(fd, 1);
	dup2(fd, 2);
	if (fd > 2)
		close(fd);
}

static void load_modules(void)
{
	struct mod_coldplug_result res;
	struct utsname u;
	char dir[300];
	int r;

	mkdir("/sys", 0755);
	mount("sysfs", "/sys", "sysfs", 0, NULL);
	if (uname(&u) < 0)
		return;
	snprintf(dir, sizeof(dir), "%s/%s", INIT_MODULES_DIR, u.release);
	r = init_modules_coldplug(dir, "/sys", INIT_MODULES_MAX_PASSES, init_module_finit, NULL,
				  &res);
	if (r != -ENOENT)
		say("modules loaded=%u failed=%u error=%d", res.loaded, res.failed, r < 0 ? -r : 0);
}

int main(int argc, char **argv)
{
	int start = 1;

	ensure_console();
	crc_init();
	say("start pid=%d", (int)getpid());
	klog_set_ident("vsock-test");
	load_modules();
	for (int i = 1; i <= argc; i++) {
		if (i < argc && strcmp(argv[i], "+") != 0)
			continue;
		if (i > start)
			run_op(argv + start, i - start);
		start = i + 1;
	}
	say("done");
	sync();
	if (getpid() == 1) {
		reboot(RB_POWER_OFF);
		reboot(RB_AUTOBOOT);
	}
	return 0;
}
