/* The WaitForProcess requests pending on one process (gcs/handlers/waiters.h). */
#include "handlers/waiters.h"

#include <errno.h>
#include <stdlib.h>

#include "gcs.pb-c.h"
#include "core/loop.h"

struct waiter {
	struct request *req;
	struct waiters *ws;
	pid_t pid;
	struct loop_timer *timer; /* finite TimeoutInMs */
	struct waiter *next;
};

static int still_running(struct error *err, pid_t pid)
{
	return error_set(err, ERR_TIMEOUT, ETIMEDOUT, "WaitForProcess: process %d still running",
			 (int)pid);
}

static void unlink_waiter(struct waiter *w)
{
	for (struct waiter **pp = &w->ws->head; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

/* Unlinks the first waiter and cancels its timer; the caller completes
 * its request and frees it. */
static struct waiter *pop(struct waiters *ws)
{
	struct waiter *w = ws->head;

	ws->head = w->next;
	loop_timer_cancel(w->timer);
	return w;
}

int waiters_reply_exit(struct request *req, uint32_t exitcode)
{
	Gcs__ContainerWaitForProcessResponse resp = GCS__CONTAINER_WAIT_FOR_PROCESS_RESPONSE__INIT;

	resp.exitcode = exitcode;
	return request_reply(req, &resp.base);
}

bool waiters_answer(struct waiters *ws, uint32_t exitcode)
{
	bool answered = ws->head != NULL;

	while (ws->head) {
		struct waiter *w = pop(ws);

		waiters_reply_exit(w->req, exitcode);
		free(w);
	}
	return answered;
}

void waiters_fail(struct waiters *ws, const struct error *err)
{
	while (ws->head) {
		struct waiter *w = pop(ws);

		request_fail(w->req, err);
		free(w);
	}
}

unsigned waiters_count(const struct waiters *ws)
{
	unsigned n = 0;

	for (const struct waiter *w = ws->head; w; w = w->next)
		n++;
	return n;
}

static void on_timeout(struct loop *l, void *data)
{
	struct waiter *w = data;
	struct error err;

	w->timer = NULL;
	unlink_waiter(w);
	still_running(&err, w->pid);
	request_fail(w->req, &err);
	free(w);
}

/* The gcs is shutting down: let go of the request without answering. */
static void on_cancel(struct request *req, void *data)
{
	struct waiter *w = data;

	loop_timer_cancel(w->timer);
	unlink_waiter(w);
	free(w);
}

int waiters_add(struct waiters *ws, struct request *req, pid_t pid, uint32_t timeout_ms,
		struct error *err)
{
	struct waiter *w;

	if (timeout_ms == 0)
		return still_running(err, pid);
	w = calloc(1, sizeof(*w));
	if (!w)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	w->req = req;
	w->ws = ws;
	w->pid = pid;
	if (timeout_ms != WAITERS_INFINITE) {
		w->timer = loop_timer_add(req->gcs->loop, timeout_ms, on_timeout, w);
		if (!w->timer) {
			free(w);
			return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
		}
	}
	w->next = ws->head;
	ws->head = w;
	request_on_cancel(req, on_cancel, w);
	return REQUEST_PENDING;
}
