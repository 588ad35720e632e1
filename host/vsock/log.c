#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

enum log_level log_level_min = LOG_INFO;

static const char *const level_names[] = {
	[LOG_DEBUG] = "debug",
	[LOG_INFO] = "info",
	[LOG_WARN] = "warning",
	[LOG_ERROR] = "error",
};

const char *log_str(const char *s, char *buf, size_t len)
{
	size_t o = 0;

	for (; *s && o + 7 < len; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\') {
			buf[o++] = '\\';
			buf[o++] = (char)ch;
		} else if (ch < 0x20) {
			o += (size_t)snprintf(buf + o, len - o, "\\u%04x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	buf[o] = '\0';
	return buf;
}

static void log_prefix(char *buf, size_t len, enum log_level level, const char *msg)
{
	struct timespec ts;
	struct tm tm;
	char text[512];

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	snprintf(buf, len,
		 "{\"time\":\"%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ\",\"level\":\"%s\",\"msg\":\"%"
		 "s\"",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 ts.tv_nsec / 1000000, level_names[level], log_str(msg, text, sizeof(text)));
}

void log_msg(enum log_level level, const char *msg)
{
	char line[1024];

	if (level < log_level_min)
		return;
	log_prefix(line, sizeof(line), level, msg);
	/* One fprintf per line: lines from one process never interleave. */
	fprintf(stderr, "%s}\n", line);
}

void log_msgf(enum log_level level, const char *msg, const char *fields, ...)
{
	char line[1024], extra[1024];
	va_list ap;

	if (level < log_level_min)
		return;
	log_prefix(line, sizeof(line), level, msg);
	va_start(ap, fields);
	vsnprintf(extra, sizeof(extra), fields, ap);
	va_end(ap);
	fprintf(stderr, "%s,%s}\n", line, extra);
}
