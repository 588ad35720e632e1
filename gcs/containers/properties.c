/* GetProperties of a container (spec §3.9), ContainerConstraints (§3.10.8)
 * and PodCgroupMemoryLimit (§3.10.9).
 *
 * ProcessList: `runc ps` plus the exec'd processes the gcs still tracks (an
 * exited one stays until its wait is answered, as the reference lists its
 * zombies), without duplicates. Statistics: the container's cgroup through
 * stats_read() (v1 or v2) as LCOWMetrics. The reply must stay within the
 * host's 64 KiB: the list is capped at PROPS_MAX_PIDS. */
#include "containers/container.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bridge/codec.h"
#include "core/log.h"
#include "core/loop.h"
#include "handlers/props.h"
#include "cgroups/stats.h"

/* {\"ProcessId\":4194304}, is 24 bytes of the string-wrapped Properties;
 * 1500 of them and the largest metrics object stay below 64 KiB. */
#define PROPS_MAX_PIDS 1500

struct props_job {
	struct container *c;
	struct request *req; /* NULL once the gcs cancelled it */
	char id[OCI_ID_MAX];
	const struct cgroup_config *cg;
	char cgroups_path[PATH_MAX];
	bool want_pids, want_stats;
	pid_t *pids;
	size_t n;
	struct json_object *metrics;
};

static void job_cancel(struct request *req, void *data)
{
	*(struct request **)data = NULL;
}

/* Worker thread. */
static int props_run(void *data, struct error *err)
{
	struct props_job *j = data;
	int rc = 0;

	if (j->want_pids)
		rc = runc_ps(container_runc(), j->id, &j->pids, &j->n, err);
	if (rc == 0 && j->want_stats)
		rc = stats_read(j->cg, j->cgroups_path, &j->metrics, err);
	return rc;
}

static bool listed(uint32_t *v, size_t n, uint32_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

static int process_list(struct props_job *j, Gcs__Properties *props, struct error *err)
{
	struct arena *a = j->req->arena;
	size_t max = j->n + 1;
	uint32_t *pids;
	size_t n = 0;

	for (struct cproc *p = j->c->procs; p; p = p->next)
		max++;
	pids = arena_alloc(a, max * sizeof(*pids));
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
	return props_process_list(a, pids, n, props, err);
}

static void props_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct props_job *j = data;
	Gcs__ContainerGetPropertiesResponse resp = GCS__CONTAINER_GET_PROPERTIES_RESPONSE__INIT;
	Gcs__Properties props = GCS__PROPERTIES__INIT;
	struct error err;

	error_copy(&err, jerr);
	if (!j->req)
		goto out;
	request_on_cancel(j->req, NULL, NULL);
	if (rc == 0 && j->want_pids)
		rc = process_list(j, &props, &err);
	if (rc == 0 && j->metrics) {
		props.lcowmetrics = codec_json_wrap(j->req->arena, j->metrics);
		if (!props.lcowmetrics)
			rc = error_set(&err, ERR_FAIL, ENOMEM, "out of memory");
	}
	if (rc < 0) {
		error_prefix(&err, "GetProperties %s", j->id);
		request_fail(j->req, &err);
	} else {
		resp.properties = &props;
		request_reply(j->req, &resp.base);
	}
out:
	json_object_put(j->metrics);
	free(j->pids);
	container_put(j->c);
	free(j);
}

int container_properties(struct request *req, struct error *err)
{
	const Gcs__ContainerGetProperties *m = (const void *)req->msg;
	Gcs__ContainerGetPropertiesResponse resp = GCS__CONTAINER_GET_PROPERTIES_RESPONSE__INIT;
	Gcs__Properties props = GCS__PROPERTIES__INIT;
	struct container *c;
	struct props_job *j;
	int rc;

	rc = container_get(req->container_id, "GetProperties", &c, err);
	if (rc < 0)
		return rc;
	j = calloc(1, sizeof(*j));
	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->want_pids = props_query_wants(m->query, "ProcessList");
	j->want_stats = props_query_wants(m->query, "Statistics");
	/* Other property types are ignored, as the reference does. */
	if (!j->want_pids && !j->want_stats) {
		free(j);
		resp.properties = &props;
		return request_reply(req, &resp.base);
	}
	j->c = c;
	j->req = req;
	j->cg = c->cg;
	snprintf(j->id, sizeof(j->id), "%s", c->id);
	snprintf(j->cgroups_path, sizeof(j->cgroups_path), "%s", c->prep.cgroups_path);
	container_ref(c);
	rc = loop_job(req->gcs->loop, props_run, props_done, j, err);
	if (rc < 0) {
		container_put(c);
		free(j);
		return rc;
	}
	request_on_cancel(req, job_cancel, &j->req);
	return REQUEST_PENDING;
}

/* ---- resource updates ---------------------------------------------------------- */

struct update_job {
	struct container *c; /* NULL: PodCgroupMemoryLimit */
	struct request *req;
	char id[OCI_ID_MAX];
	char *resources; /* LinuxResources JSON for runc update */
};

static int update_run(void *data, struct error *err)
{
	struct update_job *j = data;

	if (!j->c)
		return container_refresh_limits(err);
	return runc_update(container_runc(), j->id, j->resources, err);
}

static void update_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct update_job *j = data;
	struct error err;

	error_copy(&err, jerr);
	if (j->req) {
		request_on_cancel(j->req, NULL, NULL);
		if (rc < 0) {
			error_prefix(&err, "ModifySettings %s",
				     j->c ? "ContainerConstraints" : "PodCgroupMemoryLimit");
			request_fail(j->req, &err);
		} else {
			request_reply(j->req, NULL);
		}
	}
	if (j->c)
		container_put(j->c);
	free(j->resources);
	free(j);
}

static int update_submit(struct request *req, struct update_job *j, struct error *err)
{
	int rc;

	j->req = req;
	if (j->c)
		container_ref(j->c);
	rc = loop_job(req->gcs->loop, update_run, update_done, j, err);
	if (rc < 0) {
		if (j->c)
			container_put(j->c);
		free(j->resources);
		free(j);
		return rc;
	}
	request_on_cancel(req, job_cancel, &j->req);
	return REQUEST_PENDING;
}

int container_update_constraints(struct request *req, struct json_object *linux_resources,
				 struct error *err)
{
	struct update_job *j;
	struct container *c;
	int rc;

	rc = container_get(req->container_id, "ContainerConstraints", &c, err);
	if (rc < 0)
		return rc;
	/* Only the Windows part (or nothing) given: nothing to change here. */
	if (!linux_resources)
		return request_reply(req, NULL);
	if (!json_object_is_type(linux_resources, json_type_object))
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "ContainerConstraints: Linux is not an object");
	j = calloc(1, sizeof(*j));
	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	j->c = c;
	snprintf(j->id, sizeof(j->id), "%s", c->id);
	j->resources = strdup(json_object_to_json_string_ext(linux_resources, CODEC_JSON_FLAGS));
	if (!j->resources) {
		free(j);
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	}
	return update_submit(req, j, err);
}

int container_pod_memory_limit(struct request *req, struct error *err)
{
	struct update_job *j;
	int rc;

	rc = container_runtime_check(err);
	if (rc < 0)
		return error_prefix(err, "PodCgroupMemoryLimit");
	j = calloc(1, sizeof(*j));
	if (!j)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	return update_submit(req, j, err);
}
