/* The GCS's cgroups (spec §6.5): /gcs for the GCS itself and the parent of
 * all containers (/pods on HEAD hosts, /containers on v0.11 hosts) limited to
 * TotalRAM - reserve, on a cgroup v1 or v2 layout, whichever is mounted.
 *
 * Everything lives under a configurable prefix so that tests confine their
 * cgroups to a private subtree; in the UVM the prefix is "". Paths named
 * "cgroup path" below are absolute within the hierarchy, as in
 * linux.cgroupsPath ("/pods/c1", prefix included). Thread-safe. */
#ifndef GCS_CGROUPS_CGROUP_H
#define GCS_CGROUPS_CGROUP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

#define CGROUP_DEFAULT_ROOT "/sys/fs/cgroup"
/* Kept for the UVM's own processes (the reference reserves 75 MiB). */
#define CGROUP_DEFAULT_RESERVE (75ull << 20)

enum cgroup_layout {
	CGROUP_V1 = 1, /* one hierarchy per controller: <root>/<controller>/... */
	CGROUP_V2 = 2, /* the unified hierarchy mounted at <root> */
};

struct cgroup_config {
	enum cgroup_layout layout;
	char root[128];	  /* "/sys/fs/cgroup" */
	char prefix[128]; /* "" in the UVM, e.g. "/lcow-test-42" in tests */
	char parent[64];  /* "pods" (HEAD) or "containers" (v0.11) */
};

/* Fills cfg; the layout is v2 when root is a cgroup2 mount, v1 when it holds
 * a memory controller hierarchy, otherwise an error. prefix is "" or an
 * absolute path. */
int cgroup_config_init(struct cgroup_config *cfg, const char *root, const char *prefix,
		       const char *parent, struct error *e);

/* "<prefix>/<parent>": the parent the container cgroupsPaths go under. */
int cgroup_parent_path(const struct cgroup_config *cfg, char *buf, size_t size);

/* The directory of cgroup path `path` for `controller` (v1: <root>/<controller><path>;
 * v2 ignores controller: <root><path>). */
int cgroup_dir(const struct cgroup_config *cfg, const char *controller, const char *path, char *buf,
	       size_t size);

/* total - reserve, or ERR_INVALID_ARG when there is not more RAM than that. */
int cgroup_parent_limit(uint64_t total_ram, uint64_t reserve, uint64_t *limit, struct error *e);

/* The UVM's RAM now (sysinfo: includes hot-added memory). */
int cgroup_total_ram(uint64_t *bytes, struct error *e);

/* Creates <prefix>/gcs and <prefix>/<parent> (v1: in the memory hierarchy,
 * with memory.use_hierarchy=1 first; v2: with +memory in subtree_control)
 * and limits the parent to total_ram - reserve. */
int cgroup_setup(const struct cgroup_config *cfg, uint64_t total_ram, uint64_t reserve,
		 struct error *e);

/* Writes the parent's memory limit (v1 memory.limit_in_bytes, v2 memory.max). */
int cgroup_set_parent_limit(const struct cgroup_config *cfg, uint64_t limit, struct error *e);

/* PodCgroupMemoryLimit / periodic refresh (§3.10.9): recomputes TotalRAM -
 * reserve after memory hot-add and writes it. */
int cgroup_refresh_parent_limit(const struct cgroup_config *cfg, uint64_t reserve, struct error *e);

/* Moves pid into <prefix>/gcs (v1: the memory hierarchy, where the reserve
 * is accounted). */
int cgroup_move_to_gcs(const struct cgroup_config *cfg, pid_t pid, struct error *e);

/* Removes the cgroup `path` and everything below it in every hierarchy,
 * deepest first; missing directories are fine, a cgroup that still has
 * processes is an error (EBUSY). */
int cgroup_remove(const struct cgroup_config *cfg, const char *path, struct error *e);

/* Removes <prefix>/gcs, <prefix>/<parent> (with what is below) and the
 * prefix itself. */
int cgroup_teardown(const struct cgroup_config *cfg, struct error *e);

/* ---- pod cgroups (CRI sandboxes) ---------------------------------------- */

struct json_object;

/* Sandbox Create (HEAD layout): creates <prefix>/<parent>/<sbid>, the
 * cgroup every container of the pod lives below, and applies the sandbox
 * spec's linux.resources to it (memory.limit, cpu.shares/quota/period,
 * pids.limit; v2: memory.max, cpu.weight, cpu.max, pids.max), so the pod as
 * a whole stays within them. resources may be NULL. */
int cgroup_pod_create(const struct cgroup_config *cfg, const char *sbid,
		      struct json_object *resources, struct error *e);

/* Sandbox DeleteContainerState, after its containers: removes the pod
 * cgroup. */
int cgroup_pod_remove(const struct cgroup_config *cfg, const char *sbid, struct error *e);

/* ---- small file helpers shared by the stats and OOM code ----------------- */

/* Reads <dir>/<file> into buf (NUL-terminated); returns the length or a
 * negative errno. */
ssize_t cgroup_read(const char *dir, const char *file, char *buf, size_t size);

/* A single-number file; "max" reads as max_value. */
int cgroup_read_u64(const char *dir, const char *file, uint64_t max_value, uint64_t *out);

/* The value of `key` in a "key value" lines file (memory.stat, cpu.stat,
 * memory.events, memory.oom_control). */
bool cgroup_kv(const char *text, const char *key, uint64_t *out);

int cgroup_write(const char *dir, const char *file, const char *value);

#endif
