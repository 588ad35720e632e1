/* Create (spec §3.2): register the id, classify, prepare the spec, write
 * config.json, `runc create` with the init's stdio pipes (or a console
 * socket), record the init pid. Everything that blocks (paths, cgroups,
 * files, runc) runs in one job; the loop only registers the id first (so
 * that a duplicate or a request for the id while it is created gets the
 * right error) and takes the result.
 *
 * A failed Create leaves no container behind, and its id is free for a retry
 * by the time the host reads the error: the runc container (if runc made
 * one) is deleted and a pod cgroup made for it removed before the reply, the
 * id is forgotten and no notification is ever sent for it. Files written
 * into the bundle stay: the bundle is the host's (its scratch disk in the
 * VM). */
#include "containers/container.h"
#include "containers/sandbox_mounts.h"

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
#include "network/network.h"

struct create_job {
	struct container *c;
	struct op_done done;
	struct json_object *spec;
	char id[OCI_ID_MAX];
	char bundle_in[PATH_MAX], scratch_in[PATH_MAX];
	char bundle[PATH_MAX], scratch[PATH_MAX];
	char sandbox_root[PATH_MAX]; /* workload: its sandbox's bundle */
	struct oci_class cls;
	enum container_parent parent;
	/* results */
	const struct cgroup_config *cg;
	struct oci_prepared prep;
	bool pod_created;
	struct runc_proc proc;
	int init_io[3];
	uint64_t oom_base;
	struct oom_watch oomw;
	/* Sandbox or standalone naming a network namespace (§3.2 step 6):
	 * the namespace's NICs when the job started, and their DNS. */
	char netns[NET_ID_MAX];
	struct net_nic *nics;
	size_t n_nics;
	struct net_dns_store dns_store;
	struct net_dns dns;
	/* hostnetwork: the sandbox's or standalone's own annotation, a
	 * workload's sandbox's; its NICs are configured in the UVM's network
	 * namespace instead of being moved. */
	bool host_network;
	struct error failure; /* why it failed, replied once undone */
	uint64_t runc_ns;     /* runc_thread_ns() in its jobs */
};

static void create_job_free(struct create_job *j)
{
	cstdio_close_fds(j->init_io, 3);
	if (j->proc.pty_master >= 0)
		close(j->proc.pty_master);
	oom_watch_close(&j->oomw);
	oci_prepared_release(&j->prep);
	json_object_put(j->spec);
	free(j->nics);
	free(j);
}

/* The init's three pipes: it gets the read end of stdin and the write ends
 * of stdout/stderr; the gcs keeps the others until ExecuteProcess attaches
 * the host's connections (§6.3). */
static int make_pipes(int child[3], int mine[3], struct error *err)
{
	int p[2];

	for (int i = 0; i < 3; i++) {
		if (pipe2(p, O_CLOEXEC) < 0)
			return error_errno(err, errno, "init stdio pipe");
		child[i] = p[i == 0 ? 0 : 1];
		mine[i] = p[i == 0 ? 1 : 0];
	}
	return 0;
}

static int write_spec(struct create_job *j, struct error *err)
{
	char parent[256], path[PATH_MAX + 16];
	struct oci_prepare_opts o = {
		.id = j->id,
		.bundle = j->bundle,
		.cls = j->cls,
		.sandbox_root = j->sandbox_root[0] ? j->sandbox_root : NULL,
		.cgroup_parent = parent,
		.cgroup_per_pod = j->parent == PARENT_PODS,
		.dns = j->dns,
		.sandbox_host_network = j->host_network,
	};
	struct json_object *res = NULL, *lnx;
	int rc;

	if (cgroup_parent_path(j->cg, parent, sizeof(parent)) < 0)
		return error_set(err, ERR_FAIL, ENAMETOOLONG, "cgroup parent path too long");
	rc = oci_spec_prepare(j->spec, &o, &j->prep, err);
	if (rc < 0)
		return rc;
	if (j->cls.kind == OCI_SANDBOX && o.cgroup_per_pod) {
		if (json_object_object_get_ex(j->spec, "linux", &lnx))
			json_object_object_get_ex(lnx, "resources", &res);
		rc = cgroup_pod_create(j->cg, j->id, res, err);
		if (rc < 0)
			return rc;
		j->pod_created = true;
	}
	snprintf(path, sizeof(path), "%s/config.json", j->bundle);
	return json_file_write(path, j->spec, err);
}

/* Undoes what a failed create made, the runc container first (its init is
 * in the pod cgroup). Worker thread. */
static void undo(struct create_job *j)
{
	struct error e;

	if (j->proc.pid > 0 && runc_delete(container_runc(), j->id, true, &e) < 0)
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("cid", j->id)),
			   "runc delete of a failed create: %s", e.msg);
	j->proc.pid = 0;
	if (j->pod_created && cgroup_pod_remove(j->cg, j->id, &e) < 0)
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("cid", j->id)),
			   "create failed, and its pod cgroup stays: %s", e.msg);
	j->pod_created = false;
	if (j->prep.sandbox_mounts && sandbox_mounts_teardown(j->bundle, &e) < 0)
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("cid", j->id)),
			   "create failed, and its pod volumes stay mounted: %s", e.msg);
	j->prep.sandbox_mounts = false;
}

/* Worker thread. */
static int create_steps(struct create_job *j, struct error *err)
{
	int child[3] = {-1, -1, -1}, rc;
	struct error e;

	rc = container_bundle_check(j->bundle_in, j->bundle, sizeof(j->bundle), err);
	if (rc == 0 && j->scratch_in[0])
		rc = container_scratch_check(j->scratch_in, j->scratch, sizeof(j->scratch), err);
	if (rc == 0)
		rc = container_cgroup(j->parent, &j->cg, err);
	if (rc == 0)
		rc = write_spec(j, err);
	if (rc == 0 && !j->prep.terminal)
		rc = make_pipes(child, j->init_io, err);
	if (rc == 0)
		rc = runc_create(container_runc(), j->id, j->bundle, child, j->prep.terminal,
				 &j->proc, err);
	cstdio_close_fds(child, 3);
	oci_prepared_release(&j->prep); /* runc has mounted what was held */
	for (size_t i = 0; rc == 0 && i < j->n_nics; i++)
		rc = j->host_network ? net_nic_configure_here(&j->nics[i], err)
				     : net_nic_move_configure(&j->nics[i], j->proc.pid, err);
	if (rc < 0) {
		undo(j);
		return rc;
	}
	if (j->prep.terminal)
		j->init_io[1] = TAKE_FD(j->proc.pty_master);
	/* The baseline of the OOM verdict, and the live OOM log. */
	if (oom_kill_count(j->cg, j->prep.cgroups_path, &j->oom_base, &e) < 0)
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("cid", j->id)), "OOM count: %s", e.msg);
	if (oom_watch_open(j->cg, j->prep.cgroups_path, &j->oomw, &e) < 0)
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("cid", j->id)),
			   "OOM events will not be logged: %s", e.msg);
	return 0;
}

static int create_run(void *data, struct error *err)
{
	struct create_job *j = data;
	uint64_t t0 = runc_thread_ns();
	int rc = create_steps(j, err);

	j->runc_ns += runc_thread_ns() - t0;
	return rc;
}

/* The job's results become the container's. */
static int adopt(struct create_job *j, struct error *err)
{
	struct container *c = j->c;
	struct cproc *init;

	c->spec = TAKE_PTR(j->spec);
	c->prep = j->prep;
	c->cg = j->cg;
	c->parent = j->parent;
	c->kind = j->cls.kind;
	snprintf(c->sandbox_id, sizeof(c->sandbox_id), "%s", j->cls.sandbox_id);
	snprintf(c->bundle, sizeof(c->bundle), "%s", j->bundle);
	snprintf(c->scratch, sizeof(c->scratch), "%s", j->scratch);
	memcpy(c->init_io, j->init_io, sizeof(c->init_io));
	for (int i = 0; i < 3; i++)
		j->init_io[i] = -1;
	c->oom_base = j->oom_base;
	c->oomw = j->oomw;
	j->oomw.fd = j->oomw.events_fd = -1;
	init = cproc_new(c, j->proc.pid, true);
	if (!init)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	c->init = init;
	/* The init may be gone already: the loop kept its status. */
	if (cproc_watch(init, err) < 0)
		return -EIO;
	container_oom_watch_start(c);
	c->state = CONTAINER_CREATED;
	return 0;
}

static void finish(struct create_job *j)
{
	op_add_runc_ns(&j->done, j->runc_ns);
	op_finish(&j->done, j->failure.errnum ? -j->failure.errnum : -EIO, &j->failure, NULL);
	create_job_free(j);
}

static int undo_run(void *data, struct error *err)
{
	struct create_job *j = data;
	uint64_t t0 = runc_thread_ns();

	undo(j);
	j->runc_ns += runc_thread_ns() - t0;
	return 0;
}

static void undo_done(struct loop *l, int rc, const struct error *err, void *data)
{
	finish(data);
}

/* A create that failed on the loop thread, after runc made the container:
 * the error is replied once the container is gone, so that a retry with the
 * same id finds it free in runc too. */
static void fail_after_runc(struct loop *l, struct create_job *j)
{
	struct error err;

	if (loop_job(l, undo_run, undo_done, j, &err) == 0)
		return;
	log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("cid", j->id)),
		   "a failed create's container stays in runc: %s", err.msg);
	finish(j);
}

/* The container owns its namespace from now on; NICs added while it was
 * being created are moved now. */
static int claim_network(struct loop *l, struct create_job *j, struct error *err)
{
	struct net_nic *now = NULL;
	size_t n = 0;
	int rc;

	if (!j->netns[0])
		return 0;
	rc = net_ns_claim(j->netns, j->id, j->proc.pid, j->host_network, err);
	if (rc == 0)
		rc = net_ns_nics(j->netns, &now, &n, err);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		bool done = false;

		for (size_t k = 0; k < j->n_nics && !done; k++)
			done = !strcmp(j->nics[k].id, now[i].id);
		if (!done &&
		    net_nic_configure_later(l, &now[i], j->host_network ? 0 : j->proc.pid, err) < 0)
			log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("nic", now[i].id)),
				   "NIC not configured: %s", err->msg);
	}
	free(now);
	if (rc < 0)
		net_ns_release(j->id);
	return rc;
}

static void create_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct create_job *j = data;
	struct container *c = j->c;
	struct error err;

	error_copy(&err, jerr);
	if (rc == 0 && !op_wanted(&j->done))
		rc = error_set(&err, ERR_FAIL, ECANCELED, "the gcs is shutting down");
	if (rc == 0)
		rc = adopt(j, &err);
	if (rc == 0)
		rc = claim_network(l, j, &err);
	if (rc < 0) {
		log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("cid", c->id)), "create failed: %s",
			   err.msg);
		container_forget(c);
		container_put(c);
		j->failure = err;
		if (j->proc.pid > 0 || j->pod_created)
			fail_after_runc(l, j);
		else
			finish(j);
		return;
	}
	/* The reply first: the host waits for it, not for the log line. */
	op_add_runc_ns(&j->done, j->runc_ns);
	op_finish(&j->done, 0, NULL, NULL);
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_STR("cid", c->id), LOG_INT("pid", c->init->pid),
			      LOG_STR("cgroup", c->prep.cgroups_path),
			      LOG_BOOL("terminal", c->prep.terminal),
			      LOG_UINT("ms", loop_now_ms() - c->created_ms)),
		   "container created");
	container_put(c);
	create_job_free(j);
}

static int check_schema(const Gcs__VMHostedContainerSettingsV2 *cfg, struct error *err)
{
	const Gcs__SchemaVersion *v = cfg->schemaversion;

	if (!v || v->major < 2 || (v->major == 2 && v->minor < 1))
		return error_set(err, ERR_BAD_JSON, EINVAL,
				 "Create: schema version %u.%u is not supported (2.1 or later)",
				 v ? v->major : 0, v ? v->minor : 0);
	return 0;
}

/* A workload's sandbox must be a live sandbox container of this gcs. */
static void find_sandbox(struct create_job *j)
{
	struct container *sb;

	if (j->cls.kind != OCI_WORKLOAD)
		return;
	sb = container_find(j->cls.sandbox_id);
	if (sb && sb->kind == OCI_SANDBOX && sb->state != CONTAINER_CREATING && !sb->deleting) {
		snprintf(j->sandbox_root, sizeof(j->sandbox_root), "%s", sb->bundle);
		j->host_network = oci_host_network(sb->spec);
	}
}

/* §3.2 step 6: a sandbox or standalone container naming a network
 * namespace gets its NICs (a CRI sandbox must name one unless told to skip
 * pod networking); resolv.conf gets their DNS settings. */
static int take_network(struct create_job *j, struct json_object *spec, struct error *err)
{
	struct json_object *o;
	const char *ns = NULL, *skip = NULL;
	int rc;

	if (j->cls.kind == OCI_WORKLOAD)
		return 0;
	j->host_network = oci_host_network(spec);
	if (json_object_object_get_ex(spec, "windows", &o) &&
	    json_object_object_get_ex(o, "network", &o) &&
	    json_object_object_get_ex(o, "networkNamespace", &o))
		ns = json_object_get_string(o);
	if (json_object_object_get_ex(spec, "annotations", &o) &&
	    json_object_object_get_ex(o, NET_ANN_SKIP_POD_NETWORKING, &o))
		skip = json_object_get_string(o);
	if (!ns || !*ns) {
		if (j->cls.kind == OCI_SANDBOX && !(skip && !strcmp(skip, "true")))
			return error_set(err, ERR_INVALID_ARG, EINVAL,
					 "a CRI sandbox needs windows.network.networkNamespace "
					 "(or the annotation %s=true)",
					 NET_ANN_SKIP_POD_NETWORKING);
		return 0;
	}
	rc = net_guid_norm(ns, j->netns, sizeof(j->netns), "networkNamespace", err);
	if (rc < 0)
		return rc;
	rc = net_ns_nics(j->netns, &j->nics, &j->n_nics, err);
	if (rc < 0)
		return rc;
	net_dns_of(j->nics, j->n_nics, &j->dns_store, &j->dns);
	return 0;
}

int container_create(struct gcs *g, const char *id, const char *activity_id,
		     const Gcs__VMHostedContainerSettingsV2 *cfg, struct json_object *spec,
		     const struct op_done *done, struct error *err)
{
	struct create_job *j;
	int rc;

	if (!cfg)
		return error_set(err, ERR_BAD_JSON, EINVAL, "Create: ContainerConfig is missing");
	rc = check_schema(cfg, err);
	if (rc < 0)
		return rc;
	rc = container_runtime_check(err);
	if (rc < 0)
		return error_prefix(err, "Create %s", id);
	if (!spec || !json_object_is_type(spec, json_type_object))
		return error_set(err, ERR_INVALID_ARG, EINVAL, "Create %s: no OciSpecification",
				 id);
	if (!cfg->ocibundlepath[0])
		return error_set(err, ERR_INVALID_ARG, EINVAL, "Create %s: no OciBundlePath", id);
	j = calloc(1, sizeof(*j));
	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->init_io[0] = j->init_io[1] = j->init_io[2] = -1;
	j->proc.pty_master = -1;
	j->oomw.fd = j->oomw.events_fd = -1;
	j->spec = json_object_get(spec);
	snprintf(j->id, sizeof(j->id), "%s", id);
	snprintf(j->bundle_in, sizeof(j->bundle_in), "%s", cfg->ocibundlepath);
	snprintf(j->scratch_in, sizeof(j->scratch_in), "%s", cfg->scratchdirpath);
	/* The id first: a duplicate is 0xC037010F whatever else is wrong. */
	rc = container_add(g, id, activity_id, &j->c, err);
	if (rc < 0)
		goto fail;
	container_ref(j->c);
	rc = oci_spec_classify(spec, id, &j->cls, err);
	if (rc == 0)
		rc = take_network(j, spec, err);
	if (rc < 0) {
		container_forget(j->c);
		container_put(j->c);
		goto fail;
	}
	find_sandbox(j);
	j->parent = container_choose_parent(spec, j->bundle_in);
	j->done = *done;
	rc = loop_job(g->loop, create_run, create_done, j, err);
	if (rc < 0) {
		container_forget(j->c);
		container_put(j->c);
		goto fail;
	}
	return 0;
fail:
	create_job_free(j);
	return error_prefix(err, "Create %s", id);
}
