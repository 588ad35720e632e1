/* The WaitForProcess requests pending (gcs/handlers/waiters.h). */
#include "handlers/waiters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers/oci_spec.h"
#include "core/loop.h"
#include "gcs.pb-c.h"

struct waiter {
	struct request *req;
	char cid[OCI_ID_MAX];
	pid_t pid;
	struct loop_timer *timer; /* finite TimeoutInMs */
	struct waiter *next;
};

static struct waiter *head;

static int still_running(struct error *err, pid_t pid)
{
	return error_set(err, ERR_TIMEOUT, ETIMEDOUT, "WaitForProcess: process %d still running",
			 (int)pid);
}

static void unlink_waiter(struct waiter *w)
{
	for (struct waiter **pp = &head; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

static bool matches(const struct waiter *w, const char *cid, pid_t pid)
{
	return w->pid == pid && !strcmp(w->cid, cid);
}

/* Unlinks the first waiter on (cid, pid) and cancels its timer; the caller
 * completes its request and frees it. NULL when there is none. */
static struct waiter *pop(const char *cid, pid_t pid)
{
	for (struct waiter **pp = &head; *pp; pp = &(*pp)->next) {
		struct waiter *w = *pp;

		if (matches(w, cid, pid)) {
			*pp = w->next;
			loop_timer_cancel(w->timer);
			request_on_cancel(w->req, NULL, NULL);
			return w;
		}
	}
	return NULL;
}

int waiters_reply_exit(struct request *req, uint32_t exitcode)
{
	Gcs__ContainerWaitForProcessResponse resp = GCS__CONTAINER_WAIT_FOR_PROCESS_RESPONSE__INIT;

	resp.exitcode = exitcode;
	return request_reply(req, &resp.base);
}

bool waiters_answer(const char *cid, pid_t pid, uint32_t exitcode)
{
	bool answered = false;
	struct waiter *w;

	while ((w = pop(cid, pid))) {
		waiters_reply_exit(w->req, exitcode);
		free(w);
		answered = true;
	}
	return answered;
}

void waiters_fail(const char *cid, pid_t pid, const struct error *err)
{
	struct waiter *w;

	while ((w = pop(cid, pid))) {
		request_fail(w->req, err);
		free(w);
	}
}

static void on_timeout(struct loop *l, void *data)
{
	struct waiter *w = data;
	struct error err;

	w->timer = NULL;
	unlink_waiter(w);
	request_on_cancel(w->req, NULL, NULL);
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

int waiters_add(const char *cid, pid_t pid, struct request *req, uint32_t timeout_ms,
		struct error *err)
{
	struct waiter *w;

	if (timeout_ms == 0)
		return still_running(err, pid);
	w = calloc(1, sizeof(*w));
	if (!w)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	w->req = req;
	snprintf(w->cid, sizeof(w->cid), "%s", cid);
	w->pid = pid;
	if (timeout_ms != WAITERS_INFINITE) {
		w->timer = loop_timer_add(req->gcs->loop, timeout_ms, on_timeout, w);
		if (!w->timer) {
			free(w);
			return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
		}
	}
	w->next = head;
	head = w;
	request_on_cancel(req, on_cancel, w);
	return REQUEST_PENDING;
}

void waiters_describe(struct printbuf *pb)
{
	unsigned n = 0;

	for (const struct waiter *w = head; w; w = w->next)
		n++;
	sprintbuf(pb, "WaitForProcess pending: %u\n", n);
	for (const struct waiter *w = head; w; w = w->next)
		sprintbuf(pb, "  %s pid %d%s\n", w->cid[0] ? w->cid : "UVM", (int)w->pid,
			  w->timer ? "" : ", no timeout");
}
