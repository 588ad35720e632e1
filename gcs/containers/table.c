/* The container table: lookup by id with the errors the host interprets,
 * registration, reference counting and forgetting. */
#include "containers/container.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/log.h"
#include "core/loop.h"
#include "process/relay.h"

static struct container *table;
static unsigned n_live;
static struct container_events events;

void container_events_set(const struct container_events *ev)
{
	events = *ev;
}

const struct container_events *container_events(void)
{
	return &events;
}

struct container *container_find(const char *id)
{
	for (struct container *c = table; c; c = c->next)
		if (strcmp(c->id, id) == 0)
			return c;
	return NULL;
}

int container_get(const char *id, const char *what, struct container **out, struct error *err)
{
	struct container *c = container_find(id);

	*out = NULL;
	if (!c)
		return error_set(err, ERR_NO_CONTAINER, ENOENT, "%s: container %s does not exist",
				 what, id);
	if (c->state == CONTAINER_CREATING)
		return error_set(err, ERR_INVALID_STATE, EBUSY,
				 "%s: container %s is still being created", what, id);
	if (c->deleting)
		return error_set(err, ERR_INVALID_STATE, EBUSY, "%s: container %s is being deleted",
				 what, id);
	*out = c;
	return 0;
}

int container_add(struct gcs *g, const char *id, const char *activity_id, struct container **out,
		  struct error *err)
{
	struct container *c;

	*out = NULL;
	if (!id[0] || strlen(id) >= sizeof(c->id))
		return error_set(err, ERR_INVALID_ARG, EINVAL, "invalid container id \"%.64s\"",
				 id);
	if (container_find(id))
		return error_set(err, ERR_EXISTS, EEXIST, "container %s already exists", id);
	c = calloc(1, sizeof(*c));
	if (!c)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	snprintf(c->id, sizeof(c->id), "%s", id);
	if (activity_id)
		snprintf(c->activity_id, sizeof(c->activity_id), "%s", activity_id);
	c->gcs = g;
	c->state = CONTAINER_CREATING;
	c->refs = 1;
	c->in_table = true;
	c->exit_type = CONTAINER_EXIT_UNEXPECTED;
	c->created_ms = loop_now_ms();
	for (int i = 0; i < 3; i++)
		c->init_io[i] = -1;
	c->oomw.fd = c->oomw.events_fd = -1;
	c->next = table;
	table = c;
	n_live++;
	*out = c;
	return 0;
}

void container_ref(struct container *c)
{
	c->refs++;
}

void container_put(struct container *c)
{
	if (--c->refs > 0)
		return;
	json_object_put(c->spec);
	free(c);
}

static void unlink_container(struct container *c)
{
	for (struct container **pp = &table; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			n_live--;
			return;
		}
	}
}

static void drop_process(struct container *c, struct cproc *p)
{
	if (p->watched && !p->reaped)
		loop_child_unwatch(c->gcs->loop, p->pid);
	p->watched = false;
	relay_cancel(p->in);
	relay_cancel(p->out[0]);
	relay_cancel(p->out[1]);
	p->in = p->out[0] = p->out[1] = NULL;
	if (events.process_gone)
		events.process_gone(events.data, c->id, p->pid, "its container was deleted");
	cproc_free(p);
}

void container_forget(struct container *c)
{
	if (!c->in_table)
		return;
	c->in_table = false;
	c->notified = true; /* the host no longer knows the id */
	unlink_container(c);
	container_oom_watch_stop(c);
	while (c->procs) {
		struct cproc *p = c->procs;

		c->procs = p->next;
		drop_process(c, p);
	}
	c->init = NULL;
	for (int i = 0; i < 3; i++) {
		if (c->init_io[i] >= 0)
			close(c->init_io[i]);
		c->init_io[i] = -1;
	}
	log_fields(LOG_DEBUG, LOG_FIELDS(LOG_STR("cid", c->id)), "container forgotten");
	container_put(c);
}

unsigned container_count(void)
{
	return n_live;
}

static const char *state_name(const struct container *c)
{
	static const char *const names[] = {"creating", "created", "starting", "running", "exited"};

	return c->deleting ? "deleting" : names[c->state];
}

void container_describe(struct gcs *g, struct printbuf *pb)
{
	sprintbuf(pb, "containers: %u\n", n_live);
	for (struct container *c = table; c; c = c->next) {
		sprintbuf(pb, "  %s: %s, init pid %d, exit type %s%s\n", c->id, state_name(c),
			  c->init ? (int)c->init->pid : 0, c->exit_type,
			  c->notified ? ", notified" : "");
		for (struct cproc *p = c->procs; p; p = p->next) {
			sprintbuf(pb, "    pid %d%s: %s, %u output relays\n", (int)p->pid,
				  p->is_init ? " (init)" : "",
				  p->complete ? "complete"
				  : p->reaped ? "exited, draining"
					      : "running",
				  p->outputs);
		}
	}
}
