/* Logging for /init and vsockexec.
 *
 * No syslog daemon runs in the utility VM, so records go to /dev/kmsg as
 * "<level>ident: message" (the GCS tails kmsg into its own log, and dmesg
 * shows them on a debug console). Notices, warnings and errors are also
 * written to stderr, which for init is the console. */
#ifndef LCOW_INIT_KLOG_H
#define LCOW_INIT_KLOG_H

enum klog_level {
	KLOG_ERR = 3,
	KLOG_WARN = 4,
	KLOG_NOTICE = 5,
	KLOG_INFO = 6,
};

/* Sets the "ident: " prefix of every record ("init", "vsockexec"). */
void klog_set_ident(const char *ident);

/* Turns the /dev/kmsg copy off or on (on by default); the unit tests turn it
 * off so that they leave the build machine's kernel log alone. */
void klog_set_kmsg(int on);

void klog(enum klog_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Formats one record as written to /dev/kmsg; returns its length (truncated
 * to len - 1). Exposed for the unit tests. */
int klog_format(char *buf, unsigned int len, enum klog_level level, const char *msg);

#endif
