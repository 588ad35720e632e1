/* GetProperties of a container (spec §3.9), ContainerConstraints (§3.10.8)
 * and PodCgroupMemoryLimit (§3.10.9), as operations.
 *
 * ProcessList: `runc ps` plus the exec'd processes the gcs still tracks (an
 * exited one stays until its exit code is collected, as the reference lists
 * its zombies), without duplicates. Statistics: the container's cgroup
 * through stats_read() (v1 or v2). The reply must stay within the host's
 * 64 KiB: the list is capped at PROPS_MAX_PIDS. */
#include "containers/container.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cgroups/stats.h"
#include "core/log.h"
#include "core/loop.h"

/* {\"ProcessId\":4194304}, is 24 bytes of the string-wrapped Properties;
 * 1500 of them and the largest metrics object stay below 64 KiB. */
#define PROPS_MAX_PIDS 1500

/* runc update reads LinuxResources as plain JSON. */
#define RESOURCES_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

struct props_job {
	struct container *c;
	struct op_done done; /* result: const struct container_props * */
	char id[OCI_ID_MAX];
	const struct cgroup_config *cg;
	char cgroups_path[PATH_MAX];
	bool want_pids, want_stats;
	pid_t *pids;
	size_t n;
	struct json_object *metrics;
	uint64_t runc_ns; /* runc_thread_ns() in the job */
};

/* Worker thread. */
static int props_run(void *data, struct error *err)
{
	struct props_job *j = data;
	uint64_t t0 = runc_thread_ns();
	int rc = 0;

	if (j->want_pids)
		rc = runc_ps(container_runc(), j->id, &j->pids, &j->n, err);
	j->runc_ns = runc_thread_ns() - t0;
	if (rc == 0 && j->want_stats)
		rc = stats_read(j->cg, j->cgroups_path, &j->metrics, err);
	return rc;
}

static bool listed(const uint32_t *v, size_t n, uint32_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

/* runc's pids and the exec'd processes still tracked, each once. The
 * caller frees *out. */
static int process_list(struct props_job *j, uint32_t **out, size_t *n_out, struct error *err)
{
	size_t max = j->n + 1;
	uint32_t *pids;
	size_t n = 0;

	for (struct cproc *p = j->c->procs; p; p = p->next)
		max++;
	pids = calloc(max, sizeof(*pids));
	if (!pids)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	for (size_t i = 0; i < j->n; i++)
		if (j->pids[i] > 0 && !listed(pids, n, (uint32_t)j->pids[i]))
			pids[n++] = (uint32_t)j->pids[i];
	for (struct cproc *p = j->c->procs; p; p = p->next)
		if (!p->is_init && !listed(pids, n, (uint32_t)p->pid))
			pids[n++] = (uint32_t)p->pid;
	if (n > PROPS_MAX_PIDS) {
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("cid", j->id), LOG_UINT("pids", n)),
			   "ProcessList cut to %d entries to fit the bridge's message limit",
			   PROPS_MAX_PIDS);
		n = PROPS_MAX_PIDS;
	}
	*out = pids;
	*n_out = n;
	return 0;
}

static void props_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct props_job *j = data;
	struct container_props props = {.metrics = j->metrics};
	uint32_t *pids = NULL;
	struct error err;

	error_copy(&err, jerr);
	if (!op_wanted(&j->done))
		rc = error_set(&err, ERR_FAIL, ECANCELED, "nobody waits for it");
	if (rc == 0 && j->want_pids) {
		rc = process_list(j, &pids, &props.n_pids, &err);
		props.pids = pids;
		props.has_pids = true;
	}
	if (rc < 0)
		error_prefix(&err, "GetProperties %s", j->id);
	if (j->want_pids)
		op_add_runc_ns(&j->done, j->runc_ns);
	op_finish(&j->done, rc, &err, &props);
	free(pids);
	json_object_put(j->metrics);
	free(j->pids);
	container_put(j->c);
	free(j);
}

int container_properties(struct gcs *g, const char *id, bool want_pids, bool want_stats,
			 const struct op_done *done, struct error *err)
{
	static const struct container_props none;
	struct container *c;
	struct props_job *j;
	int rc;

	rc = container_get(id, "GetProperties", &c, err);
	if (rc < 0)
		return rc;
	/* Other property types are ignored, as the reference does. */
	if (!want_pids && !want_stats) {
		op_finish(done, 0, NULL, &none);
		return 0;
	}
	j = calloc(1, sizeof(*j));
	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->want_pids = want_pids;
	j->want_stats = want_stats;
	j->c = c;
	j->done = *done;
	j->cg = c->cg;
	snprintf(j->id, sizeof(j->id), "%s", c->id);
	snprintf(j->cgroups_path, sizeof(j->cgroups_path), "%s", c->prep.cgroups_path);
	container_ref(c);
	rc = loop_job(g->loop, props_run, props_done, j, err);
	if (rc < 0) {
		container_put(c);
		free(j);
	}
	return rc;
}

/* ---- resource updates ---------------------------------------------------------- */

struct update_job {
	struct container *c; /* NULL: PodCgroupMemoryLimit */
	struct op_done done;
	char id[OCI_ID_MAX];
	char *resources;  /* LinuxResources JSON for runc update */
	uint64_t runc_ns; /* runc_thread_ns() in the job */
};

static int update_run(void *data, struct error *err)
{
	struct update_job *j = data;
	uint64_t t0 = runc_thread_ns();
	int rc;

	if (!j->c)
		return container_refresh_limits(err);
	rc = runc_update(container_runc(), j->id, j->resources, err);
	j->runc_ns = runc_thread_ns() - t0;
	return rc;
}

static void update_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct update_job *j = data;
	struct error err;

	error_copy(&err, jerr);
	if (rc < 0)
		error_prefix(&err, "ModifySettings %s",
			     j->c ? "ContainerConstraints" : "PodCgroupMemoryLimit");
	if (j->c)
		op_add_runc_ns(&j->done, j->runc_ns);
	op_finish(&j->done, rc, &err, NULL);
	if (j->c)
		container_put(j->c);
	free(j->resources);
	free(j);
}

static int update_submit(struct gcs *g, struct update_job *j, const struct op_done *done,
			 struct error *err)
{
	int rc;

	j->done = *done;
	if (j->c)
		container_ref(j->c);
	rc = loop_job(g->loop, update_run, update_done, j, err);
	if (rc < 0) {
		if (j->c)
			container_put(j->c);
		free(j->resources);
		free(j);
	}
	return rc;
}

int container_update_constraints(struct gcs *g, const char *id, struct json_object *linux_resources,
				 const struct op_done *done, struct error *err)
{
	struct update_job *j;
	struct container *c;
	int rc;

	rc = container_get(id, "ContainerConstraints", &c, err);
	if (rc < 0)
		return rc;
	/* Only the Windows part (or nothing) given: nothing to change here. */
	if (!linux_resources) {
		op_finish(done, 0, NULL, NULL);
		return 0;
	}
	if (!json_object_is_type(linux_resources, json_type_object))
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "ContainerConstraints: Linux is not an object");
	j = calloc(1, sizeof(*j));
	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->c = c;
	snprintf(j->id, sizeof(j->id), "%s", c->id);
	j->resources =
		strdup(json_object_to_json_string_ext(linux_resources, RESOURCES_JSON_FLAGS));
	if (!j->resources) {
		free(j);
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	}
	return update_submit(g, j, done, err);
}

int container_pod_memory_limit(struct gcs *g, const struct op_done *done, struct error *err)
{
	struct update_job *j;
	int rc;

	rc = container_runtime_check(err);
	if (rc < 0)
		return error_prefix(err, "PodCgroupMemoryLimit");
	j = calloc(1, sizeof(*j));
	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	return update_submit(g, j, done, err);
}
