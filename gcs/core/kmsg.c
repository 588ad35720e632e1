#include "core/kmsg.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"

#define KMSG_RECORD_MAX 8192

/* One reader per process. */
static struct kmsg {
	int fd;
	unsigned max_priority;
	struct loop_watch *watch;
	char buf[KMSG_RECORD_MAX];
} kmsg = {.fd = -1};

/* Kernel priority (0 emerg .. 7 debug) to the log level the reference maps
 * it to. */
static enum log_level level_of(unsigned prio)
{
	if (prio <= 3)
		return LOG_ERROR;
	if (prio == 4)
		return LOG_WARN;
	if (prio <= 6)
		return LOG_INFO;
	return LOG_DEBUG;
}

/* "<prefix>,<seq>,<usec>,<flags>[,...];<text>\n[ KEY=value\n...]" */
static void one_record(struct kmsg *k, size_t len)
{
	char *semi, *nl, *p = k->buf;
	unsigned long long prefix, seq, usec;

	k->buf[len] = '\0';
	semi = strchr(p, ';');
	if (!semi)
		return;
	prefix = strtoull(p, &p, 10);
	seq = *p == ',' ? strtoull(p + 1, &p, 10) : 0;
	usec = *p == ',' ? strtoull(p + 1, &p, 10) : 0;
	nl = strchr(semi + 1, '\n');
	if (nl)
		*nl = '\0';
	if ((prefix & 7) > k->max_priority)
		return;
	log_fields(level_of(prefix & 7),
		   LOG_FIELDS(LOG_STR("source", "kmsg"), LOG_UINT("priority", prefix & 7),
			      LOG_UINT("seq", seq), LOG_UINT("usec", usec)),
		   "%s", semi + 1);
}

static void on_kmsg(struct loop *l, int fd, uint32_t events, void *data)
{
	struct kmsg *k = data;

	for (int i = 0; i < 64; i++) {
		ssize_t n = read(fd, k->buf, sizeof(k->buf) - 1);

		if (n > 0) {
			one_record(k, (size_t)n);
			continue;
		}
		/* EPIPE: records were overwritten before we read them. */
		if (n < 0 && (errno == EPIPE || errno == EINTR))
			continue;
		if (n < 0 && errno == EAGAIN)
			return;
		log_warn("kmsg: read: %s; kernel messages are no longer forwarded",
			 n < 0 ? strerror(errno) : "end of file");
		kmsg_stop();
		return;
	}
}

int kmsg_start(struct loop *l, unsigned max_priority, struct error *err)
{
	struct kmsg *k = &kmsg;

	if (k->fd >= 0)
		return error_set(err, ERR_FAIL, EBUSY, "kmsg is already forwarded");
	k->max_priority = max_priority;
	k->fd = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (k->fd < 0)
		return error_errno(err, errno, "open /dev/kmsg");
	k->watch = loop_watch_add(l, k->fd, EPOLLIN, on_kmsg, k, err);
	if (!k->watch) {
		close(k->fd);
		k->fd = -1;
		return -EIO;
	}
	return 0;
}

void kmsg_stop(void)
{
	if (kmsg.fd < 0)
		return;
	loop_watch_remove(kmsg.watch);
	close(kmsg.fd);
	kmsg.fd = -1;
	kmsg.watch = NULL;
}
