#include "core/log_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "core/thread.h"
#include "core/utf8.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define LOG_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define LOG_SANITIZED 1
#endif
#endif

static struct {
	enum log_format format;
	enum log_level level;
	int fd;
	bool scrub;
} g = {
	.format = LOG_FORMAT_TEXT,
	.level = LOG_INFO,
	.fd = 2,
	.scrub = true,
};

static const char *const level_names[] = {
	[LOG_PANIC] = "panic", [LOG_FATAL] = "fatal", [LOG_ERROR] = "error", [LOG_WARN] = "warning",
	[LOG_INFO] = "info",   [LOG_DEBUG] = "debug", [LOG_TRACE] = "trace",
};

void log_configure(enum log_format format, enum log_level level, int fd)
{
	g.format = format;
	g.level = level;
	g.fd = fd;
}

enum log_format log_get_format(void)
{
	return g.format;
}

int log_get_fd(void)
{
	return g.fd;
}

int log_parse_level(const char *s, enum log_level *out)
{
	if (strcasecmp(s, "warn") == 0) {
		*out = LOG_WARN;
		return 0;
	}
	for (size_t i = 0; i < ARRAY_SIZE(level_names); i++) {
		if (strcasecmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

const char *log_level_name(enum log_level level)
{
	return (unsigned)level < ARRAY_SIZE(level_names) ? level_names[level] : "info";
}

bool log_enabled(enum log_level level)
{
	return level <= g.level;
}

void log_set_scrub(bool scrub)
{
	g.scrub = scrub;
}

bool log_scrub(void)
{
	return g.scrub;
}

/* Civil date from days since 1970-01-01 (Howard Hinnant's algorithm): no
 * locale, no locks, so the crash handler can use it. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	int64_t era, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	yoe = z - era * 146097;
	yoe = (yoe - yoe / 1460 + yoe / 36524 - yoe / 146096) / 365;
	doy = z - era * 146097 - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (unsigned)(doy - (153 * mp + 2) / 5 + 1);
	*m = (unsigned)(mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

static char *put_num(char *p, uint64_t v, int width)
{
	for (int i = width - 1; i >= 0; i--) {
		p[i] = (char)('0' + v % 10);
		v /= 10;
	}
	return p + width;
}

void log_format_time(char *buf, int64_t sec, long nsec)
{
	int64_t days = sec / 86400, rem = sec % 86400, y;
	unsigned m, d;
	char *p = buf;

	if (rem < 0) {
		rem += 86400;
		days--;
	}
	civil_from_days(days, &y, &m, &d);
	p = put_num(p, (uint64_t)(y < 0 ? 0 : y > 9999 ? 9999 : y), 4);
	*p++ = '-';
	p = put_num(p, m, 2);
	*p++ = '-';
	p = put_num(p, d, 2);
	*p++ = 'T';
	p = put_num(p, (uint64_t)(rem / 3600), 2);
	*p++ = ':';
	p = put_num(p, (uint64_t)(rem / 60 % 60), 2);
	*p++ = ':';
	p = put_num(p, (uint64_t)(rem % 60), 2);
	*p++ = '.';
	p = put_num(p, (uint64_t)nsec, 9);
	*p++ = 'Z';
	*p = '\0';
}

/* line is the caller's to change: invalid UTF-8 (a file name, a tool's
 * output) is replaced before it reaches the host's log parser. */
static void emit(char *line, size_t len)
{
	utf8_scrub(line, len);
	log_write_line(line, len);
}

static struct json_object *field_value(const struct log_field *f)
{
	switch (f->type) {
	case LOG_F_STR:
		return json_object_new_string(f->s ? f->s : "");
	case LOG_F_INT:
		return json_object_new_int64(f->i);
	case LOG_F_UINT:
		return json_object_new_uint64(f->u);
	case LOG_F_BOOL:
		return json_object_new_boolean(f->b);
	}
	return NULL;
}

static void emit_json(const char *time, enum log_level level, const struct log_field *fields,
		      size_t n, const char *msg)
{
	struct json_object *o = json_object_new_object();
	const char *s;
	size_t len;
	char *line;

	if (!o)
		return;
	json_object_object_add(o, "time", json_object_new_string(time));
	json_object_object_add(o, "level", json_object_new_string(log_level_name(level)));
	json_object_object_add(o, "msg", json_object_new_string(msg));
	for (size_t i = 0; i < n; i++) {
		char key[128];
		const char *k = fields[i].key;

		/* As logrus does: a field may not hide a standard key. */
		if (!strcmp(k, "time") || !strcmp(k, "level") || !strcmp(k, "msg")) {
			snprintf(key, sizeof(key), "fields.%s", k);
			k = key;
		}
		json_object_object_add(o, k, field_value(&fields[i]));
	}
	s = json_object_to_json_string_length(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &len);
	line = malloc(len + 1);
	if (line) {
		memcpy(line, s, len);
		line[len] = '\n';
		emit(line, len + 1);
		free(line);
	}
	json_object_put(o);
}

/* logrus text format: quote values that are empty or hold special bytes. */
static void text_value(FILE *f, const char *s)
{
	bool quote = !*s;

	for (const char *p = s; *p && !quote; p++)
		quote = (unsigned char)*p <= ' ' || *p == '"' || *p == '=' || *p == '\\' ||
			(unsigned char)*p >= 0x7f;
	if (!quote) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (const char *p = s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else if ((unsigned char)*p < ' ')
			fprintf(f, "\\x%02x", (unsigned char)*p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void emit_text(const char *time, enum log_level level, const struct log_field *fields,
		      size_t n, const char *msg)
{
	char *line = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&line, &len);

	if (!f)
		return;
	fprintf(f, "time=\"%s\" level=%s msg=", time, log_level_name(level));
	text_value(f, msg);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, " %s=", fields[i].key);
		switch (fields[i].type) {
		case LOG_F_STR:
			text_value(f, fields[i].s ? fields[i].s : "");
			break;
		case LOG_F_INT:
			fprintf(f, "%lld", (long long)fields[i].i);
			break;
		case LOG_F_UINT:
			fprintf(f, "%llu", (unsigned long long)fields[i].u);
			break;
		case LOG_F_BOOL:
			fputs(fields[i].b ? "true" : "false", f);
			break;
		}
	}
	fputc('\n', f);
	if (fclose(f) == 0)
		emit(line, len);
	free(line);
}

void log_fields(enum log_level level, const struct log_field *fields, size_t n, const char *fmt,
		...)
{
	char small[512], *msg = small, *heap = NULL, time[LOG_TIME_LEN + 1];
	struct timespec ts;
	va_list ap;
	int len;

	if (!log_enabled(level))
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	log_format_time(time, ts.tv_sec, ts.tv_nsec);
	va_start(ap, fmt);
	len = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (len >= (int)sizeof(small)) {
		va_start(ap, fmt);
		if (vasprintf(&heap, fmt, ap) >= 0)
			msg = heap;
		else
			heap = NULL;
		va_end(ap);
	}
	/* The host drops an entry without a message. */
	if (!*msg)
		msg = "(empty)";
	if (g.format == LOG_FORMAT_JSON)
		emit_json(time, level, fields, n, msg);
	else
		emit_text(time, level, fields, n, msg);
	free(heap);
}

#define STRAY_LINE_MAX 4096

int log_thread_start(void *(*fn)(void *), void *arg)
{
	pthread_t th;
	int rc = thread_start(&th, 64 * 1024, fn, arg);

	if (rc == 0)
		pthread_detach(th);
	return rc;
}

static void stray_line(char *line, size_t len)
{
	while (len && (line[len - 1] == '\r' || line[len - 1] == '\n'))
		len--;
	line[len] = '\0';
	if (len)
		log_fields(LOG_ERROR, LOG_FIELDS(LOG_STR("source", "stderr")), "%s", line);
}

static void *stray_reader(void *arg)
{
	int fd = (int)(intptr_t)arg;
	char buf[STRAY_LINE_MAX + 1];
	size_t len = 0;
	ssize_t n;

	while ((n = read(fd, buf + len, STRAY_LINE_MAX - len)) != 0) {
		char *nl;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		len += (size_t)n;
		while ((nl = memchr(buf, '\n', len))) {
			size_t one = (size_t)(nl - buf) + 1;

			stray_line(buf, one - 1);
			memmove(buf, buf + one, len - one);
			len -= one;
		}
		if (len == STRAY_LINE_MAX) {
			stray_line(buf, len);
			len = 0;
		}
	}
	stray_line(buf, len);
	close(fd);
	return NULL;
}

int log_capture_stderr(struct error *err)
{
	int p[2], logfd = g.fd, rc;

#ifdef LOG_SANITIZED
	return 0;
#endif
	if (pipe2(p, O_CLOEXEC) < 0)
		return error_errno(err, errno, "pipe");
	/* With -logfile the log is elsewhere, but fd 2 (the host's log
	 * stream) must stay clean all the same. */
	if (logfd == 2)
		logfd = fcntl(2, F_DUPFD_CLOEXEC, 3);
	if (logfd < 0) {
		rc = error_errno(err, errno, "dup stderr");
		goto fail;
	}
	rc = log_thread_start(stray_reader, (void *)(intptr_t)p[0]);
	if (rc != 0) {
		if (logfd != g.fd)
			close(logfd);
		rc = error_errno(err, rc, "start the stderr reader");
		goto fail;
	}
	g.fd = logfd;
	/* fd 2 (inherited by children, no CLOEXEC) is now the pipe. */
	dup2(p[1], 2);
	close(p[1]);
	return 0;
fail:
	close(p[0]);
	close(p[1]);
	return rc;
}
