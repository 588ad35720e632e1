/* The processes of a container (its init and exec'd ones): their stdio
 * relays (the relay engine of gcs/process/relay.h: pipes, so that the
 * process can open /dev/stdout, which a socket refuses with ENXIO), their
 * exit and its delivery (spec §3.5, §6.3, §6.4), signals and console size. */
#include "containers/container.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "process/process.h"
#include "process/relay.h"

static void report_complete(struct cproc *p);

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- records ------------------------------------------------------------------ */

struct cproc *cproc_new(struct container *c, pid_t pid, bool is_init)
{
	struct cproc *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->c = c;
	p->pid = pid;
	p->is_init = is_init;
	p->console = -1;
	p->started_ms = loop_now_ms();
	p->next = c->procs;
	c->procs = p;
	return p;
}

struct cproc *cproc_find(struct container *c, pid_t pid)
{
	for (struct cproc *p = c->procs; p; p = p->next)
		if (p->pid == pid)
			return p;
	return NULL;
}

void cproc_free(struct cproc *p)
{
	if (p->console >= 0)
		close(p->console);
	free(p);
}

static void unlink_process(struct cproc *p)
{
	for (struct cproc **pp = &p->c->procs; *pp; pp = &(*pp)->next) {
		if (*pp == p) {
			*pp = p->next;
			return;
		}
	}
}

uint32_t cproc_exit_code(const struct cproc *p)
{
	if (WIFSIGNALED(p->status))
		return 128u + (uint32_t)WTERMSIG(p->status);
	return (uint32_t)WEXITSTATUS(p->status);
}

/* ---- completion ----------------------------------------------------------------- */

/* What the log line says of a complete process, taken before the exit
 * code is reported (which may free an exec'd process). */
struct complete_note {
	pid_t pid;
	bool is_init;
	uint32_t exitcode;
	uint64_t ms;
};

static void log_complete(const struct container *c, const struct complete_note *n)
{
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_STR("cid", c->id), LOG_INT("pid", n->pid),
			      LOG_BOOL("init", n->is_init), LOG_UINT("exitCode", n->exitcode),
			      LOG_UINT("ms", n->ms)),
		   "container process complete");
}

void cproc_check_complete(struct cproc *p)
{
	struct container *c = p->c;
	bool is_init = p->is_init;
	struct complete_note note;

	if (p->complete || !p->reaped || p->outputs > 0)
		return;
	/* The init also waits for `runc kill --all` and a start in flight. */
	if (p->is_init && (!p->post_exit_done || c->state == CONTAINER_STARTING))
		return;
	p->complete = true;
	close_fd(&p->console);
	note = (struct complete_note){.pid = p->pid,
				      .is_init = p->is_init,
				      .exitcode = cproc_exit_code(p),
				      .ms = loop_now_ms() - p->started_ms};
	if (p->is_init) {
		c->state = CONTAINER_EXITED;
		/* Never started: nobody will ever attach these. */
		for (int i = 0; i < 3; i++)
			close_fd(&c->init_io[i]);
	}
	report_complete(p); /* may free an exec'd p */
	/* After the waits' replies: the host waits for them, not for this. */
	log_complete(c, &note);
	if (is_init)
		container_maybe_notify(c);
}

static void on_process_exit(struct loop *l, pid_t pid, int status, void *data)
{
	struct cproc *p = data;

	p->watched = false;
	p->reaped = true;
	p->reaped_ns = loop_now_ns();
	p->status = status;
	/* Nobody reads its stdin any more. */
	relay_cancel(p->in);
	p->in = NULL;
	if (p->is_init) {
		container_init_exited(p->c);
		return;
	}
	cproc_check_complete(p);
}

int cproc_watch(struct cproc *p, struct error *err)
{
	int rc = loop_child_watch(p->c->gcs->loop, p->pid, on_process_exit, p, err);

	if (rc == 0)
		p->watched = true;
	return rc;
}

/* ---- relays ------------------------------------------------------------------------ */

static void on_input_done(struct relay *r, int rc, void *data)
{
	struct cproc *p = data;

	p->in = NULL;
}

static void on_output_done(struct relay *r, int rc, void *data)
{
	struct cproc *p = data;
	int i = r == p->out[0] ? 0 : 1;

	p->out[i] = NULL;
	if (rc < 0)
		log_fields(LOG_DEBUG,
			   LOG_FIELDS(LOG_STR("cid", p->c->id), LOG_INT("pid", p->pid),
				      LOG_STR("stream", i ? "stderr" : "stdout")),
			   "output relay stopped: %s", strerror(-rc));
	p->outputs--;
	cproc_check_complete(p);
}

/* A connection with nothing to carry: the host reads EOF at once. */
static void close_unused(int *fd)
{
	if (*fd < 0)
		return;
	shutdown(*fd, SHUT_WR);
	close_fd(fd);
}

int cproc_attach(struct cproc *p, struct cstdio *io, struct error *err)
{
	struct loop *l = p->c->gcs->loop;
	int rc = 0;

	p->had_console = io->console >= 0;
	p->console = io->console;
	io->console = -1;
	if (io->conn[0] >= 0 && io->in_dst >= 0) {
		rc = relay_start(l, io->conn[0], io->in_dst, on_input_done, p, &p->in, err);
		io->conn[0] = io->in_dst = -1;
		if (rc < 0)
			goto out;
	}
	for (int i = 0; i < 2; i++) {
		int dst;

		if (io->out_src[i] < 0) {
			close_unused(&io->conn[1 + i]);
			continue;
		}
		/* A console is read even when nobody listens: a full pty
		 * would block the process for good. */
		dst = io->conn[1 + i] >= 0 ? io->conn[1 + i] : RELAY_DISCARD;
		rc = relay_start(l, io->out_src[i], dst, on_output_done, p, &p->out[i], err);
		io->out_src[i] = io->conn[1 + i] = -1;
		if (rc < 0)
			goto out;
		p->outputs++;
	}
	p->started = true;
out:
	cstdio_close(io);
	return rc;
}

/* ---- the exit code's delivery ------------------------------------------------------ */

void cproc_collected(struct cproc *p)
{
	p->answered = true;
	if (p->is_init) {
		container_maybe_notify(p->c);
		return;
	}
	unlink_process(p);
	cproc_free(p);
}

/* Tells the front end; forgets an exec'd p when it delivered the code. */
static void report_complete(struct cproc *p)
{
	const struct container_events *ev = container_events();

	if (ev->process_complete &&
	    ev->process_complete(ev->data, p->c->id, p->pid, cproc_exit_code(p), p->reaped_ns))
		cproc_collected(p);
}

int cproc_exit_status(struct container *c, pid_t pid, bool *complete, uint32_t *exitcode)
{
	struct cproc *p = cproc_find(c, pid);

	if (!p)
		return -ESRCH;
	*complete = p->complete;
	*exitcode = p->complete ? cproc_exit_code(p) : 0;
	return 0;
}

/* ---- signals and the console ------------------------------------------------------ */

int container_signal_process(struct container *c, pid_t pid, int sig, struct error *err)
{
	struct cproc *p = cproc_find(c, pid);

	/* A reaped pid may belong to someone else by now. */
	if (!p || p->reaped)
		return -ESRCH;
	if (kill(p->pid, sig) < 0) {
		int e = errno;

		return error_set(err, e == ESRCH ? ERR_NOT_FOUND : ERR_FAIL, e, "kill(%d, %d): %s",
				 (int)p->pid, sig, strerror(e));
	}
	if (p->is_init && sig == SIGTERM)
		c->exit_type = CONTAINER_EXIT_GRACEFUL;
	else if (p->is_init && sig == SIGKILL)
		c->exit_type = CONTAINER_EXIT_FORCED;
	log_fields(
		LOG_INFO,
		LOG_FIELDS(LOG_STR("cid", c->id), LOG_INT("pid", p->pid), LOG_INT("signal", sig)),
		"signalled container process");
	return 0;
}

/* Once the process is complete the console is gone and a late resize does
 * nothing, as for UVM processes. */
int container_resize_console(struct container *c, pid_t pid, uint32_t rows, uint32_t cols,
			     struct error *err)
{
	struct cproc *p = cproc_find(c, pid);

	if (!p)
		return -ESRCH;
	return process_console_resize(p->pid, p->had_console, p->console, rows, cols, err);
}
