/* The WaitForProcess requests pending (gcs/handlers/waiters.h): one group
 * per waited process, each a doubly linked list, so that a timeout or a
 * cancel unlinks in O(1) and an answer walks only its own process's waits
 * (50,000 waits used to take minutes to unlink one by one). */
#include "handlers/waiters.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "containers/oci_spec.h"
#include "core/loop.h"
#include "gcs.pb-c.h"

struct group;

struct waiter {
	struct request *req;
	struct group *g;
	struct loop_timer *timer; /* finite TimeoutInMs */
	struct waiter *prev, *next;
};

struct group {
	char cid[OCI_ID_MAX];
	pid_t pid;
	unsigned n;
	struct waiter *head;
	struct group *next;
};

static struct group *groups;

static int still_running(struct error *err, pid_t pid)
{
	return error_set(err, ERR_TIMEOUT, ETIMEDOUT, "WaitForProcess: process %d still running",
			 (int)pid);
}

static struct group *find_group(const char *cid, pid_t pid)
{
	for (struct group *g = groups; g; g = g->next)
		if (g->pid == pid && !strcmp(g->cid, cid))
			return g;
	return NULL;
}

static void drop_group_if_empty(struct group *g)
{
	if (g->head)
		return;
	for (struct group **pp = &groups; *pp; pp = &(*pp)->next) {
		if (*pp == g) {
			*pp = g->next;
			break;
		}
	}
	free(g);
}

/* Unlinks w and cancels its timer; the caller completes its request and
 * frees it, and drops the group when it is done with it. */
static void unlink_waiter(struct waiter *w)
{
	struct group *g = w->g;

	if (w->prev)
		w->prev->next = w->next;
	else
		g->head = w->next;
	if (w->next)
		w->next->prev = w->prev;
	g->n--;
	loop_timer_cancel(w->timer);
	w->timer = NULL;
	request_on_cancel(w->req, NULL, NULL);
}

int waiters_reply_exit(struct request *req, uint32_t exitcode, uint64_t reaped_ns)
{
	Gcs__ContainerWaitForProcessResponse resp = GCS__CONTAINER_WAIT_FOR_PROCESS_RESPONSE__INIT;

	request_note_process_reaped(req, reaped_ns);
	resp.exitcode = exitcode;
	return request_reply(req, &resp.base);
}

/* Completes every wait of (cid, pid): with the exit code, or err. */
static bool complete_group(const char *cid, pid_t pid, uint32_t exitcode, uint64_t reaped_ns,
			   const struct error *err)
{
	struct group *g = find_group(cid, pid);

	if (!g)
		return false;
	while (g->head) {
		struct waiter *w = g->head;

		unlink_waiter(w);
		if (err)
			request_fail(w->req, err);
		else
			waiters_reply_exit(w->req, exitcode, reaped_ns);
		free(w);
	}
	drop_group_if_empty(g);
	return true;
}

bool waiters_answer(const char *cid, pid_t pid, uint32_t exitcode, uint64_t reaped_ns)
{
	return complete_group(cid, pid, exitcode, reaped_ns, NULL);
}

void waiters_fail(const char *cid, pid_t pid, const struct error *err)
{
	complete_group(cid, pid, 0, 0, err);
}

static void on_timeout(struct loop *l, void *data)
{
	struct waiter *w = data;
	struct group *g = w->g;
	struct error err;

	w->timer = NULL; /* fired: freed by the loop */
	unlink_waiter(w);
	still_running(&err, g->pid);
	request_fail(w->req, &err);
	free(w);
	drop_group_if_empty(g);
}

/* The gcs is shutting down: let go of the request without answering. */
static void on_cancel(struct request *req, void *data)
{
	struct waiter *w = data;
	struct group *g = w->g;

	unlink_waiter(w);
	free(w);
	drop_group_if_empty(g);
}

static struct group *get_group(const char *cid, pid_t pid)
{
	struct group *g = find_group(cid, pid);

	if (g)
		return g;
	g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	snprintf(g->cid, sizeof(g->cid), "%s", cid);
	g->pid = pid;
	g->next = groups;
	groups = g;
	return g;
}

int waiters_add(const char *cid, pid_t pid, struct request *req, uint32_t timeout_ms,
		struct error *err)
{
	struct waiter *w;
	struct group *g;

	if (timeout_ms == 0)
		return still_running(err, pid);
	g = find_group(cid, pid);
	if (g && g->n >= WAITERS_MAX_PER_PROCESS)
		return error_set(err, ERR_FAIL, EAGAIN,
				 "WaitForProcess: %u waits are pending on process %d already "
				 "(the limit)",
				 g->n, (int)pid);
	g = get_group(cid, pid);
	w = g ? calloc(1, sizeof(*w)) : NULL;
	if (!w) {
		if (g)
			drop_group_if_empty(g);
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	}
	w->req = req;
	w->g = g;
	if (timeout_ms != WAITERS_INFINITE) {
		w->timer = loop_timer_add(req->gcs->loop, timeout_ms, on_timeout, w);
		if (!w->timer) {
			free(w);
			drop_group_if_empty(g);
			return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
		}
	}
	/* Newest first, as the answers have always gone out. */
	w->next = g->head;
	if (g->head)
		g->head->prev = w;
	g->head = w;
	g->n++;
	request_on_cancel(req, on_cancel, w);
	return REQUEST_PENDING;
}

void waiters_describe(struct printbuf *pb)
{
	unsigned n = 0;

	for (const struct group *g = groups; g; g = g->next)
		n += g->n;
	sprintbuf(pb, "WaitForProcess pending: %u\n", n);
	for (const struct group *g = groups; g; g = g->next)
		sprintbuf(pb, "  %s pid %d: %u waits\n", g->cid[0] ? g->cid : "UVM", (int)g->pid,
			  g->n);
}
