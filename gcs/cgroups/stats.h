/* Container statistics for GetProperties "Statistics" (spec §3.9, §6.7): the
 * container's cgroup, v1 or v2, read into the containerd cgroup v1 Metrics
 * JSON shape the host expects as "LCOWMetrics": snake_case keys, zero values
 * and empty lists omitted (Go omitempty), 64-bit counters as JSON numbers.
 *
 * Unlike the reference, blkio is filled: v1 from
 * blkio.throttle.io_service_bytes_recursive / io_serviced_recursive, v2 from
 * io.stat (Read/Write/Discard per device). The object stays far below the
 * 64 KiB message limit: lists are capped (STATS_MAX_*). Thread-safe. */
#ifndef GCS_CGROUPS_STATS_H
#define GCS_CGROUPS_STATS_H

#include <json-c/json.h>

#include "cgroups/cgroup.h"
#include "error.h"

#define STATS_MAX_CPUS 512
#define STATS_MAX_BLKIO 128 /* entries per blkio list */
#define STATS_MAX_HUGETLB 8

/* Reads the cgroup at `cgroups_path` (the container's linux.cgroupsPath)
 * and returns a new LCOWMetrics object (json_object_put it). A controller
 * that is not there is left out; a missing cgroup is an error. */
int stats_read(const struct cgroup_config *cfg, const char *cgroups_path,
	       struct json_object **metrics, struct error *e);

#endif
