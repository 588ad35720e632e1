#include "steps.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>
#include <linux/random.h>

#include "cleanup.h"
#include "klog.h"
#include "options.h"
#include "transport.h"

/* The host sends 512 bytes and closes; these bound a host that misbehaves,
 * so that seeding can never hold the boot up for long. */
#define ENTROPY_TIMEOUT_SEC 5
#define ENTROPY_MAX_BYTES (1u << 20)

/* struct rand_pool_info with room for one chunk. */
struct entropy_chunk {
	int entropy_count; /* bits */
	int buf_size;	   /* bytes */
	unsigned char buf[4096];
};

static int entropy_dial(uint32_t port)
{
	struct timeval tv = {.tv_sec = ENTROPY_TIMEOUT_SEC};
	struct transport t;
	char where[128];
	int fd, r;

	r = transport_from_env(&t);
	if (r < 0) {
		klog(KLOG_WARN, "entropy: bad %s: %s", TRANSPORT_ENV, strerror(-r));
		return r;
	}
	fd = transport_dial(&t, port);
	if (fd < 0) {
		transport_describe(&t, port, where, sizeof(where));
		klog(KLOG_WARN, "entropy: connect %s: %s", where, strerror(-fd));
		return fd;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Feeds everything the host sends into the pool, crediting 8 bits a byte
 * (the host's bytes come from its own CSPRNG). */
static int entropy_feed(int sock, int rnd, size_t *total)
{
	struct entropy_chunk c;
	ssize_t n;

	*total = 0;
	while (*total < ENTROPY_MAX_BYTES) {
		n = read(sock, c.buf, sizeof(c.buf));
		if (n == 0)
			return 0;
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		c.entropy_count = (int)n * 8;
		c.buf_size = (int)n;
		if (ioctl(rnd, RNDADDENTROPY, &c) < 0)
			return -errno;
		*total += n;
	}
	return 0;
}

int init_entropy_seed(const struct init_options *o)
{
	_cleanup_close_ int sock = -1, rnd = -1;
	size_t total = 0;
	int r;

	sock = entropy_dial(o->entropy_port);
	if (sock < 0)
		return sock;
	rnd = open("/dev/random", O_RDWR | O_CLOEXEC);
	if (rnd < 0) {
		r = -errno;
		klog(KLOG_WARN, "entropy: open /dev/random: %s", strerror(-r));
		return r;
	}
	r = entropy_feed(sock, rnd, &total);
	if (r < 0)
		klog(KLOG_WARN, "entropy: after %zu bytes: %s", total, strerror(-r));
	else
		klog(KLOG_INFO, "entropy: added %zu bytes from port %u", total, o->entropy_port);
	return r;
}
