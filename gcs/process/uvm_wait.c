/* WaitForProcess on UVM processes (spec §3.5): several waits may be pending
 * on one process, each with its own timeout (gcs/handlers/waiters.h); all get the
 * exit code once the process is complete (gcs/process/uvm.h). */
#include "process/uvm_internal.h"

#include <errno.h>

#include "process/process.h"

void uvm_process_answer_waiters(struct uvm_process *p)
{
	/* External processes are forgotten after the first answered wait. */
	if (waiters_answer(&p->waiters, process_uvm_exit_code(p->status)))
		uvm_process_forget(p);
}

int uvm_process_wait(struct request *req, struct error *err)
{
	const Gcs__ContainerWaitForProcess *m = (const void *)req->msg;
	struct uvm_process *p = uvm_process_find((pid_t)m->processid);
	int rc;

	if (!p || m->processid > INT32_MAX)
		return error_set(err, ERR_NOT_FOUND, ESRCH, "WaitForProcess: process %u not found",
				 m->processid);
	if (p->complete) {
		rc = waiters_reply_exit(req, process_uvm_exit_code(p->status));
		uvm_process_forget(p);
		return rc;
	}
	return waiters_add(&p->waiters, req, p->pid, m->timeoutinms, err);
}
