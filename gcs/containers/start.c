/* ExecuteProcess on a container (spec §3.4 cases 2 and 3):
 *   - no OciProcess: the init made at create time starts: the requested
 *     stdio ports are dialled, `runc start`, then the connections are
 *     attached to the init's pipes (or pty) and the pipes nobody asked for
 *     are closed (§6.3);
 *   - OciProcess: rlimits inherited and user resolved
 *     (oci_process_prepare()), `runc exec -d` with a pipe per requested
 *     stream or a console socket (process.terminal).
 * Dialling and runc run in a job; the relays start back on the loop (the
 * pipes keep whatever the process writes meanwhile). runc's error text
 * (from its --log) is the ErrorMessage; its kind picks the HRESULT. */
#include "containers/container.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/log.h"
#include "core/loop.h"

struct exec_job {
	struct container *c;
	struct op_done done; /* result: const pid_t * */
	struct gcs *gcs;
	char id[OCI_ID_MAX];
	char bundle[PATH_MAX];
	char rootfs[PATH_MAX];
	struct cstdio_req want;
	struct cstdio io;
	/* exec only */
	struct json_object *process;   /* the request's OciProcess */
	struct json_object *container; /* {"process": copy of the container's} */
	bool terminal;
	pid_t pid;
	uint64_t runc_ns; /* runc_thread_ns() in the job */
};

static void exec_job_free(struct exec_job *j)
{
	cstdio_close(&j->io);
	json_object_put(j->process);
	json_object_put(j->container);
	free(j);
}

static struct exec_job *job_new(struct gcs *g, struct container *c, const struct cstdio_req *want,
				const struct op_done *done, struct error *err)
{
	struct exec_job *j = calloc(1, sizeof(*j));

	if (!j) {
		error_set(err, ERR_FAIL, ENOMEM, "out of memory");
		return NULL;
	}
	j->io = (struct cstdio)CSTDIO_INIT;
	j->c = c;
	j->done = *done;
	j->gcs = g;
	j->want = *want;
	snprintf(j->id, sizeof(j->id), "%s", c->id);
	snprintf(j->bundle, sizeof(j->bundle), "%s", c->bundle);
	snprintf(j->rootfs, sizeof(j->rootfs), "%s", c->prep.rootfs);
	return j;
}

static int job_submit(struct exec_job *j, loop_job_fn run, loop_done_fn done, struct error *err)
{
	int rc;

	container_ref(j->c);
	rc = loop_job(j->gcs->loop, run, done, j, err);
	if (rc < 0) {
		container_put(j->c);
		exec_job_free(j);
	}
	return rc;
}

/* ---- the init ------------------------------------------------------------------ */

static int start_run(void *data, struct error *err)
{
	struct exec_job *j = data;
	int rc = cstdio_dial(j->gcs, &j->want, j->io.conn, err);
	uint64_t t0 = runc_thread_ns();

	if (rc == 0)
		rc = runc_start(container_runc(), j->id, j->bundle, err);
	j->runc_ns = runc_thread_ns() - t0;
	return rc;
}

static int dup_fd(int fd, struct error *err)
{
	int d = fcntl(fd, F_DUPFD_CLOEXEC, 3);

	return d < 0 ? error_errno(err, errno, "dup pty master") : d;
}

/* The host's connections meet the init's stdio made at create time. */
static int init_stdio(struct container *c, struct cstdio *io, struct error *err)
{
	int master = c->init_io[1];

	if (c->prep.terminal) {
		c->init_io[1] = -1;
		io->console = master;
		io->out_src[0] = dup_fd(master, err);
		if (io->out_src[0] < 0)
			return -EIO;
		if (io->conn[0] >= 0 && (io->in_dst = dup_fd(master, err)) < 0)
			return -EIO;
		return 0;
	}
	/* Pipes with no connection are closed: the init reads EOF from an
	 * unused stdin, and gets EPIPE writing to an unused output. */
	if (io->conn[0] >= 0)
		io->in_dst = TAKE_FD(c->init_io[0]);
	for (int i = 1; i < 3; i++)
		if (io->conn[i] >= 0)
			io->out_src[i - 1] = TAKE_FD(c->init_io[i]);
	cstdio_close_fds(c->init_io, 3);
	return 0;
}

static void start_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct exec_job *j = data;
	struct container *c = j->c;
	struct error err;

	error_copy(&err, jerr);
	if (c->in_table && c->state == CONTAINER_STARTING)
		c->state = rc == 0 ? CONTAINER_RUNNING : CONTAINER_CREATED;
	if (rc == 0 && !c->in_table)
		rc = error_set(&err, ERR_NO_CONTAINER, ENOENT, "container %s was deleted", c->id);
	if (rc == 0) {
		rc = init_stdio(c, &j->io, &err);
		if (rc == 0)
			rc = cproc_attach(c->init, &j->io, &err);
	}
	op_add_runc_ns(&j->done, j->runc_ns);
	if (rc < 0) {
		error_prefix(&err, "start %s", c->id);
		op_finish(&j->done, rc, &err, NULL);
	} else {
		pid_t pid = c->init->pid;

		/* The reply first: the host waits for it, not for the log. */
		op_finish(&j->done, 0, NULL, &pid);
		log_fields(LOG_INFO,
			   LOG_FIELDS(LOG_STR("cid", c->id), LOG_INT("pid", pid),
				      LOG_BOOL("stdin", j->want.want[0]),
				      LOG_BOOL("stdout", j->want.want[1]),
				      LOG_BOOL("stderr", j->want.want[2])),
			   "container started");
	}
	/* The init may have exited while runc start ran. */
	if (c->in_table && c->init)
		cproc_check_complete(c->init);
	container_put(c);
	exec_job_free(j);
}

static int start_init(struct gcs *g, struct container *c, const struct cstdio_req *want,
		      const struct op_done *done, struct error *err)
{
	struct exec_job *j;
	int rc;

	if (c->state != CONTAINER_CREATED)
		return error_set(err, ERR_INVALID_STATE, EBUSY,
				 "ExecuteProcess: the init of container %s %s", c->id,
				 c->state == CONTAINER_EXITED ? "has exited"
							      : "was started already");
	j = job_new(g, c, want, done, err);
	if (!j)
		return -ENOMEM;
	rc = job_submit(j, start_run, start_done, err);
	if (rc == 0)
		c->state = CONTAINER_STARTING;
	return rc;
}

/* ---- exec'd processes ------------------------------------------------------------- */

static int exec_run(void *data, struct error *err)
{
	struct exec_job *j = data;
	int child[3] = {-1, -1, -1};
	struct runc_proc proc;
	uint64_t t0;
	int rc;

	rc = oci_process_prepare(j->process, j->container, j->rootfs, err);
	if (rc == 0)
		rc = cstdio_dial(j->gcs, &j->want, j->io.conn, err);
	if (rc == 0 && !j->terminal)
		rc = cstdio_pipes(&j->io, child, err);
	t0 = runc_thread_ns();
	if (rc == 0)
		rc = runc_exec(container_runc(), j->id, j->bundle, j->process, child, &proc, err);
	j->runc_ns = runc_thread_ns() - t0;
	cstdio_close_fds(child, 3);
	if (rc < 0)
		return rc;
	j->pid = proc.pid;
	if (j->terminal) {
		/* The console: stdin into it, its output to stdout. */
		j->io.console = proc.pty_master;
		j->io.out_src[0] = dup_fd(proc.pty_master, err);
		if (j->io.out_src[0] < 0)
			return -EIO;
		if (j->io.conn[0] >= 0 && (j->io.in_dst = dup_fd(proc.pty_master, err)) < 0)
			return -EIO;
	}
	return 0;
}

static void exec_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct exec_job *j = data;
	struct container *c = j->c;
	struct cproc *p = NULL;
	struct error err;

	error_copy(&err, jerr);
	if (rc == 0 && (!op_wanted(&j->done) || !c->in_table))
		rc = error_set(&err, ERR_FAIL, ECANCELED, "nobody will wait for it");
	if (rc == 0) {
		p = cproc_new(c, j->pid, false);
		if (!p)
			rc = error_set(&err, ERR_FAIL, ENOMEM, "out of memory");
	}
	if (rc == 0)
		rc = cproc_watch(p, &err);
	if (rc == 0)
		rc = cproc_attach(p, &j->io, &err);
	if (rc < 0) {
		/* A process nobody can see must not run on. */
		if (j->pid > 0)
			kill(j->pid, SIGKILL);
		if (p && !p->watched) {
			/* Unwatched: nothing will ever complete it. */
			for (struct cproc **pp = &c->procs; *pp; pp = &(*pp)->next)
				if (*pp == p) {
					*pp = p->next;
					break;
				}
			cproc_free(p);
		}
		error_prefix(&err, "exec in %s", c->id);
		op_add_runc_ns(&j->done, j->runc_ns);
		op_finish(&j->done, rc, &err, NULL);
	} else {
		op_add_runc_ns(&j->done, j->runc_ns);
		op_finish(&j->done, 0, NULL, &j->pid);
		log_fields(LOG_INFO,
			   LOG_FIELDS(LOG_STR("cid", c->id), LOG_INT("pid", j->pid),
				      LOG_BOOL("terminal", j->terminal)),
			   "container process started");
	}
	container_put(c);
	exec_job_free(j);
}

/* What oci_process_prepare() needs of the container, copied so that the
 * worker never reads the container's own tree. */
static struct json_object *container_process_copy(struct container *c)
{
	struct json_object *proc, *copy = NULL, *wrap = json_object_new_object();

	if (!wrap)
		return NULL;
	if (json_object_object_get_ex(c->spec, "process", &proc) &&
	    (json_object_deep_copy(proc, &copy, NULL) < 0 ||
	     json_object_object_add(wrap, "process", copy) < 0)) {
		json_object_put(copy);
		json_object_put(wrap);
		return NULL;
	}
	return wrap;
}

static int exec_process(struct gcs *g, struct container *c, struct json_object *process,
			const struct cstdio_req *want, const struct op_done *done,
			struct error *err)
{
	struct exec_job *j;

	if (!json_object_is_type(process, json_type_object))
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "ExecuteProcess: OciProcess is not an object");
	j = job_new(g, c, want, done, err);
	if (!j)
		return -ENOMEM;
	j->process = json_object_get(process);
	j->container = container_process_copy(c);
	if (!j->container) {
		exec_job_free(j);
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	}
	j->terminal = oci_process_terminal(process);
	return job_submit(j, exec_run, exec_done, err);
}

int container_execute(struct gcs *g, const char *id, const Gcs__ExecuteProcessSettings *s,
		      struct json_object *oci_process, const struct op_done *done,
		      struct error *err)
{
	const Gcs__ProcessParameters *p = s ? s->processparameters : NULL;
	struct cstdio_req want;
	struct container *c;
	int rc;

	if (!p)
		return error_set(err, ERR_BAD_JSON, EINVAL,
				 "ExecuteProcess: ProcessParameters is missing");
	rc = container_get(id, "ExecuteProcess", &c, err);
	if (rc < 0)
		return rc;
	rc = cstdio_request(s, &want, err);
	if (rc < 0)
		return error_prefix(err, "ExecuteProcess");
	if (oci_process)
		return exec_process(g, c, oci_process, &want, done, err);
	return start_init(g, c, &want, done, err);
}
