/* After a container's init exits (spec §3.14, §6.3, §6.6): `runc kill --all`
 * when the container shares the UVM's pid namespace (its other processes
 * would otherwise keep the stdio open and live on), the OOM verdict, and the
 * one container notification.
 *
 * OOM: there is no OOM message on the bridge. The init's wait reports 137
 * (SIGKILL), and beyond the reference, which only logs:
 *   - every OOM event in a container's cgroup is logged with the container
 *     id as it happens (an eventfd on v1, memory.events on v2);
 *   - the cgroup's oom_kill counter is read after create and again after
 *     the init exited (before `runc delete` removes the cgroup); when it
 *     grew, the notification's ResultInfo (a JSON string the host never
 *     parses for LCOW; the reference omits it) says
 *     {"Reason":"OOMKilled","OOMKillCount":N}, and the log says so too. */
#include "containers/container.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/log.h"
#include "core/loop.h"

struct post_exit {
	struct container *c;
	char id[OCI_ID_MAX];
	const struct cgroup_config *cg;
	char cgroups_path[PATH_MAX];
	bool have_count;
	uint64_t count;
};

/* The verdict: did the kernel OOM-kill in the cgroup since create? */
static void note_oom(struct container *c, uint64_t count)
{
	if (count <= c->oom_base)
		return;
	c->oom_kills = count - c->oom_base;
	log_fields(LOG_WARN,
		   LOG_FIELDS(LOG_STR("cid", c->id), LOG_INT("pid", c->init->pid),
			      LOG_UINT("oomKills", c->oom_kills)),
		   "container %s: the kernel OOM-killed in its cgroup", c->id);
}

/* Worker thread. */
static int post_exit_run(void *data, struct error *err)
{
	struct post_exit *j = data;
	struct error e;

	if (runc_kill(container_runc(), j->id, SIGKILL, true, &e) < 0)
		log_fields(LOG_DEBUG, LOG_FIELDS(LOG_STR("cid", j->id)), "runc kill --all: %s",
			   e.msg);
	if (oom_kill_count(j->cg, j->cgroups_path, &j->count, &e) == 0)
		j->have_count = true;
	else
		log_fields(LOG_DEBUG, LOG_FIELDS(LOG_STR("cid", j->id)), "OOM count: %s", e.msg);
	return 0;
}

static void post_exit_done(struct loop *l, int rc, const struct error *err, void *data)
{
	struct post_exit *j = data;
	struct container *c = j->c;

	if (c->in_table && c->init) {
		if (j->have_count)
			note_oom(c, j->count);
		c->init->post_exit_done = true;
		cproc_check_complete(c->init);
	}
	container_put(c);
	free(j);
}

/* With its own pid namespace the container has no process left to kill
 * (the kernel killed them with the init): only the OOM count is read, a
 * cgroupfs read that does not block, so on the loop rather than in a job. */
static bool post_exit_inline(struct container *c)
{
	uint64_t count = 0;
	struct error err;

	if (!c->prep.new_pid_ns)
		return false;
	if (oom_kill_count(c->cg, c->prep.cgroups_path, &count, &err) < 0)
		log_fields(LOG_DEBUG, LOG_FIELDS(LOG_STR("cid", c->id)), "OOM count: %s", err.msg);
	else
		note_oom(c, count);
	c->init->post_exit_done = true;
	cproc_check_complete(c->init);
	return true;
}

void container_init_exited(struct container *c)
{
	struct post_exit *j;
	struct error err;

	if (!c->deleting && c->in_table && c->cg && post_exit_inline(c))
		return;
	if (!c->deleting && c->in_table && c->cg) {
		j = calloc(1, sizeof(*j));
		if (j) {
			j->c = c;
			snprintf(j->id, sizeof(j->id), "%s", c->id);
			j->cg = c->cg;
			snprintf(j->cgroups_path, sizeof(j->cgroups_path), "%s",
				 c->prep.cgroups_path);
			container_ref(c);
			if (loop_job(c->gcs->loop, post_exit_run, post_exit_done, j, &err) == 0)
				return;
			container_put(c);
			free(j);
			log_fields(LOG_ERROR, LOG_FIELDS(LOG_STR("cid", c->id)),
				   "after the init's exit: %s", err.msg);
		}
	}
	/* Being deleted (runc delete is killing it) or out of resources:
	 * complete without the extra steps rather than never. */
	if (!c->init)
		return;
	c->init->post_exit_done = true;
	cproc_check_complete(c->init);
}

void container_maybe_notify(struct container *c)
{
	struct cproc *init = c->init;
	const struct container_events *ev = container_events();
	struct container_exit_report report;
	char info[96] = "";

	if (c->notified || !c->in_table || c->deleting || !init || !init->complete)
		return;
	/* Wait for a Shutdown's kill to say how the container ended. */
	if (c->kills_in_flight > 0)
		return;
	/* The wait's reply goes first (§3.14); an init that was never started
	 * gets no wait. */
	if (init->started && !init->answered)
		return;
	c->notified = true;
	if (c->oom_kills)
		snprintf(info, sizeof(info),
			 "{\"Reason\":\"OOMKilled\",\"OOMKillCount\":%" PRIu64 "}", c->oom_kills);
	report.id = c->id;
	report.activity_id = c->activity_id[0] ? c->activity_id : NULL;
	report.type = c->exit_type;
	report.result = (int32_t)cproc_exit_code(init);
	report.result_info = info;
	if (ev->exited)
		ev->exited(ev->data, &report);
}

/* ---- live OOM events ----------------------------------------------------------- */

static void on_oom(struct loop *l, int fd, uint32_t events, void *data)
{
	struct container *c = data;
	uint64_t count = 0;
	struct error err;

	if (oom_watch_ack(c->cg, c->prep.cgroups_path, &c->oomw, &count, &err) < 0) {
		/* v1 signals the eventfd when the cgroup goes away too. */
		log_fields(LOG_DEBUG, LOG_FIELDS(LOG_STR("cid", c->id)), "OOM watch ends: %s",
			   err.msg);
		container_oom_watch_stop(c);
		return;
	}
	/* v1 signals when the cgroup runs out of memory, before the kernel
	 * has picked its victim: the count may not have moved yet. */
	log_fields(LOG_WARN,
		   LOG_FIELDS(LOG_STR("cid", c->id), LOG_UINT("oomKills", count - c->oom_base),
			      LOG_STR("cgroup", c->prep.cgroups_path)),
		   "OOM in container %s: it reached its memory limit", c->id);
}

void container_oom_watch_start(struct container *c)
{
	struct error err;
	uint32_t ev = c->oomw.layout == CGROUP_V1 ? EPOLLIN : EPOLLPRI;

	if (c->oomw.fd < 0)
		return;
	c->oom_watch = loop_watch_add(c->gcs->loop, c->oomw.fd, ev, on_oom, c, &err);
	if (!c->oom_watch) {
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("cid", c->id)),
			   "OOM events will not be logged: %s", err.msg);
		oom_watch_close(&c->oomw);
	}
}

void container_oom_watch_stop(struct container *c)
{
	loop_watch_remove(c->oom_watch);
	c->oom_watch = NULL;
	oom_watch_close(&c->oomw);
}
