/* The container requests (any container id other than the null GUID):
 * Create, ExecuteProcess, WaitForProcess, SignalProcess, ResizeConsole,
 * ShutdownGraceful/Forced, GetProperties, DeleteContainerState and the
 * ModifySettings types ContainerConstraints (container id) and
 * PodCgroupMemoryLimit (the UVM). The work lives in gcs/container_*.c
 * (gcs/containers/container.h); WaitForProcess, SignalProcess and ResizeConsole are
 * answered here from the process table.
 *
 * A process the host started in the UVM through a container-scoped
 * ExecuteProcess (CreateInUtilityVM) is waited for, signalled and resized
 * with that container's id: a pid that is not the container's is looked up
 * among the UVM's processes (gcs/process/uvm.h). */
#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "bridge/bridge.h"
#include "bridge/codec.h"
#include "containers/container.h"
#include "bridge/handler.h"
#include "core/log.h"
#include "process/process.h"
#include "handlers/waiters.h"
#include "handlers/process.h"
#include "process/uvm.h"

HANDLER(MSG_CREATE, SCOPE_CONTAINER, gcs__container_create, container_create)

static int container_execute_request(struct request *req, struct error *err)
{
	const Gcs__ContainerExecuteProcess *m = (const void *)req->msg;
	const Gcs__ProcessParameters *p = m->settings ? m->settings->processparameters : NULL;

	/* §3.4 case 1: a process in the UVM, whatever the container id. */
	if (p && p->createinutilityvm)
		return uvm_execute_request(req, err);
	return container_execute(req, err);
}
HANDLER(MSG_EXECUTE_PROCESS, SCOPE_CONTAINER, gcs__container_execute_process,
	container_execute_request)

static struct cproc *find_process(struct container *c, uint32_t pid)
{
	return pid > INT32_MAX ? NULL : cproc_find(c, (pid_t)pid);
}

static int container_wait(struct request *req, struct error *err)
{
	const Gcs__ContainerWaitForProcess *m = (const void *)req->msg;
	struct container *c;
	struct cproc *p;
	int rc;

	rc = container_get(req->container_id, "WaitForProcess", &c, err);
	if (rc < 0)
		return rc;
	p = find_process(c, m->processid);
	if (!p)
		return uvm_wait_request(req, err);
	if (!p->complete)
		return waiters_add(c->id, p->pid, req, m->timeoutinms, err);
	rc = waiters_reply_exit(req, cproc_exit_code(p));
	cproc_collected(p);
	return rc;
}
HANDLER(MSG_WAIT_FOR_PROCESS, SCOPE_CONTAINER, gcs__container_wait_for_process, container_wait)

/* Any signal to a running process of the container (§3.6); kill(2)
 * directly, not through runc. SIGTERM / SIGKILL to the init decide the
 * exit type the notification reports. */
static int container_signal(struct request *req, struct error *err)
{
	const Gcs__ContainerSignalProcess *m = (const void *)req->msg;
	struct container *c;
	struct cproc *p;
	int rc, sig;

	rc = container_get(req->container_id, "SignalProcess", &c, err);
	if (rc < 0)
		return rc;
	sig = uvm_signal_number(m->options ? m->options->signal : 0, err);
	if (sig < 0)
		return error_prefix(err, "SignalProcess");
	p = find_process(c, m->processid);
	if (!p && m->processid <= INT32_MAX && uvm_process_running((pid_t)m->processid))
		return uvm_signal_request(req, err);
	/* A reaped pid may belong to someone else by now. */
	if (!p || p->reaped)
		return error_set(err, ERR_NOT_FOUND, ESRCH,
				 "SignalProcess: process %u not found in container %s",
				 m->processid, c->id);
	if (kill(p->pid, sig) < 0) {
		int e = errno;

		return error_set(err, e == ESRCH ? ERR_NOT_FOUND : ERR_FAIL, e,
				 "SignalProcess: kill(%d, %d): %s", (int)p->pid, sig, strerror(e));
	}
	if (p->is_init && sig == SIGTERM)
		c->exit_type = CONTAINER_EXIT_GRACEFUL;
	else if (p->is_init && sig == SIGKILL)
		c->exit_type = CONTAINER_EXIT_FORCED;
	log_fields(
		LOG_INFO,
		LOG_FIELDS(LOG_STR("cid", c->id), LOG_INT("pid", p->pid), LOG_INT("signal", sig)),
		"signalled container process");
	return request_reply(req, NULL);
}
HANDLER(MSG_SIGNAL_PROCESS, SCOPE_CONTAINER, gcs__container_signal_process, container_signal)

/* TIOCSWINSZ on the process's pty (§3.7); once it is complete the console
 * is gone and a late resize does nothing, as for UVM processes. */
static int container_resize(struct request *req, struct error *err)
{
	const Gcs__ContainerResizeConsole *m = (const void *)req->msg;
	struct container *c;
	struct cproc *p;
	int rc;

	rc = container_get(req->container_id, "ResizeConsole", &c, err);
	if (rc < 0)
		return rc;
	p = find_process(c, m->processid);
	if (!p)
		return uvm_resize_request(req, err);
	rc = process_console_resize(p->pid, p->had_console, p->console, m->height, m->width, err);
	if (rc < 0)
		return rc;
	return request_reply(req, NULL);
}
HANDLER(MSG_RESIZE_CONSOLE, SCOPE_CONTAINER, gcs__container_resize_console, container_resize)

static int shutdown_graceful(struct request *req, struct error *err)
{
	return container_shutdown(req, SIGTERM, err);
}
HANDLER(MSG_SHUTDOWN_GRACEFUL, SCOPE_CONTAINER, gcs__message_base, shutdown_graceful)

static int shutdown_forced(struct request *req, struct error *err)
{
	return container_shutdown(req, SIGKILL, err);
}
HANDLER(MSG_SHUTDOWN_FORCED, SCOPE_CONTAINER, gcs__message_base, shutdown_forced)

HANDLER(MSG_GET_PROPERTIES, SCOPE_CONTAINER, gcs__container_get_properties, container_properties)

HANDLER(MSG_DELETE_CONTAINER_STATE, SCOPE_CONTAINER, gcs__message_base, container_delete)

static int modify_constraints(struct request *req, const Gcs__ModificationRequest *mr,
			      struct error *err)
{
	const Gcs__LCOWContainerConstraints *cc = mr->containerconstraints;

	return container_update_constraints(req, cc ? codec_json_tree(cc->linux) : NULL, err);
}
MODIFY_HANDLER("ContainerConstraints", SCOPE_CONTAINER, modify_constraints)

static int modify_pod_memory(struct request *req, const Gcs__ModificationRequest *mr,
			     struct error *err)
{
	if (strcmp(mr->requesttype, "Update") != 0)
		return error_set(err, ERR_FAIL, EINVAL,
				 "ModifySettings PodCgroupMemoryLimit: RequestType %s is not "
				 "supported (Update only)",
				 mr->requesttype);
	return container_pod_memory_limit(req, err);
}
MODIFY_HANDLER("PodCgroupMemoryLimit", SCOPE_UVM, modify_pod_memory)

/* ---- what the container runtime reports ----------------------------------------- */

static bool on_process_complete(void *data, const char *cid, pid_t pid, uint32_t exitcode)
{
	return waiters_answer(cid, pid, exitcode);
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
