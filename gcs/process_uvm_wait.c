/* WaitForProcess on UVM processes (spec §3.5): several waits may be pending
 * on one process, each with its own timeout; all get the exit code once
 * the process is complete (gcs/process_uvm.h). */
#include "process_uvm_internal.h"

#include <errno.h>
#include <stdlib.h>

#include "loop.h"
#include "process.h"

static void unlink_waiter(struct uvm_waiter *w)
{
	for (struct uvm_waiter **pp = &w->p->waiters; *pp; pp = &(*pp)->next) {
		if (*pp == w) {
			*pp = w->next;
			return;
		}
	}
}

static int reply_exit(struct request *req, const struct uvm_process *p)
{
	Gcs__ContainerWaitForProcessResponse resp = GCS__CONTAINER_WAIT_FOR_PROCESS_RESPONSE__INIT;

	resp.exitcode = process_uvm_exit_code(p->status);
	return request_reply(req, &resp.base);
}

void uvm_process_answer_waiters(struct uvm_process *p)
{
	bool answered = p->waiters != NULL;

	while (p->waiters) {
		struct uvm_waiter *w = p->waiters;

		p->waiters = w->next;
		loop_timer_cancel(w->timer);
		reply_exit(w->req, p);
		free(w);
	}
	/* External processes are forgotten after the first answered wait. */
	if (answered)
		uvm_process_forget(p);
}

static void on_timeout(struct loop *l, void *data)
{
	struct uvm_waiter *w = data;
	struct error err;

	w->timer = NULL;
	unlink_waiter(w);
	error_set(&err, ERR_TIMEOUT, ETIMEDOUT, "WaitForProcess: process %d still running",
		  (int)w->p->pid);
	request_fail(w->req, &err);
	free(w);
}

/* The gcs is shutting down: let go of the request without answering. */
static void on_cancel(struct request *req, void *data)
{
	struct uvm_waiter *w = data;

	loop_timer_cancel(w->timer);
	unlink_waiter(w);
	free(w);
}

static int add_waiter(struct request *req, struct uvm_process *p, uint32_t timeout_ms,
		      struct error *err)
{
	struct uvm_waiter *w = calloc(1, sizeof(*w));

	if (!w)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	w->req = req;
	w->p = p;
	if (timeout_ms != UVM_WAIT_INFINITE) {
		w->timer = loop_timer_add(req->gcs->loop, timeout_ms, on_timeout, w);
		if (!w->timer) {
			free(w);
			return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
		}
	}
	w->next = p->waiters;
	p->waiters = w;
	request_on_cancel(req, on_cancel, w);
	return REQUEST_PENDING;
}

/* TimeoutInMs 0 asks whether the process is complete already, as a
 * 0-duration timer does in the reference. */
int uvm_process_wait(struct request *req, struct error *err)
{
	const Gcs__ContainerWaitForProcess *m = (const void *)req->msg;
	struct uvm_process *p = uvm_process_find((pid_t)m->processid);
	int rc;

	if (!p || m->processid > INT32_MAX)
		return error_set(err, ERR_NOT_FOUND, ESRCH, "WaitForProcess: process %u not found",
				 m->processid);
	if (p->complete) {
		rc = reply_exit(req, p);
		uvm_process_forget(p);
		return rc;
	}
	if (m->timeoutinms == 0)
		return error_set(err, ERR_TIMEOUT, ETIMEDOUT,
				 "WaitForProcess: process %d still running", (int)p->pid);
	return add_waiter(req, p, m->timeoutinms, err);
}
