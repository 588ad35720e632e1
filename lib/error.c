#include "error.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static int error_return(const struct error *e)
{
	return e->errnum ? -e->errnum : -EIO;
}

int error_set(struct error *e, enum error_kind kind, int errnum, const char *fmt, ...)
{
	va_list ap;

	e->kind = kind;
	e->errnum = errnum < 0 ? -errnum : errnum;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	return error_return(e);
}

int error_errno(struct error *e, int errnum, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	e->kind = ERR_FAIL;
	e->errnum = errnum < 0 ? -errnum : errnum;
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	n = strlen(e->msg);
	if (e->errnum && n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - n, ": %s", strerror(e->errnum));
	return error_return(e);
}

int error_prefix(struct error *e, const char *fmt, ...)
{
	char old[ERROR_MSG_MAX];
	va_list ap;
	int n;

	memcpy(old, e->msg, sizeof(old));
	va_start(ap, fmt);
	n = vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
	if (n >= 0 && (size_t)n < sizeof(e->msg))
		snprintf(e->msg + n, sizeof(e->msg) - (size_t)n, ": %.*s",
			 (int)(sizeof(e->msg) - (size_t)n), old);
	return error_return(e);
}

void error_clear(struct error *e)
{
	e->kind = ERR_FAIL;
	e->errnum = 0;
	e->msg[0] = '\0';
}

void error_copy(struct error *dst, const struct error *src)
{
	if (src)
		*dst = *src;
	else
		error_clear(dst);
}
