#include "klog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define KLOG_MSG_MAX 512

static const char *klog_ident = "init";
static int klog_kmsg_on = 1;

void klog_set_ident(const char *ident)
{
	klog_ident = ident;
}

void klog_set_kmsg(int on)
{
	klog_kmsg_on = on;
}

int klog_format(char *buf, unsigned int len, enum klog_level level, const char *msg)
{
	int n = snprintf(buf, len, "<%d>%s: %s\n", (int)level, klog_ident, msg);

	if (n < 0)
		return 0;
	if ((unsigned int)n >= len) {
		/* Keep the record one line even when cut short. */
		n = (int)len - 1;
		buf[n - 1] = '\n';
	}
	return n;
}

/* /dev/kmsg rate-limits each open file to a burst of 10 records, so open it
 * per record (records are few: one per boot decision) rather than keeping
 * one descriptor and losing the later ones. */
static void klog_kmsg(const char *rec, int len)
{
	int fd = open("/dev/kmsg", O_WRONLY | O_CLOEXEC | O_NOCTTY);

	if (fd < 0)
		return; /* /dev not mounted yet: stderr has to do */
	if (write(fd, rec, len) < 0) {
		/* Nothing better to report it to. */
	}
	close(fd);
}

static void klog_stderr(const char *msg)
{
	char line[KLOG_MSG_MAX + 64];
	int n = snprintf(line, sizeof(line), "%s: %s\n", klog_ident, msg);

	if (n >= (int)sizeof(line)) {
		n = sizeof(line) - 1;
		line[n - 1] = '\n';
	}
	if (n > 0 && write(STDERR_FILENO, line, n) < 0) {
		/* No console: nothing to do. */
	}
}

void klog(enum klog_level level, const char *fmt, ...)
{
	char msg[KLOG_MSG_MAX], rec[KLOG_MSG_MAX + 64];
	int saved = errno, len;
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	len = klog_format(rec, sizeof(rec), level, msg);
	if (klog_kmsg_on)
		klog_kmsg(rec, len);
	if (level <= KLOG_NOTICE)
		klog_stderr(msg);
	errno = saved;
}
