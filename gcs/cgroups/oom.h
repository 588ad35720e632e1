/* Did the kernel OOM-kill in a container's cgroup? (spec §6.6)
 *
 * There is no OOM message on the bridge: an OOM kill reaches the host as
 * exit code 137 and as memory_oom_control.oom_kill in the stats. The wait
 * path compares oom_kill_count() before and after the init's exit (read it
 * before `runc delete` removes the cgroup) to say why the container died;
 * oom_watch gives a pollable fd for logging OOM events as they happen. */
#ifndef GCS_CGROUPS_OOM_H
#define GCS_CGROUPS_OOM_H

#include <stdint.h>

#include "cgroups/cgroup.h"
#include "error.h"

/* The kernel's count of OOM kills in the cgroup: v1 memory.oom_control
 * "oom_kill", v2 memory.events "oom_kill" (hierarchical on both). */
int oom_kill_count(const struct cgroup_config *cfg, const char *cgroups_path, uint64_t *count,
		   struct error *e);

struct oom_watch {
	int fd;	       /* poll for POLLIN (v1 eventfd) or POLLPRI (v2 memory.events) */
	int events_fd; /* v1: memory.oom_control kept open for the registration */
	enum cgroup_layout layout;
};

/* v1: an eventfd registered through cgroup.event_control on
 * memory.oom_control; v2: memory.events, which the kernel marks changed
 * (POLLPRI) on every event. */
int oom_watch_open(const struct cgroup_config *cfg, const char *cgroups_path, struct oom_watch *w,
		   struct error *e);

/* After the fd fired: re-arms it and returns the number of OOM kills so far
 * in *count (the cgroup's oom_kill counter). */
int oom_watch_ack(const struct cgroup_config *cfg, const char *cgroups_path, struct oom_watch *w,
		  uint64_t *count, struct error *e);

void oom_watch_close(struct oom_watch *w);

#endif
