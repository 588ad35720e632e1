/* ShutdownGraceful / ShutdownForced (spec §3.8) and DeleteContainerState
 * (§3.12).
 *
 * Shutdown signals the init only, through `runc kill <id> 15|9`; on success
 * the container's exit type becomes GracefulExit / ForcedExit. The
 * notification waits for the kill's result, so that it names the right
 * type even when the init dies before runc returns.
 *
 * Delete: `runc delete`, the pod cgroup of a sandbox and the mounts of its
 * volumes (sandbox_mounts.h), the scratch and bundle
 * directories (and the pod directory of the V2 shim's layout when it is left
 * empty); the id is forgotten whatever failed, and the first error is
 * returned (runc's first). Unlike the reference, a container whose started
 * init still runs is refused (0x80370105) and kept: forgetting it would
 * leave processes nobody can reach (the host kills before it deletes). An
 * init that was never started is killed by `runc delete`, as runc does for a
 * created container.
 *
 * runc delete reads only runc's state, never the bundle, so the scratch and
 * bundle are removed on a second worker while it runs (removing a busybox
 * root file system took ~0.5 ms, runc delete ~5 ms) - unless something
 * needs them meanwhile: a sandbox's volumes are unmounted first, and runc
 * delete runs the spec's poststop hooks, which may read the bundle. */
#include "containers/container.h"
#include "containers/sandbox_mounts.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "network/network.h"
#include "storage/mount.h"

struct kill_job {
	struct container *c;
	struct op_done done;
	char id[OCI_ID_MAX];
	int sig;
	uint64_t runc_ns; /* runc_thread_ns() in the job */
};

/* ---- Shutdown --------------------------------------------------------------- */

static int kill_run(void *data, struct error *err)
{
	struct kill_job *j = data;
	uint64_t t0 = runc_thread_ns();
	int rc = runc_kill(container_runc(), j->id, j->sig, false, err);

	j->runc_ns = runc_thread_ns() - t0;
	return rc;
}

static void kill_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct kill_job *j = data;
	struct container *c = j->c;
	struct error err;

	error_copy(&err, jerr);
	c->kills_in_flight--;
	if (rc == 0 && c->in_table)
		c->exit_type = j->sig == SIGTERM ? CONTAINER_EXIT_GRACEFUL : CONTAINER_EXIT_FORCED;
	if (rc < 0)
		error_prefix(&err, "%s %s",
			     j->sig == SIGTERM ? "ShutdownGraceful" : "ShutdownForced", c->id);
	op_add_runc_ns(&j->done, j->runc_ns);
	op_finish(&j->done, rc, &err, NULL);
	container_maybe_notify(c);
	container_put(c);
	free(j);
}

int container_shutdown(struct gcs *g, const char *id, int sig, const struct op_done *done,
		       struct error *err)
{
	const char *what = sig == SIGTERM ? "ShutdownGraceful" : "ShutdownForced";
	struct container *c;
	struct kill_job *j;
	int rc;

	rc = container_get(id, what, &c, err);
	if (rc < 0)
		return rc;
	j = calloc(1, sizeof(*j));
	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->c = c;
	j->done = *done;
	j->sig = sig;
	snprintf(j->id, sizeof(j->id), "%s", c->id);
	container_ref(c);
	rc = loop_job(g->loop, kill_run, kill_done, j, err);
	if (rc < 0) {
		container_put(c);
		free(j);
		return rc;
	}
	c->kills_in_flight++;
	return 0;
}

/* ---- DeleteContainerState --------------------------------------------------------- */

struct delete_job {
	struct container *c;
	struct op_done done;
	char id[OCI_ID_MAX];
	char bundle[PATH_MAX];
	char scratch[PATH_MAX];
	bool pod;     /* a sandbox with a pod cgroup */
	bool sandbox; /* its pod volumes are mounted in the bundle */
	const struct cgroup_config *cg;
	uint64_t runc_ns; /* runc_thread_ns() in the job */
	/* The files are removed by a job of their own, beside runc's (set
	 * before the jobs start, then read-only). */
	bool split;
	/* Loop thread only: jobs still running, each part's result. */
	unsigned pending;
	bool files_later; /* the files job could not start beside runc's */
	int rc_runc, rc_files;
	struct error err_runc, err_files;
};

static void keep_first(int *rc, struct error *err, int r, const struct error *e)
{
	if (r < 0 && *rc == 0) {
		*rc = r;
		*err = *e;
	}
}

/* The V2 shim's layout: /run/gcs/pods/<pod>/<id>; the pod dir goes with its
 * last container. */
static void remove_empty_pod_dir(const char *bundle)
{
	char dir[PATH_MAX];
	char *slash;

	if (strncmp(bundle, "/run/gcs/pods/", 14) != 0)
		return;
	snprintf(dir, sizeof(dir), "%s", bundle);
	slash = strrchr(dir, '/');
	if (slash && slash > dir + 13) {
		*slash = '\0';
		rmdir(dir); /* fails while other containers of the pod are there */
	}
}

/* Worker thread: the scratch and bundle directories. */
static int remove_files(struct delete_job *j, struct error *err)
{
	struct error e;
	int rc = 0, r;

	if (j->scratch[0]) {
		r = storage_remove_tree(j->scratch, &e);
		keep_first(&rc, err, r, &e);
	}
	r = storage_remove_tree(j->bundle, &e);
	keep_first(&rc, err, r, &e);
	remove_empty_pod_dir(j->bundle);
	return rc;
}

/* Worker thread: runc delete, the pod cgroup, the sandbox's volumes, and
 * the files unless a job of their own removes them. */
static int delete_run(void *data, struct error *err)
{
	struct delete_job *j = data;
	uint64_t t0 = runc_thread_ns();
	struct error e;
	int rc = 0, r;

	r = runc_delete(container_runc(), j->id, false, &e);
	j->runc_ns = runc_thread_ns() - t0;
	if (r < 0 && e.kind == ERR_NO_CONTAINER)
		r = 0; /* runc has no state of it: nothing to delete there */
	keep_first(&rc, err, r, &e);
	if (j->pod) {
		r = cgroup_pod_remove(j->cg, j->id, &e);
		keep_first(&rc, err, r, &e);
	}
	if (j->sandbox) {
		r = sandbox_mounts_teardown(j->bundle, &e);
		keep_first(&rc, err, r, &e);
	}
	if (!j->split) {
		r = remove_files(j, &e);
		keep_first(&rc, err, r, &e);
	}
	return rc;
}

static int files_run(void *data, struct error *err)
{
	return remove_files(data, err);
}

static void finish_delete(struct delete_job *j);
static void files_done(struct loop *l, int rc, const struct error *jerr, void *data);

/* runc's job is done; the files may still be removed. */
static void delete_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct delete_job *j = data;
	struct error err;

	j->rc_runc = rc;
	error_copy(&j->err_runc, jerr);
	if (j->files_later) {
		/* Their own job could not start with runc's: now, or never. */
		j->files_later = false;
		if (loop_job(l, files_run, files_done, j, &err) == 0)
			return;
		j->rc_files = -EIO;
		j->err_files = err;
	}
	if (--j->pending == 0)
		finish_delete(j);
}

static void files_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct delete_job *j = data;

	j->rc_files = rc;
	error_copy(&j->err_files, jerr);
	if (--j->pending == 0)
		finish_delete(j);
}

/* Both parts are done: runc's error first. */
static void finish_delete(struct delete_job *j)
{
	struct container *c = j->c;
	struct error err, reply;
	int rc = j->rc_runc < 0 ? j->rc_runc : j->rc_files;

	error_copy(&err, j->rc_runc < 0 ? &j->err_runc : &j->err_files);
	container_forget(c);
	net_ns_release(c->id); /* its network namespace has no owner any more */
	reply = err;
	if (rc < 0)
		error_prefix(&reply, "DeleteContainerState %s", c->id);
	op_add_runc_ns(&j->done, j->runc_ns);
	op_finish(&j->done, rc, &reply, NULL);
	/* After the reply: the host waits for it, not for the log line. */
	log_fields(rc < 0 ? LOG_WARN : LOG_INFO, LOG_FIELDS(LOG_STR("cid", c->id)),
		   "container deleted%s%s", rc < 0 ? ", with an error: " : "",
		   rc < 0 ? err.msg : "");
	container_put(c);
	free(j);
}

int container_delete(struct gcs *g, const char *id, const struct op_done *done, struct error *err)
{
	struct container *c;
	struct delete_job *j;
	int rc;

	rc = container_get(id, "DeleteContainerState", &c, err);
	if (rc < 0)
		return rc;
	if (c->state == CONTAINER_STARTING || (c->init && c->init->started && !c->init->reaped))
		return error_set(err, ERR_INVALID_STATE, EBUSY,
				 "DeleteContainerState: container %s is still running", c->id);
	j = calloc(1, sizeof(*j));
	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->c = c;
	j->done = *done;
	j->cg = c->cg;
	j->pod = c->kind == OCI_SANDBOX && c->parent == PARENT_PODS;
	j->sandbox = c->prep.sandbox_mounts;
	snprintf(j->id, sizeof(j->id), "%s", c->id);
	snprintf(j->bundle, sizeof(j->bundle), "%s", c->bundle);
	snprintf(j->scratch, sizeof(j->scratch), "%s", c->scratch);
	j->split = !j->sandbox && !json_object_object_get_ex(c->spec, "hooks", NULL);
	j->pending = 1;
	container_ref(c);
	rc = loop_job(g->loop, delete_run, delete_done, j, err);
	if (rc < 0) {
		container_put(c);
		free(j);
		return rc;
	}
	if (j->split) {
		struct error e;

		if (loop_job(g->loop, files_run, files_done, j, &e) == 0)
			j->pending++;
		else
			j->files_later = true;
	}
	c->deleting = true;
	/* v1 signals the OOM eventfd when runc removes the cgroup. */
	container_oom_watch_stop(c);
	return 0;
}
