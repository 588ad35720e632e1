/* The UVM-process requests (null container id): ExecuteProcess,
 * WaitForProcess, SignalProcess, ResizeConsole, and the UVM's ProcessList.
 *
 * ExecuteProcess runs as a loop job: dialling the host's stdio ports and
 * fork/exec block, the loop must not. The worker resolves the executable,
 * dials, makes the pipes or pty and spawns; back on the loop the process
 * joins the table (gcs/process/uvm.h) and the reply carries its pid. */
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/handler.h"
#include "core/log.h"
#include "core/loop.h"
#include "core/child_exec.h"
#include "process/process.h"
#include "process/exec.h"
#include "process/uvm_internal.h"

struct exec_job {
	struct gcs *gcs;
	struct request *req; /* NULL once the gcs cancelled it (shutdown) */
	struct uvm_command *cmd;
	struct uvm_stdio io;
	char path[PATH_MAX];
	pid_t pid;
};

static void exec_job_free(struct exec_job *job)
{
	uvm_stdio_close(&job->io);
	uvm_command_free(job->cmd);
	free(job);
}

/* Worker thread. The executable is looked up first, so that a missing one
 * fails before anything is dialled; the ports are dialled before the
 * process starts (spec §3.4), so it never writes into nothing. */
static int exec_run(void *data, struct error *err)
{
	struct exec_job *job = data;
	struct uvm_command *c = job->cmd;
	struct process_spawn s = {.argv = c->argv, .envp = c->envp, .cwd = c->cwd};
	int rc;

	/* The gcs's PATH, as the reference (Go's exec.LookPath) resolves it;
	 * a PATH in the request's Environment is the child's business. */
	rc = process_find_executable(c->argv[0], getenv("PATH"), job->path, sizeof(job->path), err);
	if (rc < 0)
		return rc;
	rc = uvm_stdio_open(&job->gcs->transport, c, &job->io, err);
	if (rc < 0)
		return rc;
	s.path = job->path;
	memcpy(s.stdio, job->io.child, sizeof(s.stdio));
	s.ctty = job->io.slave;
	rc = process_spawn(job->gcs->loop, &s, &job->pid, err);
	uvm_stdio_close_child(&job->io);
	return rc;
}

static void exec_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct exec_job *job = data;
	struct request *req = job->req;
	struct error err;

	error_copy(&err, jerr);

	if (!req) {
		/* Nobody will ever learn the pid: do not leave it running. */
		if (rc == 0)
			kill(job->pid, SIGKILL);
		exec_job_free(job);
		return;
	}
	request_on_cancel(req, NULL, NULL);
	if (rc == 0)
		rc = uvm_process_add(job->gcs, job->pid, job->cmd->argv[0], &job->io, &err);
	if (rc < 0) {
		request_fail(req, &err);
	} else {
		Gcs__ContainerExecuteProcessResponse resp =
			GCS__CONTAINER_EXECUTE_PROCESS_RESPONSE__INIT;

		log_fields(LOG_INFO,
			   LOG_FIELDS(LOG_INT("pid", job->pid), LOG_STR("path", job->path),
				      LOG_BOOL("console", job->cmd->console)),
			   "UVM process started");
		resp.processid = (uint32_t)job->pid;
		request_reply(req, &resp.base);
	}
	exec_job_free(job);
}

static void exec_cancel(struct request *req, void *data)
{
	struct exec_job *job = data;

	job->req = NULL;
}

int uvm_process_execute(struct request *req, struct error *err)
{
	const Gcs__ContainerExecuteProcess *m = (const void *)req->msg;
	struct exec_job *job = calloc(1, sizeof(*job));
	int rc;

	if (!job)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	child_fd_limit_raise();
	job->gcs = req->gcs;
	job->req = req;
	job->io = (struct uvm_stdio)UVM_STDIO_INIT;
	rc = uvm_command_parse(m->settings, &job->cmd, err);
	if (rc < 0) {
		exec_job_free(job);
		return error_prefix(err, "ExecuteProcess");
	}
	rc = loop_job(req->gcs->loop, exec_run, exec_done, job, err);
	if (rc < 0) {
		exec_job_free(job);
		return rc;
	}
	request_on_cancel(req, exec_cancel, job);
	return REQUEST_PENDING;
}
HANDLER(MSG_EXECUTE_PROCESS, SCOPE_UVM, gcs__container_execute_process, uvm_process_execute)

HANDLER(MSG_WAIT_FOR_PROCESS, SCOPE_UVM, gcs__container_wait_for_process, uvm_process_wait)

/* Any signal, to processes the gcs started only: a pid it has reaped may
 * belong to someone else by now, and the gcs or init must never be hit. */
int uvm_process_signal(struct request *req, struct error *err)
{
	const Gcs__ContainerSignalProcess *m = (const void *)req->msg;
	pid_t pid = (pid_t)m->processid;
	int sig;

	sig = uvm_signal_number(m->options ? m->options->signal : 0, err);
	if (sig < 0)
		return error_prefix(err, "SignalProcess");
	if (m->processid > INT32_MAX || !uvm_process_running(pid))
		return error_set(err, ERR_NOT_FOUND, ESRCH, "SignalProcess: process %u not found",
				 m->processid);
	if (kill(pid, sig) < 0) {
		int e = errno;

		return error_set(err, e == ESRCH ? ERR_NOT_FOUND : ERR_FAIL, e,
				 "SignalProcess: kill(%d, %d): %s", (int)pid, sig, strerror(e));
	}
	log_fields(LOG_INFO, LOG_FIELDS(LOG_INT("pid", pid), LOG_INT("signal", sig)),
		   "signalled UVM process");
	return request_reply(req, NULL);
}
HANDLER(MSG_SIGNAL_PROCESS, SCOPE_UVM, gcs__container_signal_process, uvm_process_signal)

/* After the process is complete its console is gone: a late resize is a
 * no-op, as the reference's closed relay answers. */
int uvm_process_resize(struct request *req, struct error *err)
{
	const Gcs__ContainerResizeConsole *m = (const void *)req->msg;
	struct uvm_process *p = uvm_process_find((pid_t)m->processid);
	int rc;

	if (!p || m->processid > INT32_MAX)
		return error_set(err, ERR_NOT_FOUND, ESRCH, "ResizeConsole: process %u not found",
				 m->processid);
	rc = process_console_resize(p->pid, p->had_console, p->console, m->height, m->width, err);
	if (rc < 0)
		return rc;
	return request_reply(req, NULL);
}
HANDLER(MSG_RESIZE_CONSOLE, SCOPE_UVM, gcs__container_resize_console, uvm_process_resize)

UVM_PROCESS_LIST(uvm_process_pids)

DUMP_SECTION(uvm_process_describe)
