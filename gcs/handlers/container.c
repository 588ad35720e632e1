/* The container requests (any container id other than the null GUID):
 * Create, ExecuteProcess, WaitForProcess, SignalProcess, ResizeConsole,
 * ShutdownGraceful/Forced, GetProperties, DeleteContainerState and the
 * ModifySettings types ContainerConstraints (container id) and
 * PodCgroupMemoryLimit (the UVM). The work is the container runtime's
 * (gcs/containers/container.h); the waits are kept here
 * (gcs/handlers/waiters.h), keyed by container id and pid.
 *
 * A process the host started in the UVM through a container-scoped
 * ExecuteProcess (CreateInUtilityVM) is waited for, signalled and resized
 * with that container's id: a pid that is not the container's is looked up
 * among the UVM's processes (gcs/handlers/process.c). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "bridge/bridge.h"
#include "bridge/codec.h"
#include "bridge/handler.h"
#include "containers/container.h"
#include "core/log.h"
#include "handlers/pending.h"
#include "handlers/process.h"
#include "handlers/props.h"
#include "handlers/waiters.h"
#include "process/uvm.h"

static int container_create_request(struct request *req, struct error *err)
{
	const Gcs__ContainerCreate *m = (const void *)req->msg;
	const Gcs__VMHostedContainerSettingsV2 *cfg = m->containerconfig;
	struct op_done done;
	int rc;

	rc = pending_begin(req, NULL, NULL, &done, err);
	if (rc < 0)
		return rc;
	rc = container_create(req->gcs, req->container_id, req->activity_id, cfg,
			      cfg ? codec_json_tree(cfg->ocispecification) : NULL, &done, err);
	return pending_end(&done, rc);
}
HANDLER(MSG_CREATE, SCOPE_CONTAINER, gcs__container_create, container_create_request)

static int container_execute_request(struct request *req, struct error *err)
{
	const Gcs__ContainerExecuteProcess *m = (const void *)req->msg;
	const Gcs__ProcessParameters *p = m->settings ? m->settings->processparameters : NULL;
	struct op_done done;
	int rc;

	/* §3.4 case 1: a process in the UVM, whatever the container id. */
	if (p && p->createinutilityvm)
		return uvm_execute_request(req, err);
	rc = pending_begin(req, reply_process_id, NULL, &done, err);
	if (rc < 0)
		return rc;
	rc = container_execute(req->gcs, req->container_id, m->settings,
			       p ? codec_json_tree(p->ociprocess) : NULL, &done, err);
	return pending_end(&done, rc);
}
HANDLER(MSG_EXECUTE_PROCESS, SCOPE_CONTAINER, gcs__container_execute_process,
	container_execute_request)

/* True when pid is a process of c; else it may be one of the UVM. */
static bool is_container_process(struct container *c, uint32_t pid)
{
	return pid <= INT32_MAX && cproc_find(c, (pid_t)pid);
}

static int container_wait(struct request *req, struct error *err)
{
	const Gcs__ContainerWaitForProcess *m = (const void *)req->msg;
	pid_t pid = (pid_t)m->processid;
	struct container *c;
	uint32_t code;
	bool complete;
	int rc;

	rc = container_get(req->container_id, "WaitForProcess", &c, err);
	if (rc < 0)
		return rc;
	if (!is_container_process(c, m->processid))
		return uvm_wait_request(req, err);
	cproc_exit_status(c, pid, &complete, &code);
	if (!complete)
		return waiters_add(c->id, pid, req, m->timeoutinms, err);
	rc = waiters_reply_exit(req, code, 0);
	cproc_collected(cproc_find(c, pid));
	return rc;
}
HANDLER(MSG_WAIT_FOR_PROCESS, SCOPE_CONTAINER, gcs__container_wait_for_process, container_wait)

/* Any signal to a running process of the container (§3.6). */
static int container_signal(struct request *req, struct error *err)
{
	const Gcs__ContainerSignalProcess *m = (const void *)req->msg;
	struct container *c;
	int rc, sig;

	rc = container_get(req->container_id, "SignalProcess", &c, err);
	if (rc < 0)
		return rc;
	sig = uvm_signal_number(m->options ? m->options->signal : 0, err);
	if (sig < 0)
		return error_prefix(err, "SignalProcess");
	if (!is_container_process(c, m->processid) && m->processid <= INT32_MAX &&
	    uvm_process_running((pid_t)m->processid))
		return uvm_signal_request(req, err);
	rc = m->processid > INT32_MAX ? -ESRCH
				      : container_signal_process(c, (pid_t)m->processid, sig, err);
	if (rc == -ESRCH)
		return error_set(err, ERR_NOT_FOUND, ESRCH,
				 "SignalProcess: process %u not found in container %s",
				 m->processid, c->id);
	if (rc < 0)
		return error_prefix(err, "SignalProcess");
	return request_reply(req, NULL);
}
HANDLER(MSG_SIGNAL_PROCESS, SCOPE_CONTAINER, gcs__container_signal_process, container_signal)

/* TIOCSWINSZ on the process's pty (§3.7). */
static int container_resize(struct request *req, struct error *err)
{
	const Gcs__ContainerResizeConsole *m = (const void *)req->msg;
	struct container *c;
	int rc;

	rc = container_get(req->container_id, "ResizeConsole", &c, err);
	if (rc < 0)
		return rc;
	if (!is_container_process(c, m->processid))
		return uvm_resize_request(req, err);
	rc = container_resize_console(c, (pid_t)m->processid, m->height, m->width, err);
	if (rc < 0)
		return rc;
	return request_reply(req, NULL);
}
HANDLER(MSG_RESIZE_CONSOLE, SCOPE_CONTAINER, gcs__container_resize_console, container_resize)

static int shutdown_request(struct request *req, int sig, struct error *err)
{
	struct op_done done;
	int rc;

	rc = pending_begin(req, NULL, NULL, &done, err);
	if (rc < 0)
		return rc;
	rc = container_shutdown(req->gcs, req->container_id, sig, &done, err);
	return pending_end(&done, rc);
}

static int shutdown_graceful(struct request *req, struct error *err)
{
	return shutdown_request(req, SIGTERM, err);
}
HANDLER(MSG_SHUTDOWN_GRACEFUL, SCOPE_CONTAINER, gcs__message_base, shutdown_graceful)

static int shutdown_forced(struct request *req, struct error *err)
{
	return shutdown_request(req, SIGKILL, err);
}
HANDLER(MSG_SHUTDOWN_FORCED, SCOPE_CONTAINER, gcs__message_base, shutdown_forced)

/* ProcessList and Statistics as the reply's Properties (§3.9). */
static int reply_properties(struct request *req, const void *result)
{
	const struct container_props *cp = result;
	Gcs__ContainerGetPropertiesResponse resp = GCS__CONTAINER_GET_PROPERTIES_RESPONSE__INIT;
	Gcs__Properties props = GCS__PROPERTIES__INIT;
	struct error err;
	int rc = 0;

	if (cp->has_pids)
		rc = props_process_list(req->arena, cp->pids, cp->n_pids, &props, &err);
	if (rc == 0 && cp->metrics) {
		props.lcowmetrics = codec_json_wrap(req->arena, cp->metrics);
		if (!props.lcowmetrics)
			rc = error_set(&err, ERR_FAIL, ENOMEM, "out of memory");
	}
	if (rc < 0) {
		error_prefix(&err, "GetProperties %s", req->container_id);
		return request_fail(req, &err);
	}
	resp.properties = &props;
	return request_reply(req, &resp.base);
}

static int container_properties_request(struct request *req, struct error *err)
{
	const Gcs__ContainerGetProperties *m = (const void *)req->msg;
	struct op_done done;
	int rc;

	rc = pending_begin(req, reply_properties, NULL, &done, err);
	if (rc < 0)
		return rc;
	rc = container_properties(req->gcs, req->container_id,
				  props_query_wants(m->query, "ProcessList"),
				  props_query_wants(m->query, "Statistics"), &done, err);
	return pending_end(&done, rc);
}
HANDLER(MSG_GET_PROPERTIES, SCOPE_CONTAINER, gcs__container_get_properties,
	container_properties_request)

static int container_delete_request(struct request *req, struct error *err)
{
	struct op_done done;
	int rc;

	rc = pending_begin(req, NULL, NULL, &done, err);
	if (rc < 0)
		return rc;
	rc = container_delete(req->gcs, req->container_id, &done, err);
	return pending_end(&done, rc);
}
HANDLER(MSG_DELETE_CONTAINER_STATE, SCOPE_CONTAINER, gcs__message_base, container_delete_request)

static int modify_constraints(struct request *req, const Gcs__ModificationRequest *mr,
			      struct error *err)
{
	const Gcs__LCOWContainerConstraints *cc = mr->containerconstraints;
	struct op_done done;
	int rc;

	rc = pending_begin(req, NULL, NULL, &done, err);
	if (rc < 0)
		return rc;
	rc = container_update_constraints(req->gcs, req->container_id,
					  cc ? codec_json_tree(cc->linux) : NULL, &done, err);
	return pending_end(&done, rc);
}
MODIFY_HANDLER("ContainerConstraints", SCOPE_CONTAINER, modify_constraints)

static int modify_pod_memory(struct request *req, const Gcs__ModificationRequest *mr,
			     struct error *err)
{
	struct op_done done;
	int rc;

	if (strcmp(mr->requesttype, "Update") != 0)
		return error_set(err, ERR_FAIL, EINVAL,
				 "ModifySettings PodCgroupMemoryLimit: RequestType %s is not "
				 "supported (Update only)",
				 mr->requesttype);
	rc = pending_begin(req, NULL, NULL, &done, err);
	if (rc < 0)
		return rc;
	rc = container_pod_memory_limit(req->gcs, &done, err);
	return pending_end(&done, rc);
}
MODIFY_HANDLER("PodCgroupMemoryLimit", SCOPE_UVM, modify_pod_memory)

/* ---- what the container runtime reports ----------------------------------------- */

static bool on_process_complete(void *data, const char *cid, pid_t pid, uint32_t exitcode,
				uint64_t reaped_ns)
{
	return waiters_answer(cid, pid, exitcode, reaped_ns);
}

static void on_process_gone(void *data, const char *cid, pid_t pid, const char *why)
{
	struct error err;

	error_set(&err, ERR_NOT_FOUND, ESRCH, "WaitForProcess: process %d: %s", (int)pid, why);
	waiters_fail(cid, pid, &err);
}

static void on_exited(void *data, const struct container_exit_report *r)
{
	struct gcs *g = data;
	struct error err;

	if (bridge_notify_container_info(g->bridge, r->id, r->activity_id, r->type, r->result,
					 r->result_info, &err) < 0)
		log_fields(LOG_ERROR, LOG_FIELDS(LOG_STR("cid", r->id)), "%s", err.msg);
}

static int container_startup(struct gcs *g, struct error *err)
{
	const struct container_events ev = {
		.process_complete = on_process_complete,
		.process_gone = on_process_gone,
		.exited = on_exited,
		.data = g,
	};

	container_events_set(&ev);
	return container_runtime_start(g, err);
}
STARTUP_HOOK(container_startup)

DUMP_SECTION(container_describe)
