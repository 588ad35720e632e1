/* runc's error text: where to find it and what kind of error it is. */
#include "runc/runc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* True if msg contains "container <tail>" or "container <word> <tail>":
 * runc 1.1 says "container does not exist", older ones quote the id
 * ("container \"c1\" does not exist"). Other text that merely ends in
 * "does not exist" (a missing rootfs path) is not a missing container. */
static bool container_phrase(const char *msg, const char *tail)
{
	static const char word[] = "container ";
	const size_t wl = sizeof(word) - 1;

	for (const char *p = strstr(msg, tail); p; p = strstr(p + 1, tail)) {
		const char *q = p;

		if ((size_t)(q - msg) >= wl && !strncmp(q - wl, word, wl))
			return true;
		/* Skip one word (the id) and its space. */
		if (q == msg || q[-1] != ' ')
			continue;
		q--;
		while (q > msg && q[-1] != ' ')
			q--;
		if ((size_t)(q - msg) >= wl && !strncmp(q - wl, word, wl))
			return true;
	}
	return false;
}

enum error_kind runc_error_kind(const char *msg)
{
	if (strcasestr(msg, "invalid id format") || strcasestr(msg, "invalid container id"))
		return ERR_INVALID_ARG;
	if (strstr(msg, "container with id exists") ||
	    strstr(msg, "container with given ID already exists") ||
	    container_phrase(msg, "already exists"))
		return ERR_EXISTS;
	if (container_phrase(msg, "does not exist"))
		return ERR_NO_CONTAINER;
	if (strstr(msg, "that is not stopped") || strstr(msg, "container still running"))
		return ERR_INVALID_STATE;
	if (container_phrase(msg, "not running"))
		return ERR_ALREADY_STOPPED;
	return ERR_FAIL;
}

static bool error_level(const char *level)
{
	return !strcmp(level, "error") || !strcmp(level, "fatal") || !strcmp(level, "panic");
}

static void copy_trimmed(char *dst, size_t size, const char *src, size_t len)
{
	while (len > 0 && strchr(" \t\r\n", src[len - 1]))
		len--;
	while (len > 0 && strchr(" \t\r\n", *src)) {
		src++;
		len--;
	}
	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

bool runc_log_last_error(const char *log, size_t len, char *msg, size_t size)
{
	bool found = false;
	const char *p = log, *end = log + len;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);
		struct json_tokener *tok = json_tokener_new();
		struct json_object *o = tok ? json_tokener_parse_ex(tok, p, (int)ll) : NULL, *lv,
				   *mv;

		if (o && json_object_object_get_ex(o, "level", &lv) &&
		    json_object_object_get_ex(o, "msg", &mv) &&
		    json_object_is_type(mv, json_type_string) &&
		    error_level(json_object_get_string(lv))) {
			copy_trimmed(msg, size, json_object_get_string(mv),
				     (size_t)json_object_get_string_len(mv));
			found = true;
		}
		json_object_put(o);
		if (tok)
			json_tokener_free(tok);
		p += ll + 1;
	}
	return found;
}

/* The value of key=value in a logrus text line, unquoting "..." (Go %q). */
static bool logfmt_value(const char *line, size_t len, const char *key, char *out, size_t size)
{
	size_t kl = strlen(key), o = 0;
	const char *end = line + len, *p;

	for (p = line; p + kl < end; p++)
		if ((p == line || p[-1] == ' ') && !strncmp(p, key, kl) && p[kl] == '=')
			break;
	if (p + kl >= end)
		return false;
	p += kl + 1;
	if (p < end && *p == '"') {
		for (p++; p < end && *p != '"' && o + 1 < size; p++) {
			char c = *p;

			if (c == '\\' && p + 1 < end) {
				c = *++p;
				c = c == 'n' ? '\n' : c == 't' ? '\t' : c;
			}
			out[o++] = c;
		}
	} else {
		while (p < end && *p != ' ' && o + 1 < size)
			out[o++] = *p++;
	}
	out[o] = '\0';
	return true;
}

bool runc_stderr_message(const char *text, size_t len, char *msg, size_t size)
{
	const char *p = text, *end = text + len;
	bool logrus = false, any = false;
	char level[16];

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) : (size_t)(end - p);

		if (logfmt_value(p, ll, "level", level, sizeof(level))) {
			if (error_level(level) && logfmt_value(p, ll, "msg", msg, size))
				logrus = true;
		} else if (!logrus && strspn(p, " \t\r") < ll) {
			copy_trimmed(msg, size, p, ll);
			any = true;
		}
		p += ll + 1;
	}
	return logrus || any;
}
