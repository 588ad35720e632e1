/* JSON-lines logging on stderr, the format every lcow-guest program uses:
 * {"time":…,"level":…,"msg":…, fields…}. */
#ifndef VSOCK_LOG_H
#define VSOCK_LOG_H

#include <stddef.h>

enum log_level {
	LOG_DEBUG,
	LOG_INFO,
	LOG_WARN,
	LOG_ERROR,
};

extern enum log_level log_level_min;

/* msg is a constant text; fields, when given, is a printf format producing
 * JSON members such as "\"port\":%u". */
void log_msg(enum log_level level, const char *msg);
void log_msgf(enum log_level level, const char *msg, const char *fields, ...)
	__attribute__((format(printf, 3, 4)));

/* Escapes s for use inside a JSON string; returns buf. */
const char *log_str(const char *s, char *buf, size_t len);

#define log_debugf(...)                                                                            \
	do {                                                                                       \
		if (log_level_min <= LOG_DEBUG)                                                    \
			log_msgf(LOG_DEBUG, __VA_ARGS__);                                          \
	} while (0)

#endif
