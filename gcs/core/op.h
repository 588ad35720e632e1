/* How a runtime operation that finishes later reports to whoever started
 * it (a handler, a test, another front end): the runtime never sees a
 * request. An operation that returns 0 has taken `done` and calls
 * op_finish() exactly once, on the loop thread, possibly before it returns;
 * one that returns a negative errno (err filled) never calls it.
 *
 * `result` points to the operation's typed result, valid only during the
 * call (each operation says which type; NULL when it has none or failed).
 *
 * `wanted` lets an operation that is about to leave something behind which
 * only its result would tell about (a started process, a created container)
 * ask whether anybody still waits for that result: when nobody does (the
 * gcs is shutting down and the request was cancelled) it undoes the thing
 * instead of finishing it. NULL: always wanted.
 *
 * An operation that waits on the loop itself (a timer, not a job: jobs
 * always complete, even when the loop stops) registers with op_on_cancel()
 * how to stop it; when the caller gives up, cancel(op) runs instead of the
 * completion: it must release everything and never call op_finish().
 *
 * An operation that ran runc reports the time runc took (runc_thread_ns()
 * around its calls) with op_add_runc_ns() before op_finish(), so that the
 * caller can tell runc's share of the operation from its own (the handlers
 * log it with the request). NULL hook: nobody asks. */
#ifndef GCS_CORE_OP_H
#define GCS_CORE_OP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

typedef void (*op_done_fn)(void *data, int rc, const struct error *err, const void *result);

struct op_done {
	op_done_fn fn;
	bool (*wanted)(void *data);
	void (*on_cancel)(void *data, void (*cancel)(void *op), void *op);
	void (*add_runc_ns)(void *data, uint64_t ns);
	void *data;
};

static inline bool op_wanted(const struct op_done *d)
{
	return !d->wanted || d->wanted(d->data);
}

static inline void op_on_cancel(const struct op_done *d, void (*cancel)(void *op), void *op)
{
	if (d->on_cancel)
		d->on_cancel(d->data, cancel, op);
}

static inline void op_add_runc_ns(const struct op_done *d, uint64_t ns)
{
	if (d->add_runc_ns)
		d->add_runc_ns(d->data, ns);
}

/* rc < 0 with err NULL or empty is reported as strerror(-rc). */
void op_finish(const struct op_done *d, int rc, const struct error *err, const void *result);

#endif
