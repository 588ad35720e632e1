/* cgroups for the GCS and runc: v2 when the kernel can do device control
 * with BPF (runc needs it), else one v1 hierarchy per enabled controller.
 * hcsshim.cgroup=v1 on the kernel command line forces v1. */
#ifndef LCOW_INIT_CGROUPS_H
#define LCOW_INIT_CGROUPS_H

#include <stddef.h>

struct init_options;

#define INIT_CGROUP_ROOT "/sys/fs/cgroup"
#define INIT_CGROUP_NAME_MAX 63

/* Mounts the hierarchy (a boot step). cgroup2's favordynmods makes the
 * mount wait for an RCU grace period (a few timer ticks, about 10 ms, in
 * which init's CPU would be idle), which is why the table runs this step in
 * the background. */
int init_cgroups_setup(const struct init_options *o);

/* Parses /proc/cgroups text in place: names[] receives the controllers whose
 * "enabled" column is 1. Returns their count, -EINVAL for a malformed line
 * or -ENOSPC when more than max are enabled. */
int init_cgroups_parse_v1(char *text, const char **names, int max);

#endif
