/* cgroup v2: one directory, mapped to the v1 Metrics shape as spec §6.7 says
 * (µs ×1000 → ns, memory.current → usage.usage, anon → rss, file → cache...).
 * v2's memory.stat is hierarchical, so its values are also the total_* ones
 * that consumers read for the working set (total_inactive_file). */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroups/stats.h"
#include "cgroups/stats_internal.h"

#define STAT_BUF 8192

static const struct {
	const char *file, *json;
} mem_keys[] = {
	{"file", "cache"},
	{"anon", "rss"},
	{"anon_thp", "rss_huge"},
	{"file_mapped", "mapped_file"},
	{"file_dirty", "dirty"},
	{"file_writeback", "writeback"},
	{"pgfault", "pg_fault"},
	{"pgmajfault", "pg_maj_fault"},
	{"inactive_anon", "inactive_anon"},
	{"active_anon", "active_anon"},
	{"inactive_file", "inactive_file"},
	{"active_file", "active_file"},
	{"unevictable", "unevictable"},
};

static void file_u64(struct mb *mb, struct json_object *o, const char *key, const char *dir,
		     const char *file, uint64_t max_value)
{
	uint64_t v;

	if (cgroup_read_u64(dir, file, max_value, &v) == 0)
		mb_u64(mb, o, key, v);
}

static void kv_u64(struct mb *mb, struct json_object *o, const char *key, const char *text,
		   const char *name, uint64_t scale)
{
	uint64_t v;

	if (cgroup_kv(text, name, &v))
		mb_u64(mb, o, key, v * scale);
}

static void cpu(const char *dir, struct json_object *m, struct mb *mb)
{
	char buf[STAT_BUF];
	struct json_object *c, *usage, *thr;

	if (cgroup_read(dir, "cpu.stat", buf, sizeof(buf)) < 0)
		return;
	c = mb_obj(mb);
	usage = mb_obj(mb);
	kv_u64(mb, usage, "total", buf, "usage_usec", 1000);
	kv_u64(mb, usage, "kernel", buf, "system_usec", 1000);
	kv_u64(mb, usage, "user", buf, "user_usec", 1000);
	mb_put(mb, c, "usage", usage);
	/* The throttling counters only exist with the cpu controller. */
	if (strstr(buf, "nr_periods ")) {
		thr = mb_obj(mb);
		kv_u64(mb, thr, "periods", buf, "nr_periods", 1);
		kv_u64(mb, thr, "throttled_periods", buf, "nr_throttled", 1);
		kv_u64(mb, thr, "throttled_time", buf, "throttled_usec", 1000);
		mb_put(mb, c, "throttling", thr);
	}
	mb_put(mb, m, "cpu", c);
}

static void memory(const char *dir, struct json_object *m, struct mb *mb)
{
	char buf[STAT_BUF], jk[64];
	struct json_object *mem, *usage, *swap, *kernel, *tcp, *oom;
	uint64_t v;

	if (cgroup_read_u64(dir, "memory.current", 0, &v) < 0)
		return;
	mem = mb_obj(mb);
	if (cgroup_read(dir, "memory.stat", buf, sizeof(buf)) >= 0) {
		for (size_t i = 0; i < sizeof(mem_keys) / sizeof(mem_keys[0]); i++)
			kv_u64(mb, mem, mem_keys[i].json, buf, mem_keys[i].file, 1);
		for (size_t i = 0; i < sizeof(mem_keys) / sizeof(mem_keys[0]); i++) {
			snprintf(jk, sizeof(jk), "total_%s", mem_keys[i].json);
			kv_u64(mb, mem, jk, buf, mem_keys[i].file, 1);
		}
		kernel = mb_obj(mb);
		kv_u64(mb, kernel, "usage", buf, "kernel_stack", 1);
		mb_put(mb, mem, "kernel", kernel);
		tcp = mb_obj(mb);
		kv_u64(mb, tcp, "usage", buf, "sock", 1);
		mb_put(mb, mem, "kernel_tcp", tcp);
	}
	/* "max" (no limit) is UINT64_MAX, as containerd reports it. */
	file_u64(mb, mem, "hierarchical_memory_limit", dir, "memory.max", UINT64_MAX);
	file_u64(mb, mem, "hierarchical_swap_limit", dir, "memory.swap.max", UINT64_MAX);

	usage = mb_obj(mb);
	mb_u64(mb, usage, "usage", v);
	file_u64(mb, usage, "limit", dir, "memory.max", UINT64_MAX);
	file_u64(mb, usage, "max", dir, "memory.peak", 0);
	/* v1's failcnt counts hits of the limit, v2's "max" event likewise. */
	if (cgroup_read(dir, "memory.events", buf, sizeof(buf)) >= 0)
		kv_u64(mb, usage, "failcnt", buf, "max", 1);
	mb_put(mb, mem, "usage", usage);

	if (cgroup_read_u64(dir, "memory.swap.current", 0, &v) == 0) {
		swap = mb_obj(mb);
		mb_u64(mb, swap, "usage", v);
		file_u64(mb, swap, "limit", dir, "memory.swap.max", UINT64_MAX);
		file_u64(mb, swap, "max", dir, "memory.swap.peak", 0);
		mb_put(mb, mem, "swap", swap);
	}
	mb_put(mb, m, "memory", mem);

	if (cgroup_read(dir, "memory.events", buf, sizeof(buf)) >= 0) {
		oom = mb_obj(mb);
		kv_u64(mb, oom, "oom_kill", buf, "oom_kill", 1);
		mb_put(mb, m, "memory_oom_control", oom);
	}
}

static void pids(const char *dir, struct json_object *m, struct mb *mb)
{
	struct json_object *o;
	uint64_t v;

	if (cgroup_read_u64(dir, "pids.current", 0, &v) < 0)
		return;
	o = mb_obj(mb);
	mb_u64(mb, o, "current", v);
	file_u64(mb, o, "limit", dir, "pids.max", 0); /* "max": no limit, 0 as on v1 */
	mb_put(mb, m, "pids", o);
}

/* The value of "name=N" in one io.stat line. */
static bool io_field(const char *line, const char *name, uint64_t *v)
{
	size_t n = strlen(name);

	for (const char *p = strchr(line, ' '); p; p = strchr(p + 1, ' '))
		if (!strncmp(p + 1, name, n) && p[1 + n] == '=') {
			*v = strtoull(p + 2 + n, NULL, 10);
			return true;
		}
	return false;
}

/* "MAJ:MIN rbytes=.. wbytes=.. rios=.. wios=.. dbytes=.. dios=.." */
static void io(const char *dir, struct json_object *m, struct mb *mb)
{
	static const struct {
		const char *bytes, *ios, *op;
	} ops[] = {{"rbytes", "rios", "Read"},
		   {"wbytes", "wios", "Write"},
		   {"dbytes", "dios", "Discard"}};
	const size_t size = 64 << 10;
	char *buf = malloc(size);
	struct json_object *b;
	unsigned long long maj, min;
	uint64_t v;

	if (!buf) {
		mb->oom = true;
		return;
	}
	if (cgroup_read(dir, "io.stat", buf, size) < 0) {
		free(buf);
		return;
	}
	b = mb_obj(mb);
	for (char *save = NULL, *l = strtok_r(buf, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		if (sscanf(l, "%llu:%llu", &maj, &min) != 2)
			continue;
		for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
			if (io_field(l, ops[i].bytes, &v))
				mb_blkio(mb, b, "io_service_bytes_recursive", ops[i].op, maj, min,
					 v);
			if (io_field(l, ops[i].ios, &v))
				mb_blkio(mb, b, "io_serviced_recursive", ops[i].op, maj, min, v);
		}
	}
	free(buf);
	mb_put(mb, m, "blkio", b);
}

/* The entry of one page size: usage and the count of hits on the limit. */
static void hugetlb_size(struct mb *mb, struct json_object *h, const char *dir, const char *size)
{
	char file[300], buf[256];

	snprintf(file, sizeof(file), "hugetlb.%s.current", size);
	file_u64(mb, h, "usage", dir, file, 0);
	snprintf(file, sizeof(file), "hugetlb.%s.events", size);
	if (cgroup_read(dir, file, buf, sizeof(buf)) >= 0)
		kv_u64(mb, h, "failcnt", buf, "max", 1);
}

int stats_v2(const struct cgroup_config *cfg, const char *path, struct json_object *m,
	     struct mb *mb)
{
	char dir[PATH_MAX];

	if (cgroup_dir(cfg, NULL, path, dir, sizeof(dir)) < 0)
		return -ENAMETOOLONG;
	mb_hugetlb(mb, m, dir, ".current", hugetlb_size);
	pids(dir, m, mb);
	cpu(dir, m, mb);
	memory(dir, m, mb);
	io(dir, m, mb);
	return 0;
}
