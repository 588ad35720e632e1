/* LCOWMetrics (spec 3.9/6.7) from fake cgroup v1 and v2 trees: the exact
 * JSON, omitempty, "max" values, the v2 -> v1 mapping, size caps; and the
 * OOM kill counter. */
#include "unit.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cgroups/oom.h"
#include "cgroups/stats.h"

static char tmp[64];
static struct cgroup_config cfg;

static void make_tree(enum cgroup_layout layout)
{
	unit_tmpdir(tmp, sizeof(tmp), "stats");
	cfg = (struct cgroup_config){.layout = layout, .parent = "pods"};
	snprintf(cfg.root, sizeof(cfg.root), "%s", tmp);
}

static void fake(const char *rel, const char *text)
{
	char p[512], cmd[600];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmp, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", p);
	CHECK_EQ(system(cmd), 0);
	f = fopen(p, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static const char *metrics_json(const char *cgpath, struct json_object **keep)
{
	struct json_object *m;
	struct error e;

	if (stats_read(&cfg, cgpath, &m, &e) < 0)
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	*keep = m;
	return json_object_to_json_string_ext(m, JSON_C_TO_STRING_PLAIN);
}

static void expect_json(const char *got, const char *want)
{
	if (strcmp(got, want) != 0)
		unit_fail(__FILE__, __LINE__, "metrics\n  got: %s\n want: %s", got, want);
}

static void v1_tree(void)
{
	fake("memory/pods/c1/memory.stat",
	     "cache 4096\nrss 1028096\nrss_huge 0\nshmem 0\n"
	     "mapped_file 8192\ndirty 4096\nwriteback 0\nswap 0\n"
	     "pgpgin 100\npgpgout 50\npgfault 2000\npgmajfault 3\n"
	     "inactive_anon 0\nactive_anon 1028096\ninactive_file 4096\n"
	     "active_file 0\nunevictable 0\n"
	     "hierarchical_memory_limit 67108864\n"
	     "hierarchical_memsw_limit 9223372036854771712\n"
	     "total_cache 8192\ntotal_rss 2056192\ntotal_rss_huge 0\n"
	     "total_shmem 0\ntotal_mapped_file 8192\ntotal_dirty 4096\n"
	     "total_writeback 0\ntotal_swap 0\ntotal_pgpgin 200\n"
	     "total_pgpgout 100\ntotal_pgfault 4000\n"
	     "total_pgmajfault 6\ntotal_inactive_anon 0\n"
	     "total_active_anon 2056192\ntotal_inactive_file 8192\n"
	     "total_active_file 0\ntotal_unevictable 0\n");
	fake("memory/pods/c1/memory.usage_in_bytes", "1388544\n");
	fake("memory/pods/c1/memory.limit_in_bytes", "67108864\n");
	fake("memory/pods/c1/memory.max_usage_in_bytes", "2000000\n");
	fake("memory/pods/c1/memory.failcnt", "0\n");
	fake("memory/pods/c1/memory.memsw.usage_in_bytes", "1388544\n");
	fake("memory/pods/c1/memory.memsw.limit_in_bytes", "9223372036854771712\n");
	fake("memory/pods/c1/memory.memsw.max_usage_in_bytes", "2000000\n");
	fake("memory/pods/c1/memory.memsw.failcnt", "0\n");
	fake("memory/pods/c1/memory.kmem.usage_in_bytes", "12345\n");
	fake("memory/pods/c1/memory.kmem.limit_in_bytes", "9223372036854771712\n");
	fake("memory/pods/c1/memory.kmem.max_usage_in_bytes", "20000\n");
	fake("memory/pods/c1/memory.kmem.failcnt", "0\n");
	fake("memory/pods/c1/memory.kmem.tcp.usage_in_bytes", "0\n");
	fake("memory/pods/c1/memory.kmem.tcp.limit_in_bytes", "9223372036854771712\n");
	fake("memory/pods/c1/memory.kmem.tcp.max_usage_in_bytes", "0\n");
	fake("memory/pods/c1/memory.kmem.tcp.failcnt", "0\n");
	fake("memory/pods/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\noom_kill 2\n");
	fake("cpuacct/pods/c1/cpuacct.usage", "51234567\n");
	fake("cpuacct/pods/c1/cpuacct.stat", "user 4\nsystem 1\n");
	fake("cpuacct/pods/c1/cpuacct.usage_percpu", "30000000 21234567 \n");
	fake("cpu/pods/c1/cpu.stat", "nr_periods 10\nnr_throttled 2\nthrottled_time 3000\n"
				     "nr_bursts 0\nburst_time 0\n");
	fake("pids/pods/c1/pids.current", "3\n");
	fake("pids/pods/c1/pids.max", "max\n");
	fake("blkio/pods/c1/blkio.throttle.io_service_bytes_recursive",
	     "8:0 Read 4096\n8:0 Write 8192\n8:0 Sync 12288\n8:0 Async 0\n8:0 Discard 0\n"
	     "8:0 Total 12288\n8:16 Read 512\nTotal 12800\n");
	fake("blkio/pods/c1/blkio.throttle.io_serviced_recursive",
	     "8:0 Read 1\n8:0 Write 2\nTotal 3\n");
	fake("hugetlb/pods/c1/hugetlb.2MB.usage_in_bytes", "2097152\n");
	fake("hugetlb/pods/c1/hugetlb.2MB.max_usage_in_bytes", "4194304\n");
	fake("hugetlb/pods/c1/hugetlb.2MB.failcnt", "1\n");
	fake("hugetlb/pods/c1/hugetlb.2MB.rsvd.usage_in_bytes", "99\n");
}

TEST(v1_metrics_exact)
{
	struct json_object *m;

	if (sysconf(_SC_CLK_TCK) != 100)
		SKIP("USER_HZ is not 100");
	make_tree(CGROUP_V1);
	v1_tree();
	expect_json(
		metrics_json("/pods/c1", &m),
		"{\"hugetlb\":[{\"usage\":2097152,\"max\":4194304,\"failcnt\":1,\"pagesize\":"
		"\"2MB\"}],"
		"\"pids\":{\"current\":3},"
		"\"cpu\":{\"usage\":{\"total\":51234567,\"kernel\":10000000,\"user\":40000000,"
		"\"per_cpu\":[30000000,21234567]},\"throttling\":{\"periods\":10,"
		"\"throttled_periods\":2,\"throttled_time\":3000}},"
		"\"memory\":{\"cache\":4096,\"rss\":1028096,\"mapped_file\":8192,\"dirty\":4096,"
		"\"pg_pg_in\":100,\"pg_pg_out\":50,\"pg_fault\":2000,\"pg_maj_fault\":3,"
		"\"active_anon\":1028096,\"inactive_file\":4096,"
		"\"hierarchical_memory_limit\":67108864,"
		"\"hierarchical_swap_limit\":9223372036854771712,"
		"\"total_cache\":8192,\"total_rss\":2056192,\"total_mapped_file\":8192,"
		"\"total_dirty\":4096,\"total_pg_pg_in\":200,\"total_pg_pg_out\":100,"
		"\"total_pg_fault\":4000,\"total_pg_maj_fault\":6,\"total_active_anon\":2056192,"
		"\"total_inactive_file\":8192,"
		"\"usage\":{\"usage\":1388544,\"limit\":67108864,\"max\":2000000},"
		"\"swap\":{\"usage\":1388544,\"limit\":9223372036854771712,\"max\":2000000},"
		"\"kernel\":{\"usage\":12345,\"limit\":9223372036854771712,\"max\":20000},"
		"\"kernel_tcp\":{\"limit\":9223372036854771712}},"
		"\"memory_oom_control\":{\"oom_kill\":2},"
		"\"blkio\":{\"io_service_bytes_recursive\":["
		"{\"op\":\"Read\",\"major\":8,\"value\":4096},"
		"{\"op\":\"Write\",\"major\":8,\"value\":8192},"
		"{\"op\":\"Sync\",\"major\":8,\"value\":12288},"
		"{\"op\":\"Async\",\"major\":8},{\"op\":\"Discard\",\"major\":8},"
		"{\"op\":\"Total\",\"major\":8,\"value\":12288},"
		"{\"op\":\"Read\",\"major\":8,\"minor\":16,\"value\":512}],"
		"\"io_serviced_recursive\":[{\"op\":\"Read\",\"major\":8,\"value\":1},"
		"{\"op\":\"Write\",\"major\":8,\"value\":2}]}}");
	json_object_put(m);
}

TEST(v1_partial_controllers_and_missing_cgroup)
{
	struct json_object *m;
	struct error e;

	make_tree(CGROUP_V1);
	fake("memory/pods/c2/memory.usage_in_bytes", "4096\n");
	fake("memory/pods/c2/memory.limit_in_bytes", "8192\n");
	expect_json(metrics_json("/pods/c2", &m),
		    "{\"memory\":{\"usage\":{\"usage\":4096,\"limit\":8192}}}");
	json_object_put(m);
	CHECK(stats_read(&cfg, "/pods/gone", &m, &e) < 0);
	CHECK_EQ(e.errnum, ENOENT);
	CHECK(m == NULL);
	CHECK(stats_read(&cfg, "pods/../../etc", &m, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
}

static void v2_tree(void)
{
	fake("pods/c1/cpu.stat", "usage_usec 51234\nuser_usec 40000\nsystem_usec 11234\n"
				 "nr_periods 10\nnr_throttled 2\nthrottled_usec 3\n"
				 "nr_bursts 0\nburst_usec 0\n");
	fake("pods/c1/memory.current", "1388544\n");
	fake("pods/c1/memory.max", "max\n");
	fake("pods/c1/memory.peak", "2000000\n");
	fake("pods/c1/memory.events", "low 0\nhigh 0\nmax 5\noom 1\noom_kill 1\n"
				      "oom_group_kill 0\n");
	fake("pods/c1/memory.swap.current", "0\n");
	fake("pods/c1/memory.swap.max", "max\n");
	fake("pods/c1/memory.stat", "anon 1028096\nfile 4096\nkernel 200000\nkernel_stack 16384\n"
				    "pagetables 0\nsock 512\nshmem 0\nfile_mapped 8192\n"
				    "file_dirty 4096\nfile_writeback 0\nanon_thp 0\n"
				    "inactive_anon 0\nactive_anon 1028096\ninactive_file 4096\n"
				    "active_file 0\nunevictable 0\npgfault 2000\npgmajfault 3\n");
	fake("pods/c1/pids.current", "3\n");
	fake("pods/c1/pids.max", "100\n");
	fake("pods/c1/io.stat", "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n"
				"259:1 rbytes=1 wbytes=0 rios=1 wios=0 dbytes=512 dios=1\n");
	fake("pods/c1/hugetlb.2MB.current", "0\n");
	fake("pods/c1/hugetlb.2MB.events", "max 0\n");
	fake("pods/c1/hugetlb.2MB.max", "max\n");
	fake("pods/c1/hugetlb.2MB.rsvd.current", "7\n");
}

TEST(v2_metrics_mapped_to_v1_shape)
{
	struct json_object *m;

	make_tree(CGROUP_V2);
	v2_tree();
	expect_json(
		metrics_json("/pods/c1", &m),
		"{\"hugetlb\":[{\"pagesize\":\"2MB\"}],"
		"\"pids\":{\"current\":3,\"limit\":100},"
		"\"cpu\":{\"usage\":{\"total\":51234000,\"kernel\":11234000,\"user\":40000000},"
		"\"throttling\":{\"periods\":10,\"throttled_periods\":2,\"throttled_time\":3000}},"
		"\"memory\":{\"cache\":4096,\"rss\":1028096,\"mapped_file\":8192,\"dirty\":4096,"
		"\"pg_fault\":2000,\"pg_maj_fault\":3,\"active_anon\":1028096,"
		"\"inactive_file\":4096,"
		"\"total_cache\":4096,\"total_rss\":1028096,\"total_mapped_file\":8192,"
		"\"total_dirty\":4096,\"total_pg_fault\":2000,\"total_pg_maj_fault\":3,"
		"\"total_active_anon\":1028096,\"total_inactive_file\":4096,"
		"\"kernel\":{\"usage\":16384},\"kernel_tcp\":{\"usage\":512},"
		"\"hierarchical_memory_limit\":18446744073709551615,"
		"\"hierarchical_swap_limit\":18446744073709551615,"
		"\"usage\":{\"usage\":1388544,\"limit\":18446744073709551615,\"max\":2000000,"
		"\"failcnt\":5},"
		"\"swap\":{\"limit\":18446744073709551615}},"
		"\"memory_oom_control\":{\"oom_kill\":1},"
		"\"blkio\":{\"io_service_bytes_recursive\":["
		"{\"op\":\"Read\",\"major\":8,\"value\":4096},"
		"{\"op\":\"Write\",\"major\":8,\"value\":8192},{\"op\":\"Discard\",\"major\":8},"
		"{\"op\":\"Read\",\"major\":259,\"minor\":1,\"value\":1},"
		"{\"op\":\"Write\",\"major\":259,\"minor\":1},"
		"{\"op\":\"Discard\",\"major\":259,\"minor\":1,\"value\":512}],"
		"\"io_serviced_recursive\":[{\"op\":\"Read\",\"major\":8,\"value\":1},"
		"{\"op\":\"Write\",\"major\":8,\"value\":2},{\"op\":\"Discard\",\"major\":8},"
		"{\"op\":\"Read\",\"major\":259,\"minor\":1,\"value\":1},"
		"{\"op\":\"Write\",\"major\":259,\"minor\":1},"
		"{\"op\":\"Discard\",\"major\":259,\"minor\":1,\"value\":1}]}}");
	json_object_put(m);
}

TEST(v2_without_cpu_controller_has_no_throttling)
{
	struct json_object *m;

	make_tree(CGROUP_V2);
	fake("pods/c3/cpu.stat", "usage_usec 7\nuser_usec 5\nsystem_usec 2\n");
	fake("pods/c3/pids.current", "1\n");
	fake("pods/c3/pids.max", "max\n");
	fake("pods/c3/memory.current", "0\n");
	expect_json(metrics_json("/pods/c3", &m),
		    "{\"pids\":{\"current\":1},\"cpu\":{\"usage\":{\"total\":7000,\"kernel\":2000,"
		    "\"user\":5000}},\"memory\":{\"usage\":{}}}");
	json_object_put(m);
}

TEST(metrics_stay_small_with_many_devices)
{
	struct json_object *m, *list;
	char *big = malloc(200000);
	size_t o = 0;

	CHECK(big != NULL);
	make_tree(CGROUP_V1);
	for (int i = 0; i < 2000; i++)
		o += (size_t)sprintf(big + o, "8:%d Read %d\n8:%d Write %d\n", i, i + 1, i, i + 2);
	fake("memory/pods/c4/memory.usage_in_bytes", "1\n");
	fake("blkio/pods/c4/blkio.throttle.io_service_bytes_recursive", big);
	free(big);
	const char *s = metrics_json("/pods/c4", &m);
	CHECK(strlen(s) < 32 * 1024);
	CHECK(json_object_object_get_ex(json_object_object_get(m, "blkio"),
					"io_service_bytes_recursive", &list));
	CHECK_EQ(json_object_array_length(list), STATS_MAX_BLKIO);
	json_object_put(m);
}

TEST(oom_kill_counter_v1_and_v2)
{
	struct cgroup_config v2;
	uint64_t n = 99;
	struct error e;

	make_tree(CGROUP_V1);
	fake("memory/pods/c1/memory.oom_control", "oom_kill_disable 0\nunder_oom 1\noom_kill 4\n");
	fake("memory/pods/old/memory.oom_control", "oom_kill_disable 0\nunder_oom 0\n");
	CHECK_OK(oom_kill_count(&cfg, "/pods/c1", &n, &e));
	CHECK_EQ(n, 4);
	CHECK(oom_kill_count(&cfg, "/pods/old", &n, &e) < 0);
	CHECK_EQ(e.errnum, ENOTSUP);
	CHECK(oom_kill_count(&cfg, "/pods/none", &n, &e) < 0);
	CHECK_EQ(e.errnum, ENOENT);
	v2 = cfg;
	v2.layout = CGROUP_V2;
	fake("pods/c1/memory.events", "low 0\nhigh 0\nmax 9\noom 3\noom_kill 2\n");
	CHECK_OK(oom_kill_count(&v2, "/pods/c1", &n, &e));
	CHECK_EQ(n, 2);
}
