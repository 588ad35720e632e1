/* Logging: one line per entry on stderr (the host's vsock 109 stream) or on
 * -logfile, as hcsshim's host parser reads it: in json format each line is a
 * JSON object {"time": RFC 3339 with nanoseconds, "level": logrus level name,
 * "msg": text, other keys: fields}; in text format logrus-style key=value.
 * Nothing else may ever be written to that stream (gcs/core/crash.c turns fatal
 * signals into a last JSON line). Thread-safe: one line is written whole. */
#ifndef GCS_CORE_LOG_H
#define GCS_CORE_LOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cleanup.h"
#include "error.h"

enum log_level {
	LOG_PANIC,
	LOG_FATAL,
	LOG_ERROR,
	LOG_WARN,
	LOG_INFO,
	LOG_DEBUG,
	LOG_TRACE
};
enum log_format {
	LOG_FORMAT_TEXT,
	LOG_FORMAT_JSON
};

struct log_field {
	const char *key;
	enum {
		LOG_F_STR,
		LOG_F_INT,
		LOG_F_UINT,
		LOG_F_BOOL
	} type;
	union {
		const char *s;
		int64_t i;
		uint64_t u;
		bool b;
	};
};

#define LOG_STR(k, v) ((struct log_field){.key = (k), .type = LOG_F_STR, .s = (v)})
#define LOG_INT(k, v) ((struct log_field){.key = (k), .type = LOG_F_INT, .i = (int64_t)(v)})
#define LOG_UINT(k, v) ((struct log_field){.key = (k), .type = LOG_F_UINT, .u = (uint64_t)(v)})
#define LOG_BOOL(k, v) ((struct log_field){.key = (k), .type = LOG_F_BOOL, .b = (v)})
/* log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("cid", id), LOG_UINT("pid", p)), "..."); */
#define LOG_FIELDS(...)                                                                            \
	((const struct log_field[]){__VA_ARGS__}),                                                 \
		ARRAY_SIZE(((const struct log_field[]){__VA_ARGS__}))

/* Sets format, threshold and destination (default: text, info, fd 2). */
void log_configure(enum log_format format, enum log_level level, int fd);
enum log_format log_get_format(void);
int log_get_fd(void);

/* logrus.ParseLevel: trace, debug, info, warn(ing), error, fatal, panic, any
 * case. Returns 0 or -EINVAL. */
int log_parse_level(const char *s, enum log_level *out);
/* The name logrus writes: "warning" for LOG_WARN. */
const char *log_level_name(enum log_level level);
bool log_enabled(enum log_level level);

/* -scrub-logs: callers logging request contents (environment variables,
 * bodies) check this first. */
void log_set_scrub(bool scrub);
bool log_scrub(void);

void log_fields(enum log_level level, const struct log_field *fields, size_t n, const char *fmt,
		...) __attribute__((format(printf, 4, 5)));

#define log_error(...) log_fields(LOG_ERROR, NULL, 0, __VA_ARGS__)
#define log_warn(...) log_fields(LOG_WARN, NULL, 0, __VA_ARGS__)
#define log_info(...) log_fields(LOG_INFO, NULL, 0, __VA_ARGS__)
#define log_debug(...) log_fields(LOG_DEBUG, NULL, 0, __VA_ARGS__)
#define log_trace(...) log_fields(LOG_TRACE, NULL, 0, __VA_ARGS__)

/* json mode: the log moves to a duplicate of its fd, and fd 2 becomes a
 * pipe read by a small thread that turns every stray line (a library's
 * message, a child inheriting stderr) into a JSON entry {"source":"stderr"}.
 * So nothing but JSON lines ever reaches the host. Not used in sanitizer
 * builds, whose reports must reach fd 2 whole. */
int log_capture_stderr(struct error *err);

/* RFC 3339 UTC time with nanoseconds, e.g. 2024-05-01T10:00:00.123456789Z,
 * into buf (at least LOG_TIME_LEN + 1 bytes). Async-signal-safe. */
#define LOG_TIME_LEN 30
void log_format_time(char *buf, int64_t sec, long nsec);

/* Hands the writing of lines to a thread of their own (gcs/core/
 * log_writer.c): a caller no longer waits for the log stream, only for room
 * in a bounded queue. Until then each caller writes its line itself. An
 * exit() waits for the queue to be written. */
int log_writer_start(struct error *err);
/* Returns once every line logged so far is written. */
void log_flush(void);

/* For gcs/core/crash.c (async-signal-safe): finishes what another write
 * left half-written and writes what is queued, then `line` (a complete
 * line), to the log fd. */
void log_emergency_write(const char *line, size_t len);

#endif
