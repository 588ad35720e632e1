/* Starting a UVM process (gcs/process/uvm.h): a loop job, since dialling
 * the host's stdio ports and fork/exec block and the loop must not. The
 * worker resolves the executable, dials, makes the pipes or pty and spawns;
 * back on the loop the process joins the table and its pid is the result. */
#include "process/uvm_internal.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "core/child_exec.h"
#include "core/log.h"
#include "core/loop.h"
#include "process/process.h"

struct start_job {
	struct gcs *gcs;
	struct op_done done;
	struct uvm_command *cmd;
	struct uvm_stdio io;
	char path[PATH_MAX];
	pid_t pid;
};

static void start_job_free(struct start_job *job)
{
	uvm_stdio_close(&job->io);
	uvm_command_free(job->cmd);
	free(job);
}

/* Worker thread. The executable is looked up first, so that a missing one
 * fails before anything is dialled; the ports are dialled before the
 * process starts (spec §3.4), so it never writes into nothing. */
static int start_run(void *data, struct error *err)
{
	struct start_job *job = data;
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

static void start_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct start_job *job = data;
	struct error err;

	error_copy(&err, jerr);
	if (!op_wanted(&job->done)) {
		/* Nobody will ever learn the pid: do not leave it running. */
		if (rc == 0)
			kill(job->pid, SIGKILL);
		op_finish(&job->done, -ECANCELED, NULL, NULL);
		start_job_free(job);
		return;
	}
	if (rc == 0)
		rc = uvm_process_add(job->gcs, job->pid, job->cmd->argv[0], &job->io, &err);
	if (rc == 0)
		log_fields(LOG_INFO,
			   LOG_FIELDS(LOG_INT("pid", job->pid), LOG_STR("path", job->path),
				      LOG_BOOL("console", job->cmd->console)),
			   "UVM process started");
	op_finish(&job->done, rc, &err, rc == 0 ? &job->pid : NULL);
	start_job_free(job);
}

int uvm_process_start(struct gcs *g, const Gcs__ExecuteProcessSettings *s,
		      const struct op_done *done, struct error *err)
{
	struct start_job *job = calloc(1, sizeof(*job));
	int rc;

	if (!job)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	child_fd_limit_raise();
	job->gcs = g;
	job->done = *done;
	job->io = (struct uvm_stdio)UVM_STDIO_INIT;
	rc = uvm_command_parse(s, &job->cmd, err);
	if (rc < 0) {
		start_job_free(job);
		return rc;
	}
	rc = loop_job(g->loop, start_run, start_done, job, err);
	if (rc < 0)
		start_job_free(job);
	return rc;
}
