/* cgroup v1: each controller's files under <root>/<controller><path>. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/stats.h"
#include "cgroups/stats_internal.h"

#define STAT_BUF 8192

/* memory.stat names and their Metrics keys; each also exists as total_*. */
static const struct {
	const char *file, *json;
} mem_keys[] = {
	{"cache", "cache"},
	{"rss", "rss"},
	{"rss_huge", "rss_huge"},
	{"mapped_file", "mapped_file"},
	{"dirty", "dirty"},
	{"writeback", "writeback"},
	{"pgpgin", "pg_pg_in"},
	{"pgpgout", "pg_pg_out"},
	{"pgfault", "pg_fault"},
	{"pgmajfault", "pg_maj_fault"},
	{"inactive_anon", "inactive_anon"},
	{"active_anon", "active_anon"},
	{"inactive_file", "inactive_file"},
	{"active_file", "active_file"},
	{"unevictable", "unevictable"},
};

static bool ctrl_dir(const struct cgroup_config *cfg, const char *ctrl, const char *path, char *dir,
		     size_t size)
{
	return cgroup_dir(cfg, ctrl, path, dir, size) == 0 && access(dir, F_OK) == 0;
}

/* Adds key: the number in dir/file, when the file is there. */
static void file_u64(struct mb *mb, struct json_object *o, const char *key, const char *dir,
		     const char *file, uint64_t max_value)
{
	uint64_t v;

	if (cgroup_read_u64(dir, file, max_value, &v) == 0)
		mb_u64(mb, o, key, v);
}

static void pids(const struct cgroup_config *cfg, const char *path, struct json_object *m,
		 struct mb *mb)
{
	char dir[PATH_MAX];
	struct json_object *o;

	if (!ctrl_dir(cfg, "pids", path, dir, sizeof(dir)))
		return;
	o = mb_obj(mb);
	file_u64(mb, o, "current", dir, "pids.current", 0);
	file_u64(mb, o, "limit", dir, "pids.max", 0); /* "max": no limit, 0 */
	mb_put(mb, m, "pids", o);
}

static void per_cpu(struct mb *mb, struct json_object *usage, const char *dir)
{
	char buf[STAT_BUF];
	struct json_object *a;
	char *p, *end;

	if (cgroup_read(dir, "cpuacct.usage_percpu", buf, sizeof(buf)) < 0)
		return;
	a = json_object_new_array();
	if (!a) {
		mb->oom = true;
		return;
	}
	for (p = buf; json_object_array_length(a) < STATS_MAX_CPUS; p = end) {
		unsigned long long v = strtoull(p, &end, 10);

		if (end == p)
			break;
		if (json_object_array_add(a, json_object_new_uint64(v)) < 0)
			mb->oom = true;
	}
	if (json_object_array_length(a) > 0)
		mb_put(mb, usage, "per_cpu", a);
	else
		json_object_put(a);
}

static void cpu(const struct cgroup_config *cfg, const char *path, struct json_object *m,
		struct mb *mb)
{
	char dir[PATH_MAX], buf[STAT_BUF];
	struct json_object *c, *usage, *thr;
	uint64_t v, ns_per_tick;
	long hz = sysconf(_SC_CLK_TCK);

	ns_per_tick = hz > 0 ? 1000000000ull / (uint64_t)hz : 10000000ull;
	c = mb_obj(mb);
	if (ctrl_dir(cfg, "cpuacct", path, dir, sizeof(dir))) {
		usage = mb_obj(mb);
		file_u64(mb, usage, "total", dir, "cpuacct.usage", 0);
		/* cpuacct.stat counts USER_HZ ticks. */
		if (cgroup_read(dir, "cpuacct.stat", buf, sizeof(buf)) >= 0) {
			if (cgroup_kv(buf, "system", &v))
				mb_u64(mb, usage, "kernel", v * ns_per_tick);
			if (cgroup_kv(buf, "user", &v))
				mb_u64(mb, usage, "user", v * ns_per_tick);
		}
		per_cpu(mb, usage, dir);
		mb_put(mb, c, "usage", usage);
	}
	if (ctrl_dir(cfg, "cpu", path, dir, sizeof(dir)) &&
	    cgroup_read(dir, "cpu.stat", buf, sizeof(buf)) >= 0) {
		thr = mb_obj(mb);
		if (cgroup_kv(buf, "nr_periods", &v))
			mb_u64(mb, thr, "periods", v);
		if (cgroup_kv(buf, "nr_throttled", &v))
			mb_u64(mb, thr, "throttled_periods", v);
		if (cgroup_kv(buf, "throttled_time", &v))
			mb_u64(mb, thr, "throttled_time", v);
		mb_put(mb, c, "throttling", thr);
	}
	mb_put_nonempty(mb, m, "cpu", c);
}

/* {usage, limit, max, failcnt} from <prefix>.usage_in_bytes etc. */
static void mem_entry(struct mb *mb, struct json_object *mem, const char *key, const char *dir,
		      const char *prefix)
{
	static const struct {
		const char *suffix, *json;
	} f[] = {
		{"usage_in_bytes", "usage"},
		{"limit_in_bytes", "limit"},
		{"max_usage_in_bytes", "max"},
		{"failcnt", "failcnt"},
	};
	char file[96];
	struct json_object *o;
	uint64_t v;

	snprintf(file, sizeof(file), "%s.usage_in_bytes", prefix);
	if (cgroup_read_u64(dir, file, 0, &v) < 0)
		return;
	o = mb_obj(mb);
	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		snprintf(file, sizeof(file), "%s.%s", prefix, f[i].suffix);
		file_u64(mb, o, f[i].json, dir, file, 0);
	}
	mb_put(mb, mem, key, o);
}

static void memory(const struct cgroup_config *cfg, const char *path, struct json_object *m,
		   struct mb *mb)
{
	char dir[PATH_MAX], buf[STAT_BUF], k[64];
	struct json_object *mem, *oom;
	uint64_t v;

	if (!ctrl_dir(cfg, "memory", path, dir, sizeof(dir)))
		return;
	mem = mb_obj(mb);
	if (cgroup_read(dir, "memory.stat", buf, sizeof(buf)) >= 0) {
		for (size_t i = 0; i < sizeof(mem_keys) / sizeof(mem_keys[0]); i++)
			if (cgroup_kv(buf, mem_keys[i].file, &v))
				mb_u64(mb, mem, mem_keys[i].json, v);
		if (cgroup_kv(buf, "hierarchical_memory_limit", &v))
			mb_u64(mb, mem, "hierarchical_memory_limit", v);
		if (cgroup_kv(buf, "hierarchical_memsw_limit", &v))
			mb_u64(mb, mem, "hierarchical_swap_limit", v);
		for (size_t i = 0; i < sizeof(mem_keys) / sizeof(mem_keys[0]); i++) {
			char jk[64];

			snprintf(k, sizeof(k), "total_%s", mem_keys[i].file);
			snprintf(jk, sizeof(jk), "total_%s", mem_keys[i].json);
			if (cgroup_kv(buf, k, &v))
				mb_u64(mb, mem, jk, v);
		}
	}
	mem_entry(mb, mem, "usage", dir, "memory");
	mem_entry(mb, mem, "swap", dir, "memory.memsw");
	mem_entry(mb, mem, "kernel", dir, "memory.kmem");
	mem_entry(mb, mem, "kernel_tcp", dir, "memory.kmem.tcp");
	mb_put(mb, m, "memory", mem);

	if (cgroup_read(dir, "memory.oom_control", buf, sizeof(buf)) >= 0) {
		oom = mb_obj(mb);
		if (cgroup_kv(buf, "oom_kill_disable", &v))
			mb_u64(mb, oom, "oom_kill_disable", v);
		if (cgroup_kv(buf, "under_oom", &v))
			mb_u64(mb, oom, "under_oom", v);
		if (cgroup_kv(buf, "oom_kill", &v))
			mb_u64(mb, oom, "oom_kill", v);
		mb_put(mb, m, "memory_oom_control", oom);
	}
}

/* Lines "MAJ:MIN Op value"; the closing "Total value" line has no device. */
static void blkio_file(struct mb *mb, struct json_object *b, const char *key, const char *dir,
		       const char *file)
{
	/* Six lines per device: kept off the (small) worker thread stack. */
	const size_t size = 64 << 10;
	char *buf = malloc(size), op[16];
	unsigned long long maj, min, val;

	if (!buf) {
		mb->oom = true;
		return;
	}
	if (cgroup_read(dir, file, buf, size) >= 0)
		for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l;
		     l = strtok_r(NULL, "\n", &save))
			if (sscanf(l, "%llu:%llu %15s %llu", &maj, &min, op, &val) == 4)
				mb_blkio(mb, b, key, op, maj, min, val);
	free(buf);
}

static void blkio(const struct cgroup_config *cfg, const char *path, struct json_object *m,
		  struct mb *mb)
{
	char dir[PATH_MAX];
	struct json_object *b;

	if (!ctrl_dir(cfg, "blkio", path, dir, sizeof(dir)))
		return;
	b = mb_obj(mb);
	blkio_file(mb, b, "io_service_bytes_recursive", dir,
		   "blkio.throttle.io_service_bytes_recursive");
	blkio_file(mb, b, "io_serviced_recursive", dir, "blkio.throttle.io_serviced_recursive");
	mb_put(mb, m, "blkio", b);
}

/* The entry of one page size: usage, its peak and the count of hits on
 * the limit. */
static void hugetlb_size(struct mb *mb, struct json_object *h, const char *dir, const char *size)
{
	char file[300];

	snprintf(file, sizeof(file), "hugetlb.%s.usage_in_bytes", size);
	file_u64(mb, h, "usage", dir, file, 0);
	snprintf(file, sizeof(file), "hugetlb.%s.max_usage_in_bytes", size);
	file_u64(mb, h, "max", dir, file, 0);
	snprintf(file, sizeof(file), "hugetlb.%s.failcnt", size);
	file_u64(mb, h, "failcnt", dir, file, 0);
}

/* hugetlb.<size>.usage_in_bytes for every page size the kernel offers. */
static void hugetlb(const struct cgroup_config *cfg, const char *path, struct json_object *m,
		    struct mb *mb)
{
	char dir[PATH_MAX];

	if (ctrl_dir(cfg, "hugetlb", path, dir, sizeof(dir)))
		mb_hugetlb(mb, m, dir, ".usage_in_bytes", hugetlb_size);
}

int stats_v1(const struct cgroup_config *cfg, const char *path, struct json_object *m,
	     struct mb *mb)
{
	hugetlb(cfg, path, m, mb);
	pids(cfg, path, m, mb);
	cpu(cfg, path, m, mb);
	memory(cfg, path, m, mb);
	blkio(cfg, path, m, mb);
	return 0;
}
