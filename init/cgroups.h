/* cgroups for the GCS and runc: v2 when the kernel can do device control
 * with BPF (runc needs it), else one v1 hierarchy per enabled controller.
 * hcsshim.cgroup=v1 on the kernel command line forces v1. */
#ifndef LCOW_INIT_CGROUPS_H
#define LCOW_INIT_CGROUPS_H

#include <stddef.h>

struct init_options;

#define INIT_CGROUP_ROOT "/sys/fs/cgroup"
#define INIT_CGROUP_NAME_MAX 63

/* Mounting the hierarchy, in two boot steps. cgroup2's favordynmods makes
 * the mount wait for an RCU grace period (a few timer ticks, about 10 ms,
 * in which init's CPU would be idle), so init_cgroups_start mounts it on a
 * thread of its own while the next steps (lo, modules, tools) use the CPU,
 * and init_cgroups_wait joins the thread before anything needs the
 * hierarchy: 0 or the set-up's negative errno. start itself never fails
 * (without a thread it sets up there and then; wait reports the result). */
int init_cgroups_start(const struct init_options *o);
int init_cgroups_wait(const struct init_options *o);

/* Parses /proc/cgroups text in place: names[] receives the controllers whose
 * "enabled" column is 1. Returns their count, -EINVAL for a malformed line
 * or -ENOSPC when more than max are enabled. */
int init_cgroups_parse_v1(char *text, const char **names, int max);

#endif
