/* The GCS cgroups (spec 6.5): on fake v1/v2 trees in a temp dir, and for
 * real (as root) under a private prefix that is removed afterwards. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cgroups/cgroup.h"

static char tmp[64];

static void make_tmp(void)
{
	unit_tmpdir(tmp, sizeof(tmp), "cg");
}

/* Creates <tmp>/<rel> (and its directories) holding `text`. */
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

static const char *content(const char *dir, const char *file)
{
	static char buf[256];

	if (cgroup_read(dir, file, buf, sizeof(buf)) < 0)
		unit_fail(__FILE__, __LINE__, "cannot read %s/%s", dir, file);
	return buf;
}

TEST(limit_and_paths)
{
	struct cgroup_config cfg = {
		.layout = CGROUP_V1, .root = "/r", .prefix = "/t", .parent = "pods"};
	uint64_t limit;
	struct error e;
	char buf[256];

	CHECK_OK(cgroup_parent_limit(1ull << 30, CGROUP_DEFAULT_RESERVE, &limit, &e));
	CHECK_EQ(limit, (1ull << 30) - 75 * 1024 * 1024);
	CHECK(cgroup_parent_limit(CGROUP_DEFAULT_RESERVE, CGROUP_DEFAULT_RESERVE, &limit, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK_OK(cgroup_parent_path(&cfg, buf, sizeof(buf)));
	CHECK_STREQ(buf, "/t/pods");
	CHECK_OK(cgroup_dir(&cfg, "memory", "/t/pods/c1", buf, sizeof(buf)));
	CHECK_STREQ(buf, "/r/memory/t/pods/c1");
	cfg.layout = CGROUP_V2;
	CHECK_OK(cgroup_dir(&cfg, "memory", "/t/pods/c1", buf, sizeof(buf)));
	CHECK_STREQ(buf, "/r/t/pods/c1");

	uint64_t v;
	CHECK(cgroup_kv("a 1\nmax 5\nmax_x 7\n", "max", &v));
	CHECK_EQ(v, 5);
	CHECK(!cgroup_kv("maxi 5\n", "max", &v));
	CHECK(cgroup_kv("oom_kill_disable 0\nunder_oom 0\noom_kill 3", "oom_kill", &v));
	CHECK_EQ(v, 3);
}

TEST(config_detects_layout)
{
	struct cgroup_config cfg;
	struct error e;

	make_tmp();
	CHECK(cgroup_config_init(&cfg, tmp, "", "pods", &e) < 0);
	CHECK(strstr(e.msg, "neither a cgroup2 mount") != NULL);
	CHECK(cgroup_config_init(&cfg, "/nonexistent-lcow", "", "pods", &e) < 0);
	CHECK(cgroup_config_init(&cfg, CGROUP_DEFAULT_ROOT, "relative", "pods", &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK(cgroup_config_init(&cfg, CGROUP_DEFAULT_ROOT, "", "a/b", &e) < 0);
	if (access(CGROUP_DEFAULT_ROOT "/cgroup.controllers", F_OK) == 0) {
		CHECK_OK(cgroup_config_init(&cfg, CGROUP_DEFAULT_ROOT, "/p", "pods", &e));
		CHECK_EQ(cfg.layout, CGROUP_V2);
	} else if (access(CGROUP_DEFAULT_ROOT "/memory/memory.stat", F_OK) == 0) {
		CHECK_OK(cgroup_config_init(&cfg, CGROUP_DEFAULT_ROOT, "/p", "containers", &e));
		CHECK_EQ(cfg.layout, CGROUP_V1);
		CHECK_STREQ(cfg.parent, "containers");
	} else {
		SKIP("no cgroup hierarchy mounted at " CGROUP_DEFAULT_ROOT);
	}
	/* A hybrid layout's unified mount is v2 on its own. */
	if (access(CGROUP_DEFAULT_ROOT "/unified/cgroup.controllers", F_OK) == 0) {
		CHECK_OK(cgroup_config_init(&cfg, CGROUP_DEFAULT_ROOT "/unified", "", "pods", &e));
		CHECK_EQ(cfg.layout, CGROUP_V2);
	}
}

TEST(fake_v2_setup_limit_move)
{
	struct cgroup_config cfg = {.layout = CGROUP_V2, .prefix = "/t", .parent = "pods"};
	char pods[256], gcs[256], top[256];
	struct error e;

	make_tmp();
	snprintf(cfg.root, sizeof(cfg.root), "%s", tmp);
	/* cgroupfs creates these files itself; the fake tree needs them. */
	fake("cgroup.subtree_control", "");
	fake("t/cgroup.subtree_control", "");
	fake("t/pods/memory.max", "");
	fake("t/gcs/cgroup.procs", "");
	CHECK_OK(cgroup_setup(&cfg, 1ull << 30, CGROUP_DEFAULT_RESERVE, &e));
	snprintf(top, sizeof(top), "%s/t", tmp);
	snprintf(pods, sizeof(pods), "%s/t/pods", tmp);
	snprintf(gcs, sizeof(gcs), "%s/t/gcs", tmp);
	CHECK_STREQ(content(tmp, "cgroup.subtree_control"), "+memory");
	CHECK_STREQ(content(top, "cgroup.subtree_control"), "+memory");
	CHECK_STREQ(content(pods, "memory.max"), "995098624");
	CHECK_OK(cgroup_move_to_gcs(&cfg, 1234, &e));
	CHECK_STREQ(content(gcs, "cgroup.procs"), "1234");
	CHECK_OK(cgroup_set_parent_limit(&cfg, 536870912, &e));
	CHECK_STREQ(content(pods, "memory.max"), "536870912");
	/* Memory hot-add: the limit follows what sysinfo says now. */
	uint64_t total;
	char want[32];
	CHECK_OK(cgroup_total_ram(&total, &e));
	CHECK_OK(cgroup_refresh_parent_limit(&cfg, CGROUP_DEFAULT_RESERVE, &e));
	snprintf(want, sizeof(want), "%llu", (unsigned long long)(total - CGROUP_DEFAULT_RESERVE));
	CHECK_STREQ(content(pods, "memory.max"), want);
	CHECK(cgroup_setup(&cfg, 1 << 20, CGROUP_DEFAULT_RESERVE, &e) < 0);
}

TEST(fake_v1_setup_use_hierarchy_first)
{
	struct cgroup_config cfg = {.layout = CGROUP_V1, .prefix = "", .parent = "containers"};
	char mem[256], cont[256];
	struct error e;

	make_tmp();
	snprintf(cfg.root, sizeof(cfg.root), "%s", tmp);
	fake("memory/memory.use_hierarchy", ""); /* written, not read */
	fake("memory/containers/memory.limit_in_bytes", "");
	fake("memory/gcs/cgroup.procs", "");
	CHECK_OK(cgroup_setup(&cfg, 4ull << 30, 100ull << 20, &e));
	snprintf(mem, sizeof(mem), "%s/memory", tmp);
	snprintf(cont, sizeof(cont), "%s/memory/containers", tmp);
	CHECK_STREQ(content(mem, "memory.use_hierarchy"), "1");
	CHECK_STREQ(content(cont, "memory.limit_in_bytes"), "4190109696");
	/* Without the limit file (no memory controller) setup fails clearly. */
	snprintf(cont, sizeof(cont), "%s/memory/containers/memory.limit_in_bytes", tmp);
	CHECK_EQ(unlink(cont), 0);
	CHECK(cgroup_setup(&cfg, 4ull << 30, 100ull << 20, &e) < 0);
	CHECK(strstr(e.msg, "memory.limit_in_bytes") != NULL);
}

/* ---- real cgroups ------------------------------------------------------------ */

static struct cgroup_config real;
static pid_t child = -1;

static void cleanup_real(void)
{
	struct error e;

	if (child > 0) {
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
	}
	if (real.root[0] && cgroup_teardown(&real, &e) < 0)
		fprintf(stderr, "cleanup: %s\n", e.msg);
}

static bool in_any_hierarchy(const char *prefix)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "find %s -maxdepth 2 -name '%s' | grep -q .",
		 CGROUP_DEFAULT_ROOT, prefix + 1);
	return system(cmd) == 0;
}

TEST(real_setup_move_refresh_teardown)
{
	char prefix[64], dir[256], path[128], line[512], want[128];
	uint64_t total, v, page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct error e;
	FILE *f;
	bool found = false;

	if (geteuid() != 0)
		SKIP("needs root to create cgroups");
	snprintf(prefix, sizeof(prefix), "/lcow-test-%d-cg", (int)getpid());
	if (cgroup_config_init(&real, CGROUP_DEFAULT_ROOT, prefix, "pods", &e) < 0)
		SKIP("no usable cgroup layout: %s", e.msg);
	atexit(cleanup_real);
	CHECK_OK(cgroup_total_ram(&total, &e));
	if (cgroup_setup(&real, total, CGROUP_DEFAULT_RESERVE, &e) < 0)
		unit_fail(__FILE__, __LINE__, "%s", e.msg);

	snprintf(path, sizeof(path), "%s/pods", prefix);
	CHECK_OK(cgroup_dir(&real, "memory", path, dir, sizeof(dir)));
	/* The kernel keeps limits in whole pages. */
	CHECK_OK(cgroup_read_u64(dir,
				 real.layout == CGROUP_V1 ? "memory.limit_in_bytes" : "memory.max",
				 UINT64_MAX, &v));
	CHECK_EQ(v, (total - CGROUP_DEFAULT_RESERVE) / page * page);
	CHECK_OK(cgroup_set_parent_limit(&real, 512ull << 20, &e));
	CHECK_OK(cgroup_read_u64(dir,
				 real.layout == CGROUP_V1 ? "memory.limit_in_bytes" : "memory.max",
				 UINT64_MAX, &v));
	CHECK_EQ(v, 512ull << 20);
	CHECK_OK(cgroup_refresh_parent_limit(&real, CGROUP_DEFAULT_RESERVE, &e));

	child = fork();
	CHECK(child >= 0);
	if (child == 0) {
		pause();
		_exit(0);
	}
	CHECK_OK(cgroup_move_to_gcs(&real, child, &e));
	snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)child);
	snprintf(want, sizeof(want), "%s/gcs\n", prefix);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f))
		if ((real.layout == CGROUP_V2 || strstr(line, ":memory:")) &&
		    strlen(line) > strlen(want) &&
		    !strcmp(line + strlen(line) - strlen(want), want))
			found = true;
	fclose(f);
	CHECK(found);

	/* A cgroup with a process cannot go. */
	CHECK(cgroup_teardown(&real, &e) < 0);
	CHECK_EQ(e.errnum, EBUSY);
	kill(child, SIGKILL);
	CHECK_EQ(waitpid(child, NULL, 0), child);
	child = -1;
	CHECK_OK(cgroup_teardown(&real, &e));
	CHECK(!in_any_hierarchy(prefix));
	real.root[0] = '\0';
}

/* ---- pod cgroups ------------------------------------------------------------- */

static struct json_object *resources(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	CHECK(o != NULL);
	return o;
}

TEST(fake_v1_pod_gets_sandbox_resources)
{
	struct cgroup_config cfg = {.layout = CGROUP_V1, .prefix = "/t", .parent = "pods"};
	struct json_object *res = resources(
		"{\"memory\":{\"limit\":268435456},\"cpu\":{\"shares\":512,\"quota\":50000,"
		"\"period\":100000},\"pids\":{\"limit\":-1}}");
	char d[256];
	struct error e;

	make_tmp();
	snprintf(cfg.root, sizeof(cfg.root), "%s", tmp);
	fake("memory/t/pods/sb1/memory.limit_in_bytes", "9223372036854771712\n");
	fake("cpu/t/pods/sb1/cpu.shares", "1024\n");
	fake("cpu/t/pods/sb1/cpu.cfs_period_us", "100000\n");
	fake("cpu/t/pods/sb1/cpu.cfs_quota_us", "-1\n");
	fake("pids/t/pods/sb1/pids.max", "max\n");
	CHECK_OK(cgroup_pod_create(&cfg, "sb1", res, &e));
	snprintf(d, sizeof(d), "%s/memory/t/pods/sb1", tmp);
	CHECK_STREQ(content(d, "memory.limit_in_bytes"), "268435456");
	snprintf(d, sizeof(d), "%s/cpu/t/pods/sb1", tmp);
	CHECK_STREQ(content(d, "cpu.shares"), "512");
	CHECK_STREQ(content(d, "cpu.cfs_period_us"), "100000");
	CHECK_STREQ(content(d, "cpu.cfs_quota_us"), "50000");
	snprintf(d, sizeof(d), "%s/pids/t/pods/sb1", tmp);
	CHECK_STREQ(content(d, "pids.max"), "max");
	json_object_put(res);

	/* No resources: just the cgroup. A limit without its controller is
	 * an error, never silently dropped. */
	CHECK_OK(cgroup_pod_create(&cfg, "sb2", NULL, &e));
	snprintf(d, sizeof(d), "%s/memory/t/pods/sb2", tmp);
	CHECK_EQ(access(d, F_OK), 0);
	res = resources("{\"hugepageLimits\":[],\"pids\":{\"limit\":5}}");
	snprintf(d, sizeof(d), "rm -rf '%s/pids'", tmp);
	CHECK_EQ(system(d), 0);
	CHECK(cgroup_pod_create(&cfg, "sb3", res, &e) < 0);
	CHECK(strstr(e.msg, "needs the pids controller") != NULL);
	json_object_put(res);
	CHECK(cgroup_pod_create(&cfg, "../x", NULL, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
}

TEST(fake_v2_pod_enables_controllers_and_maps_cpu)
{
	struct cgroup_config cfg = {.layout = CGROUP_V2, .prefix = "/t", .parent = "pods"};
	struct json_object *res =
		resources("{\"memory\":{\"limit\":-1},\"cpu\":{\"shares\":512,\"quota\":50000,"
			  "\"period\":200000},\"pids\":{\"limit\":100}}");
	char d[256];
	struct error e;

	make_tmp();
	snprintf(cfg.root, sizeof(cfg.root), "%s", tmp);
	fake("cgroup.controllers", "cpuset cpu io memory hugetlb pids rdma misc\n");
	fake("cgroup.subtree_control", "");
	fake("t/cgroup.controllers", "cpu memory pids\n");
	fake("t/cgroup.subtree_control", "memory");
	fake("t/pods/cgroup.controllers", "memory\n");
	fake("t/pods/cgroup.subtree_control", "");
	fake("t/pods/sb1/memory.max", "0\n");
	fake("t/pods/sb1/cpu.weight", "100\n");
	fake("t/pods/sb1/cpu.max", "max 100000\n");
	fake("t/pods/sb1/pids.max", "max\n");
	CHECK_OK(cgroup_pod_create(&cfg, "sb1", res, &e));
	CHECK_STREQ(content(tmp, "cgroup.subtree_control"), "+memory +cpu +pids");
	snprintf(d, sizeof(d), "%s/t", tmp);
	CHECK_STREQ(content(d, "cgroup.subtree_control"), "+memory +cpu +pids");
	snprintf(d, sizeof(d), "%s/t/pods", tmp);
	CHECK_STREQ(content(d, "cgroup.subtree_control"), "+memory");
	snprintf(d, sizeof(d), "%s/t/pods/sb1", tmp);
	CHECK_STREQ(content(d, "memory.max"), "max");
	/* 1 + (512 - 2) * 9999 / 262142 */
	CHECK_STREQ(content(d, "cpu.weight"), "20");
	CHECK_STREQ(content(d, "cpu.max"), "50000 200000");
	CHECK_STREQ(content(d, "pids.max"), "100");
	json_object_put(res);
}

TEST(real_pod_cgroup_limits_and_removal)
{
	struct json_object *res = resources("{\"memory\":{\"limit\":268435456},\"pids\":"
					    "{\"limit\":32}}");
	char prefix[64], path[160], dir[256];
	uint64_t total, v;
	struct error e;

	if (geteuid() != 0)
		SKIP("needs root to create cgroups");
	snprintf(prefix, sizeof(prefix), "/lcow-test-%d-pod", (int)getpid());
	if (cgroup_config_init(&real, CGROUP_DEFAULT_ROOT, prefix, "pods", &e) < 0)
		SKIP("no usable cgroup layout: %s", e.msg);
	atexit(cleanup_real);
	CHECK_OK(cgroup_total_ram(&total, &e));
	CHECK_OK(cgroup_setup(&real, total, CGROUP_DEFAULT_RESERVE, &e));
	if (cgroup_pod_create(&real, "sb", res, &e) < 0)
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	snprintf(path, sizeof(path), "%s/pods/sb", prefix);
	CHECK_OK(cgroup_dir(&real, "memory", path, dir, sizeof(dir)));
	CHECK_OK(cgroup_read_u64(dir,
				 real.layout == CGROUP_V1 ? "memory.limit_in_bytes" : "memory.max",
				 UINT64_MAX, &v));
	CHECK_EQ(v, 268435456);
	CHECK_OK(cgroup_dir(&real, "pids", path, dir, sizeof(dir)));
	CHECK_OK(cgroup_read_u64(dir, "pids.max", 0, &v));
	CHECK_EQ(v, 32);
	CHECK_OK(cgroup_pod_remove(&real, "sb", &e));
	CHECK(access(dir, F_OK) < 0 && errno == ENOENT);
	CHECK_OK(cgroup_teardown(&real, &e));
	CHECK(!in_any_hierarchy(prefix));
	real.root[0] = '\0';
	json_object_put(res);
}
