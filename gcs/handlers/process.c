/* The UVM-process requests (null container id): ExecuteProcess,
 * WaitForProcess, SignalProcess, ResizeConsole, and the UVM's ProcessList.
 * The processes themselves are the runtime's (gcs/process/uvm.h); the waits
 * are kept here (gcs/handlers/waiters.h) under the container id "".
 *
 * A process the host started in the UVM through a container-scoped request
 * (CreateInUtilityVM) is waited for, signalled and resized with that
 * container's id: gcs/handlers/container.c passes such requests here. */
#include "handlers/process.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdint.h>

#include "bridge/handler.h"
#include "handlers/pending.h"
#include "handlers/waiters.h"
#include "process/uvm.h"

int reply_process_id(struct request *req, const void *result)
{
	Gcs__ContainerExecuteProcessResponse resp = GCS__CONTAINER_EXECUTE_PROCESS_RESPONSE__INIT;

	resp.processid = (uint32_t) * (const pid_t *)result;
	return request_reply(req, &resp.base);
}

int uvm_execute_request(struct request *req, struct error *err)
{
	const Gcs__ContainerExecuteProcess *m = (const void *)req->msg;
	struct op_done done;
	int rc;

	rc = pending_begin(req, reply_process_id, NULL, &done, err);
	if (rc < 0)
		return rc;
	rc = uvm_process_start(req->gcs, m->settings, &done, err);
	if (rc < 0)
		error_prefix(err, "ExecuteProcess");
	return pending_end(&done, rc);
}
HANDLER(MSG_EXECUTE_PROCESS, SCOPE_UVM, gcs__container_execute_process, uvm_execute_request)

static int not_found(struct error *err, const char *what, uint32_t pid)
{
	return error_set(err, ERR_NOT_FOUND, ESRCH, "%s: process %u not found", what, pid);
}

int uvm_wait_request(struct request *req, struct error *err)
{
	const Gcs__ContainerWaitForProcess *m = (const void *)req->msg;
	pid_t pid = (pid_t)m->processid;
	uint32_t code;
	bool complete;
	int rc;

	if (m->processid > INT32_MAX || uvm_process_exit_status(pid, &complete, &code) < 0)
		return not_found(err, "WaitForProcess", m->processid);
	if (!complete)
		return waiters_add("", pid, req, m->timeoutinms, err);
	rc = waiters_reply_exit(req, code, 0);
	uvm_process_collected(pid);
	return rc;
}
HANDLER(MSG_WAIT_FOR_PROCESS, SCOPE_UVM, gcs__container_wait_for_process, uvm_wait_request)

int uvm_signal_number(int32_t requested, struct error *err)
{
	if (requested == 0)
		return SIGKILL;
	if (requested < 0 || requested > UVM_SIGNAL_MAX)
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "invalid signal number %d (Linux signals are 1-%d)",
				 (int)requested, UVM_SIGNAL_MAX);
	return requested;
}

/* Any signal, to processes the gcs started only: a pid it has reaped may
 * belong to someone else by now, and the gcs or init must never be hit. */
int uvm_signal_request(struct request *req, struct error *err)
{
	const Gcs__ContainerSignalProcess *m = (const void *)req->msg;
	int rc, sig;

	sig = uvm_signal_number(m->options ? m->options->signal : 0, err);
	if (sig < 0)
		return error_prefix(err, "SignalProcess");
	if (m->processid > INT32_MAX)
		return not_found(err, "SignalProcess", m->processid);
	rc = uvm_process_signal((pid_t)m->processid, sig, err);
	if (rc == -ESRCH)
		return not_found(err, "SignalProcess", m->processid);
	if (rc < 0)
		return error_prefix(err, "SignalProcess");
	return request_reply(req, NULL);
}
HANDLER(MSG_SIGNAL_PROCESS, SCOPE_UVM, gcs__container_signal_process, uvm_signal_request)

int uvm_resize_request(struct request *req, struct error *err)
{
	const Gcs__ContainerResizeConsole *m = (const void *)req->msg;
	int rc;

	if (m->processid > INT32_MAX)
		return not_found(err, "ResizeConsole", m->processid);
	rc = uvm_process_resize((pid_t)m->processid, m->height, m->width, err);
	if (rc == -ESRCH)
		return not_found(err, "ResizeConsole", m->processid);
	if (rc < 0)
		return rc;
	return request_reply(req, NULL);
}
HANDLER(MSG_RESIZE_CONSOLE, SCOPE_UVM, gcs__container_resize_console, uvm_resize_request)

/* ---- what the process runtime reports ----------------------------------------- */

static bool on_complete(void *data, pid_t pid, uint32_t exitcode, uint64_t reaped_ns)
{
	return waiters_answer("", pid, exitcode, reaped_ns);
}

static int process_startup(struct gcs *g, struct error *err)
{
	uvm_process_set_listener(on_complete, g);
	return 0;
}
STARTUP_HOOK(process_startup)

UVM_PROCESS_LIST(uvm_process_pids)

static void process_describe(struct gcs *g, struct printbuf *pb)
{
	uvm_process_describe(g, pb);
	waiters_describe(pb);
}
DUMP_SECTION(process_describe)
