/* The error value carried upward by every function that can fail.
 *
 * Deep code records what went wrong (a kind, an errno, a message) and returns
 * a negative errno; callers add context with error_prefix(). Only the bridge
 * turns a kind into an HRESULT (gcs/bridge/hresult.c), so nothing below it knows
 * about the wire. */
#ifndef LCOW_ERROR_H
#define LCOW_ERROR_H

enum error_kind {
	ERR_FAIL = 0,	      /* anything without a more specific meaning */
	ERR_INVALID_ARG,      /* a bad value in a request */
	ERR_BAD_JSON,	      /* a body or nested JSON that does not parse */
	ERR_NOT_FOUND,	      /* unknown process / pid gone (kill: ESRCH) */
	ERR_NO_CONTAINER,     /* unknown container id */
	ERR_EXISTS,	      /* container id already in use */
	ERR_INVALID_STATE,    /* container still being created / still running */
	ERR_ALREADY_STOPPED,  /* container not running */
	ERR_TIMEOUT,	      /* a wait timed out */
	ERR_NOT_IMPLEMENTED,  /* unsupported message or operation */
	ERR_PROTOCOL_VERSION, /* no common protocol version */
};

#define ERROR_MSG_MAX 1024

struct error {
	enum error_kind kind;
	int errnum; /* positive errno, 0 when none applies */
	char msg[ERROR_MSG_MAX];
};

/* Records an error and returns -errnum (-EIO when errnum is 0). */
int error_set(struct error *e, enum error_kind kind, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* error_set(e, ERR_FAIL, errnum, ...) with ": strerror(errnum)" appended. */
int error_errno(struct error *e, int errnum, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Prepends context ("mount /x: " + existing message); returns -errnum. */
int error_prefix(struct error *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

void error_clear(struct error *e);

/* *dst = *src, or a cleared error when src is NULL (a job that succeeded). */
void error_copy(struct error *dst, const struct error *src);

#endif
