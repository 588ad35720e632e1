/* vsock-backend: a vhost-user backend for QEMU's vhost-user-vsock-pci that
 * bridges the guest's AF_VSOCK streams to unix sockets on the host, so the
 * lcow-guest image can run under plain QEMU without /dev/vhost-vsock. */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "device.h"
#include "log.h"
#include "loop.h"
#include "uds.h"
#include "vhost_user.h"
#include "virtio_vsock.h"

#define VIRTIO_F_VERSION_1 32
#define DEFAULT_GUEST_CID 3
#define DEFAULT_BUF_SIZE (256u * 1024)

struct options {
	const char *socket_path;
	const char *uds_prefix;
	uint64_t guest_cid;
	uint32_t buf_size;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: vsock-backend --socket PATH --uds-prefix PREFIX [--guest-cid CID]\n"
		"                     [--buf-size BYTES] [--verbose]\n"
		"\n"
		"A vhost-user backend for QEMU's vhost-user-vsock-pci device that bridges the\n"
		"guest's AF_VSOCK streams to unix sockets (the hybrid vsock convention):\n"
		"  guest connects to (CID 2, port P)  ->  connect to the unix socket PREFIX_P\n"
		"  host connects to PREFIX, writes \"CONNECT P\\n\"  ->  guest listener on port "
		"P;\n"
		"      the backend answers \"OK <host port>\\n\", or closes when nobody listens.\n"
		"\n"
		"  --socket PATH       vhost-user socket QEMU connects to (created here, removed\n"
		"                      once QEMU is connected: one QEMU per backend)\n"
		"  --uds-prefix PREFIX unix socket for host-initiated connections, and the prefix\n"
		"                      of the sockets guest connections go to\n"
		"  --guest-cid CID     the guest's context id (default %d)\n"
		"  --buf-size BYTES    receive buffer (credit) per connection granted to the\n"
		"                      guest (default %u)\n"
		"  --verbose           log every vhost-user request and connection event\n"
		"\n"
		"QEMU (vhost-user needs the guest memory shared, of the size given to -m;\n"
		"start QEMU once PATH exists: it appears only when the backend accepts):\n"
		"  qemu-system-x86_64 -accel tcg -m 512M \\\n"
		"    -object memory-backend-memfd,id=mem,size=512M,share=on \\\n"
		"    -machine q35,memory-backend=mem \\\n"
		"    -chardev socket,id=vsock,path=PATH -device vhost-user-vsock-pci,chardev=vsock "
		"...\n"
		"  (or -numa node,memdev=mem instead of -machine ...,memory-backend=mem)\n"
		"\n"
		"Logs JSON lines on stderr. Exits 0 when QEMU disconnects or on SIGINT/SIGTERM,\n"
		"removing its sockets.\n",
		DEFAULT_GUEST_CID, DEFAULT_BUF_SIZE);
}

static int parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	char *end;
	unsigned long long v;

	errno = 0;
	v = strtoull(s, &end, 0);
	if (errno || end == s || *end || s[0] == '-' || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

static int parse_args(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"socket", required_argument, NULL, 's'},
		{"uds-prefix", required_argument, NULL, 'u'},
		{"guest-cid", required_argument, NULL, 'c'},
		{"buf-size", required_argument, NULL, 'b'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{0},
	};
	uint64_t v;
	int opt;

	while ((opt = getopt_long(argc, argv, "s:u:c:b:vh", longopts, NULL)) != -1) {
		switch (opt) {
		case 's':
			o->socket_path = optarg;
			break;
		case 'u':
			o->uds_prefix = optarg;
			break;
		case 'c':
			/* 0-2 are reserved, the upper 32 bits must be zero. */
			if (parse_u64(optarg, 3, 0xfffffffeu, &o->guest_cid) < 0)
				goto bad;
			break;
		case 'b':
			if (parse_u64(optarg, 4096, 64u << 20, &v) < 0)
				goto bad;
			o->buf_size = (uint32_t)v;
			break;
		case 'v':
			log_level_min = LOG_DEBUG;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind == argc && o->socket_path && o->uds_prefix)
		return 0;
	usage(stderr);
	return -EINVAL;
bad:
	fprintf(stderr, "vsock-backend: invalid value for --%s: %s\n",
		opt == 'c' ? "guest-cid" : "buf-size", optarg);
	return -EINVAL;
}

static void on_signal(struct loop_src *src, uint32_t events)
{
	struct signalfd_siginfo si;

	if (read(src->fd, &si, sizeof(si)) != sizeof(si))
		return;
	log_msgf(LOG_INFO, "signal, exiting", "\"signal\":%u", si.ssi_signo);
	loop_stop();
}

static int watch_signals(struct loop_src *src)
{
	sigset_t set;
	int fd, r;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGHUP);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -errno;
	fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	if (fd < 0)
		return -errno;
	r = loop_add(src, fd, EPOLLIN, on_signal);
	if (r < 0) {
		close(fd);
		return r;
	}
	return fd;
}

static int fail(const char *what, int r)
{
	log_msgf(LOG_ERROR, what, "\"errno\":%d,\"error\":\"%s\"", -r, strerror(-r));
	return r;
}

static int run(const struct options *o)
{
	static struct vu_dev vu;
	struct loop_src sig_src = {.fd = -1};
	struct vsock_cfg cfg = {.guest_cid = o->guest_cid, .buf_size = o->buf_size};
	char a[256], b[256];
	int r, sig_fd;

	r = loop_init();
	if (r < 0)
		return fail("cannot create the event loop", r);
	r = sig_fd = watch_signals(&sig_src);
	if (r < 0) {
		fail("cannot watch signals", r);
		goto out_loop;
	}
	r = uds_init(o->uds_prefix);
	if (r < 0) {
		fail("cannot listen on the uds prefix", r);
		goto out_uds;
	}
	r = vu_listen(&vu, o->socket_path, VSOCK_NUM_VQS, 1ull << VIRTIO_F_VERSION_1,
		      &vsock_vu_ops);
	if (r < 0) {
		fail("cannot listen on the vhost-user socket", r);
		goto out_uds;
	}
	vsock_dev_init(&vu, &cfg);
	log_msgf(LOG_INFO, "listening",
		 "\"socket\":\"%s\",\"uds_prefix\":\"%s\",\"guest_cid\":%llu,\"buf_size\":%u",
		 log_str(o->socket_path, a, sizeof(a)), log_str(o->uds_prefix, b, sizeof(b)),
		 (unsigned long long)o->guest_cid, o->buf_size);
	r = loop_run(vsock_dev_after_events);
	if (r < 0)
		fail("event loop failed", r);
	vsock_dev_fini();
	vu_close(&vu);
out_uds:
	uds_fini();
	if (sig_fd >= 0) {
		loop_del(&sig_src);
		close(sig_fd);
	}
out_loop:
	loop_fini();
	log_msg(LOG_INFO, r < 0 ? "failed" : "exited");
	return r;
}

int main(int argc, char **argv)
{
	struct options o = {.guest_cid = DEFAULT_GUEST_CID, .buf_size = DEFAULT_BUF_SIZE};

	if (parse_args(argc, argv, &o) < 0)
		return 2;
	return run(&o) < 0 ? 1 : 0;
}
