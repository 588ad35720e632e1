/* The runtime core against the real runc (as root): a busybox bundle from
 * Debian's busybox-static, prepared by oci_spec_prepare(), run through
 * runc_create/start/exec/kill/delete, with cgroups under a private prefix.
 * Every case removes its containers (runc delete --force), cgroups and temp
 * dir on exit, failures included. */
#include "unit.h"

#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cgroups/cgroup.h"
#include "containers/oci_spec.h"
#include "cgroups/oom.h"
#include "runc/runc.h"
#include "cgroups/stats.h"

#define BUSYBOX "/bin/busybox"
#define MAX_IDS 8

static char tmp[64], runc_bin[PATH_MAX], runc_root[128], calls[128], parent[128];
static struct runc_config rc;
static struct cgroup_config cg;
static bool cg_ready;
static char ids[MAX_IDS][64];
static int nids;

/* Runs before unit_tmpdir()'s removal of tmp (registered after it): runc's
 * state is in tmp/runc-root. */
static void cleanup(void)
{
	struct error e;

	for (int i = 0; i < nids; i++)
		runc_delete(&rc, ids[i], true, &e);
	/* We are the subreaper of the containers' processes. */
	while (waitpid(-1, NULL, WNOHANG) > 0)
		;
	if (cg_ready && cgroup_teardown(&cg, &e) < 0)
		fprintf(stderr, "cleanup: %s\n", e.msg);
}

static void setup(void)
{
	char prefix[64];
	uint64_t total;
	struct error e;

	if (geteuid() != 0)
		SKIP("needs root to run runc");
	if (runc_find(runc_bin, sizeof(runc_bin), &e) < 0)
		SKIP("runc is not installed");
	if (access(BUSYBOX, X_OK) != 0)
		SKIP("busybox-static is not installed");
	snprintf(prefix, sizeof(prefix), "/lcow-test-%d-rt", (int)getpid());
	if (cgroup_config_init(&cg, CGROUP_DEFAULT_ROOT, prefix, "pods", &e) < 0)
		SKIP("no usable cgroup layout: %s", e.msg);
	unit_tmpdir(tmp, sizeof(tmp), "rt");
	atexit(cleanup);
	CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	CHECK_OK(cgroup_total_ram(&total, &e));
	cg_ready = true;
	if (cgroup_setup(&cg, total, CGROUP_DEFAULT_RESERVE, &e) < 0)
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	CHECK_OK(cgroup_parent_path(&cg, parent, sizeof(parent)));
	snprintf(runc_root, sizeof(runc_root), "%s/runc-root", tmp);
	snprintf(calls, sizeof(calls), "%s/calls", tmp);
	rc = (struct runc_config){.runc = runc_bin, .root = runc_root, .tmp_dir = calls};
}

static void run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void run(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		unit_fail(__FILE__, __LINE__, "failed: %s", cmd);
}

static void put_file(const char *dir, const char *rel, const char *text)
{
	char p[512];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", dir, rel);
	f = fopen(p, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

struct ctr {
	char id[64];
	char bundle[256];
	struct json_object *spec;
	struct oci_prepared prep;
	struct runc_proc proc;
	int out; /* read end of the init's stdout (-1 with a terminal) */
};

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (!o)
		unit_fail(__FILE__, __LINE__, "bad JSON in test: %s", text);
	return o;
}

static void set_path(struct json_object *root, const char *obj_path, const char *key,
		     struct json_object *v)
{
	struct json_object *o;

	if (json_pointer_get(root, obj_path, &o) < 0)
		unit_fail(__FILE__, __LINE__, "config.json has no %s", obj_path);
	CHECK_EQ(json_object_object_add(o, key, v), 0);
}

/* A bundle <tmp>/<name> with a busybox rootfs and `runc spec`'s config,
 * process.args = args, prepared as a standalone Create would be. */
static void make_spec(struct ctr *c, const char *name, const char *args_json, const char *user,
		      const char *resources_json, bool terminal)
{
	char rootfs[300], path[512];
	struct error e;
	static const char *const applets[] = {"sh",  "id", "sleep", "echo",
					      "cat", "dd", "true",  "hostname"};

	snprintf(c->id, sizeof(c->id), "lcowt-%d-%s", (int)getpid(), name);
	CHECK(nids < MAX_IDS);
	strcpy(ids[nids++], c->id);
	snprintf(c->bundle, sizeof(c->bundle), "%s/%s", tmp, name);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", c->bundle);
	run("mkdir -p '%s/bin' '%s/etc' '%s/tmp'", rootfs, rootfs, rootfs);
	run("cp " BUSYBOX " '%s/bin/busybox'", rootfs);
	for (size_t i = 0; i < sizeof(applets) / sizeof(applets[0]); i++) {
		snprintf(path, sizeof(path), "%s/bin/%s", rootfs, applets[i]);
		CHECK_EQ(symlink("busybox", path), 0);
	}
	put_file(rootfs, "etc/passwd",
		 "root:x:0:0:root:/root:/bin/sh\n"
		 "alice:x:1000:1000::/tmp:/bin/sh\n"
		 "bob:x:1001:1001::/tmp:/bin/sh\n");
	put_file(rootfs, "etc/group",
		 "root:x:0:\nwheel:x:10:alice\nstaff:x:50:alice,bob\n"
		 "alice:x:1000:\nbob:x:1001:\n");
	run("'%s' spec -b '%s'", runc_bin, c->bundle);
	snprintf(path, sizeof(path), "%s/config.json", c->bundle);
	CHECK_OK(json_file_read(path, &c->spec, &e));
	set_path(c->spec, "/process", "args", parse(args_json));
	set_path(c->spec, "/process", "terminal", json_object_new_boolean(terminal));
	set_path(c->spec, "/process", "rlimits",
		 parse("[{\"type\":\"RLIMIT_NOFILE\",\"hard\":777,\"soft\":777}]"));
	if (user)
		set_path(c->spec, "/process/user", "username", json_object_new_string(user));
	if (resources_json)
		set_path(c->spec, "/linux", "resources", parse(resources_json));
}

/* What Create does with the spec: classify, prepare, write config.json. */
static void prepare_write(struct ctr *c, const char *sandbox_root)
{
	struct oci_prepare_opts o = {
		.id = c->id,
		.bundle = c->bundle,
		.sandbox_root = sandbox_root,
		.cgroup_parent = parent,
		.cgroup_per_pod = true,
		.uvm_hostname = "lcow-test",
	};
	char path[512];
	struct error e;

	CHECK_OK(oci_spec_classify(c->spec, c->id, &o.cls, &e));
	if (oci_spec_prepare(c->spec, &o, &c->prep, &e) < 0)
		unit_fail(__FILE__, __LINE__, "prepare: %s", e.msg);
	snprintf(path, sizeof(path), "%s/config.json", c->bundle);
	CHECK_OK(json_file_write(path, c->spec, &e));
}

static void bundle(struct ctr *c, const char *name, const char *args_json, const char *user,
		   const char *resources_json, bool terminal)
{
	make_spec(c, name, args_json, user, resources_json, terminal);
	prepare_write(c, NULL);
}

static int create(struct ctr *c, struct error *e)
{
	int p[2], rc_create;

	c->out = -1;
	if (c->prep.terminal) {
		rc_create = runc_create(&rc, c->id, c->bundle, NULL, true, &c->proc, e);
		oci_prepared_release(&c->prep);
		return rc_create;
	}
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	const int stdio[3] = {-1, p[1], p[1]};
	rc_create = runc_create(&rc, c->id, c->bundle, stdio, false, &c->proc, e);
	oci_prepared_release(&c->prep); /* as the gcs does once runc has mounted */
	close(p[1]);
	c->out = p[0];
	return rc_create;
}

static void must_create(struct ctr *c)
{
	struct error e;

	if (create(c, &e) < 0)
		unit_fail(__FILE__, __LINE__, "create %s: %s", c->id, e.msg);
	CHECK(c->proc.pid > 0);
}

/* Reads fd until EOF/EIO (a pty whose process exited) or until `until`
 * appears, for at most 10 s. */
static char *read_until(int fd, const char *until)
{
	static char buf[8192];
	size_t n = 0;
	time_t end = time(NULL) + 10;

	buf[0] = '\0';
	while (time(NULL) < end && n + 1 < sizeof(buf)) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		ssize_t r;

		if (poll(&pfd, 1, 200) <= 0)
			continue;
		r = read(fd, buf + n, sizeof(buf) - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (until && strstr(buf, until))
			break;
	}
	return buf;
}

/* Exit code as a container process reports it: 128+signal when killed. */
static int wait_exit(pid_t pid)
{
	int status;

	for (int i = 0; i < 1500; i++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		struct timespec ts = {0, 10 * 1000 * 1000};

		if (r == pid)
			return WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
		CHECK(r == 0);
		nanosleep(&ts, NULL);
	}
	unit_fail(__FILE__, __LINE__, "pid %d did not exit in 15 s", (int)pid);
}

static uint64_t json_u64(struct json_object *o, const char *ptr)
{
	struct json_object *v;

	if (json_pointer_get(o, ptr, &v) < 0)
		return 0;
	return json_object_get_uint64(v);
}

static uint64_t cgroup_value(const struct ctr *c, const char *ctrl, const char *file)
{
	char dir[PATH_MAX];
	uint64_t v = 0;

	CHECK_OK(cgroup_dir(&cg, ctrl, c->prep.cgroups_path, dir, sizeof(dir)));
	CHECK_OK(cgroup_read_u64(dir, file, UINT64_MAX, &v));
	return v;
}

static void expect_kind(int rc_op, const struct error *e, enum error_kind kind)
{
	if (rc_op >= 0)
		unit_fail(__FILE__, __LINE__, "succeeded, want error kind %d", kind);
	if (e->kind != kind)
		unit_fail(__FILE__, __LINE__, "kind %d (%s), want %d", e->kind, e->msg, kind);
}

TEST(lifecycle_state_limits_stats_kill_delete)
{
	struct ctr c = {0};
	struct runc_state st;
	struct json_object *m;
	struct error e;
	pid_t *pids;
	size_t n;
	bool found = false;
	char dir[PATH_MAX];

	setup();
	bundle(&c, "life", "[\"sh\",\"-c\",\"echo hello; exec sleep 300\"]", NULL,
	       "{\"memory\":{\"limit\":67108864},\"pids\":{\"limit\":64}}", false);
	/* Standalone: <prefix>/pods/<id>. */
	snprintf(dir, sizeof(dir), "%s/%s", parent, c.id);
	CHECK_STREQ(c.prep.cgroups_path, dir);
	must_create(&c);
	CHECK_OK(runc_state(&rc, c.id, &st, &e));
	CHECK_STREQ(st.status, "created");
	CHECK_EQ(st.pid, c.proc.pid);
	CHECK_OK(runc_start(&rc, c.id, c.bundle, &e));
	CHECK_STREQ(read_until(c.out, "\n"), "hello\n");
	CHECK_OK(runc_state(&rc, c.id, &st, &e));
	CHECK_STREQ(st.status, "running");

	/* The spec's limits are in the cgroup gcs chose. */
	CHECK_EQ(cgroup_value(&c, "memory",
			      cg.layout == CGROUP_V1 ? "memory.limit_in_bytes" : "memory.max"),
		 67108864);
	CHECK_EQ(cgroup_value(&c, "pids", "pids.max"), 64);

	CHECK_OK(stats_read(&cg, c.prep.cgroups_path, &m, &e));
	CHECK(json_u64(m, "/memory/usage/usage") > 0);
	CHECK_EQ(json_u64(m, "/memory/usage/limit"), 67108864);
	CHECK_EQ(json_u64(m, "/pids/current"), 1);
	CHECK_EQ(json_u64(m, "/pids/limit"), 64);
	CHECK(json_u64(m, "/cpu/usage/total") > 0);
	CHECK(strlen(json_object_to_json_string(m)) < 16384);
	json_object_put(m);

	CHECK_OK(runc_ps(&rc, c.id, &pids, &n, &e));
	for (size_t i = 0; i < n; i++)
		found |= pids[i] == c.proc.pid;
	free(pids);
	CHECK(found);

	/* ContainerConstraints: runc update --resources -. */
	CHECK_OK(runc_update(&rc, c.id, "{\"memory\":{\"limit\":134217728}}", &e));
	CHECK_EQ(cgroup_value(&c, "memory",
			      cg.layout == CGROUP_V1 ? "memory.limit_in_bytes" : "memory.max"),
		 134217728);

	expect_kind(runc_delete(&rc, c.id, false, &e), &e, ERR_INVALID_STATE);
	/* Shutdown: init only; sh as pid 1 ignores SIGTERM, SIGKILL it. */
	CHECK_OK(runc_kill(&rc, c.id, SIGKILL, false, &e));
	CHECK_EQ(wait_exit(c.proc.pid), 137);
	expect_kind(runc_kill(&rc, c.id, SIGTERM, false, &e), &e, ERR_ALREADY_STOPPED);
	CHECK_OK(runc_kill(&rc, c.id, SIGKILL, true, &e));
	CHECK_OK(runc_state(&rc, c.id, &st, &e));
	CHECK_STREQ(st.status, "stopped");
	CHECK_OK(runc_delete(&rc, c.id, false, &e));
	expect_kind(runc_state(&rc, c.id, &st, &e), &e, ERR_NO_CONTAINER);
	expect_kind(runc_delete(&rc, c.id, false, &e), &e, ERR_NO_CONTAINER);
	expect_kind(runc_kill(&rc, c.id, SIGKILL, false, &e), &e, ERR_NO_CONTAINER);
	CHECK_OK(cgroup_dir(&cg, "memory", c.prep.cgroups_path, dir, sizeof(dir)));
	CHECK(access(dir, F_OK) < 0 && errno == ENOENT);
	json_object_put(c.spec);
}

TEST(exit_status_duplicate_and_invalid_ids)
{
	struct ctr c = {0};
	struct runc_proc p;
	struct error e;
	const int none[3] = {-1, -1, -1};

	setup();
	bundle(&c, "exit3", "[\"sh\",\"-c\",\"echo bye; exit 3\"]", NULL, NULL, false);
	must_create(&c);
	expect_kind(runc_create(&rc, c.id, c.bundle, none, false, &p, &e), &e, ERR_EXISTS);
	CHECK(strstr(e.msg, c.id) != NULL);
	CHECK_OK(runc_start(&rc, c.id, c.bundle, &e));
	CHECK_STREQ(read_until(c.out, NULL), "bye\n");
	CHECK_EQ(wait_exit(c.proc.pid), 3);
	CHECK_OK(runc_delete(&rc, c.id, false, &e));
	expect_kind(runc_start(&rc, "lcowt-nonexistent", c.bundle, &e), &e, ERR_NO_CONTAINER);
	expect_kind(runc_create(&rc, "bad/id", c.bundle, none, false, &p, &e), &e, ERR_INVALID_ARG);
	json_object_put(c.spec);
}

TEST(named_user_for_init_and_exec_with_inherited_rlimits)
{
	struct ctr c = {0};
	struct json_object *proc;
	struct runc_proc ep;
	struct error e;
	int p[2];
	const char *out;

	setup();
	bundle(&c, "user", "[\"sh\",\"-c\",\"id; exec sleep 300\"]", "alice", NULL, false);
	CHECK(c.prep.has_username);
	must_create(&c);
	CHECK_OK(runc_start(&rc, c.id, c.bundle, &e));
	out = read_until(c.out, "\n");
	if (!strstr(out, "uid=1000(alice) gid=1000(alice)") || !strstr(out, "10(wheel)") ||
	    !strstr(out, "50(staff)"))
		unit_fail(__FILE__, __LINE__, "init's id: %s", out);

	/* An exec naming its own user, with the container's NOFILE limit. */
	proc = parse("{\"args\":[\"sh\",\"-c\",\"id; ulimit -n\"],\"cwd\":\"/\",\"env\":"
		     "[\"PATH=/bin\"],\"terminal\":false,\"user\":{\"uid\":0,\"gid\":0,"
		     "\"username\":\"bob\"}}");
	CHECK_OK(oci_process_prepare(proc, c.spec, c.prep.rootfs, &e));
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	const int stdio[3] = {-1, p[1], p[1]};
	if (runc_exec(&rc, c.id, c.bundle, proc, stdio, &ep, &e) < 0)
		unit_fail(__FILE__, __LINE__, "exec: %s", e.msg);
	close(p[1]);
	CHECK(ep.pid > 0 && ep.pid != c.proc.pid);
	CHECK_EQ(wait_exit(ep.pid), 0);
	out = read_until(p[0], NULL);
	close(p[0]);
	if (!strstr(out, "uid=1001(bob) gid=1001(bob) groups=50(staff)\n777\n"))
		unit_fail(__FILE__, __LINE__, "exec output: %s", out);
	json_object_put(proc);

	/* Without a user of its own, the exec runs as the container's user. */
	proc = parse("{\"args\":[\"id\",\"-u\"],\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],"
		     "\"user\":{\"uid\":0,\"gid\":0}}");
	CHECK_OK(oci_process_prepare(proc, c.spec, c.prep.rootfs, &e));
	CHECK_EQ(pipe2(p, O_CLOEXEC), 0);
	const int stdio2[3] = {-1, p[1], p[1]};
	CHECK_OK(runc_exec(&rc, c.id, c.bundle, proc, stdio2, &ep, &e));
	close(p[1]);
	CHECK_EQ(wait_exit(ep.pid), 0);
	CHECK_STREQ(read_until(p[0], NULL), "1000\n");
	close(p[0]);
	json_object_put(proc);

	CHECK_OK(runc_delete(&rc, c.id, true, &e));
	CHECK_EQ(wait_exit(c.proc.pid), 137);
	json_object_put(c.spec);
}

TEST(terminal_init_and_exec_get_a_pty)
{
	struct ctr c = {0};
	struct json_object *proc;
	struct runc_proc ep;
	struct error e;
	const char *out;

	setup();
	bundle(&c, "tty",
	       "[\"sh\",\"-c\",\"[ -t 0 ] && [ -t 1 ] && echo on-a-tty; exec sleep 300\"]", NULL,
	       NULL, true);
	CHECK(c.prep.terminal);
	must_create(&c);
	CHECK(c.proc.pty_master >= 0);
	CHECK_OK(runc_start(&rc, c.id, c.bundle, &e));
	out = read_until(c.proc.pty_master, "on-a-tty");
	if (!strstr(out, "on-a-tty"))
		unit_fail(__FILE__, __LINE__, "pty output: %s", out);

	/* An exec with a terminal gets a pty of its own. */
	proc = parse("{\"terminal\":true,\"args\":[\"sh\",\"-c\",\"[ -t 1 ] && echo exec-tty\"],"
		     "\"cwd\":\"/\",\"env\":[\"PATH=/bin\"],\"user\":{\"uid\":0,\"gid\":0}}");
	CHECK_OK(oci_process_prepare(proc, c.spec, c.prep.rootfs, &e));
	if (runc_exec(&rc, c.id, c.bundle, proc, NULL, &ep, &e) < 0)
		unit_fail(__FILE__, __LINE__, "exec: %s", e.msg);
	CHECK(ep.pty_master >= 0 && ep.pty_master != c.proc.pty_master);
	out = read_until(ep.pty_master, "exec-tty");
	if (!strstr(out, "exec-tty"))
		unit_fail(__FILE__, __LINE__, "exec pty output: %s", out);
	CHECK_EQ(wait_exit(ep.pid), 0);
	close(ep.pty_master);
	json_object_put(proc);

	CHECK_OK(runc_kill(&rc, c.id, SIGKILL, false, &e));
	CHECK_EQ(wait_exit(c.proc.pid), 137);
	close(c.proc.pty_master);
	CHECK_OK(runc_delete(&rc, c.id, false, &e));
	json_object_put(c.spec);
}

TEST(oom_kill_gives_137_and_is_counted)
{
	struct ctr c = {0};
	struct oom_watch w;
	struct json_object *m;
	struct error e;
	uint64_t kills = 0;

	setup();
	/* dd's 64 MiB buffer cannot fit under a 16 MiB limit without swap. */
	bundle(&c, "oom", "[\"dd\",\"if=/dev/zero\",\"of=/dev/null\",\"bs=64M\",\"count=1\"]", NULL,
	       "{\"memory\":{\"limit\":16777216,\"swap\":16777216}}", false);
	must_create(&c);
	CHECK_OK(oom_kill_count(&cg, c.prep.cgroups_path, &kills, &e));
	CHECK_EQ(kills, 0);
	if (oom_watch_open(&cg, c.prep.cgroups_path, &w, &e) < 0)
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	CHECK_OK(runc_start(&rc, c.id, c.bundle, &e));
	CHECK_EQ(wait_exit(c.proc.pid), 137);
	struct pollfd pfd = {.fd = w.fd, .events = POLLIN | POLLPRI};
	CHECK_EQ(poll(&pfd, 1, 5000), 1);
	CHECK_OK(oom_watch_ack(&cg, c.prep.cgroups_path, &w, &kills, &e));
	CHECK_EQ(kills, 1);
	oom_watch_close(&w);
	CHECK_OK(stats_read(&cg, c.prep.cgroups_path, &m, &e));
	CHECK_EQ(json_u64(m, "/memory_oom_control/oom_kill"), 1);
	json_object_put(m);
	CHECK_OK(runc_delete(&rc, c.id, false, &e));
	json_object_put(c.spec);
}

TEST(cri_pod_sandbox_and_workload)
{
	struct ctr sb = {0}, w = {0};
	struct json_object *ann, *res;
	struct error e;
	char text[1024], path[512];
	const char *out;

	setup();
	/* The sandbox: its hostname, the pod cgroup with its resources. */
	make_spec(&sb, "sb", "[\"sh\",\"-c\",\"echo ready; exec sleep 300\"]", NULL,
		  "{\"memory\":{\"limit\":268435456}}", false);
	set_path(sb.spec, "", "hostname", json_object_new_string("pod1"));
	snprintf(text, sizeof(text),
		 "{\"io.kubernetes.cri.container-type\":\"sandbox\","
		 "\"io.kubernetes.cri.sandbox-id\":\"%s\"}",
		 sb.id);
	ann = parse(text);
	set_path(sb.spec, "", "annotations", ann);
	prepare_write(&sb, NULL);
	snprintf(path, sizeof(path), "%s/%s/%s", parent, sb.id, sb.id);
	CHECK_STREQ(sb.prep.cgroups_path, path);
	CHECK(json_pointer_get(sb.spec, "/linux/resources", &res) == 0);
	if (cgroup_pod_create(&cg, sb.id, res, &e) < 0)
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	must_create(&sb);
	CHECK_OK(runc_start(&rc, sb.id, sb.bundle, &e));
	CHECK_STREQ(read_until(sb.out, "\n"), "ready\n");

	/* A volume the pod shares through sandbox://. */
	run("mkdir -p '%s/sandboxMounts/vol' && echo from-pod > '%s/sandboxMounts/vol/f'",
	    sb.bundle, sb.bundle);

	/* The workload joins the sandbox's network, ipc and uts namespaces
	 * (as the CRI plugin writes them) and uses its files. */
	make_spec(&w, "w", "[\"sh\",\"-c\",\"cat /etc/hostname /v/f; hostname\"]", NULL, NULL,
		  false);
	snprintf(text, sizeof(text),
		 "{\"io.kubernetes.cri.container-type\":\"container\","
		 "\"io.kubernetes.cri.sandbox-id\":\"%s\"}",
		 sb.id);
	set_path(w.spec, "", "annotations", parse(text));
	json_object_object_del(w.spec, "hostname"); /* runc spec's "runc" */
	snprintf(text, sizeof(text),
		 "[{\"type\":\"pid\"},{\"type\":\"mount\"},"
		 "{\"type\":\"network\",\"path\":\"/proc/%d/ns/net\"},"
		 "{\"type\":\"ipc\",\"path\":\"/proc/%d/ns/ipc\"},"
		 "{\"type\":\"uts\",\"path\":\"/proc/%d/ns/uts\"}]",
		 (int)sb.proc.pid, (int)sb.proc.pid, (int)sb.proc.pid);
	set_path(w.spec, "/linux", "namespaces", parse(text));
	CHECK_OK(json_object_array_add(
		json_object_object_get(w.spec, "mounts"),
		parse("{\"destination\":\"/v\",\"type\":\"bind\",\"source\":\"sandbox://vol\","
		      "\"options\":[\"rbind\",\"ro\"]}")));
	prepare_write(&w, sb.bundle);
	snprintf(path, sizeof(path), "%s/%s/%s", parent, sb.id, w.id);
	CHECK_STREQ(w.prep.cgroups_path, path);
	must_create(&w);
	CHECK_OK(runc_start(&rc, w.id, w.bundle, &e));
	out = read_until(w.out, NULL);
	if (strcmp(out, "pod1\nfrom-pod\npod1\n") != 0)
		unit_fail(__FILE__, __LINE__, "workload output: %s", out);
	CHECK_EQ(wait_exit(w.proc.pid), 0);

	/* The pod's limit is above both containers' cgroups. */
	snprintf(path, sizeof(path), "%s/%s", parent, sb.id);
	struct ctr pod = {0};
	strcpy(pod.prep.cgroups_path, path);
	CHECK_EQ(cgroup_value(&pod, "memory",
			      cg.layout == CGROUP_V1 ? "memory.limit_in_bytes" : "memory.max"),
		 268435456);

	/* Teardown: workload first, sandbox last, then the pod cgroup. */
	CHECK_OK(runc_delete(&rc, w.id, false, &e));
	CHECK_OK(runc_kill(&rc, sb.id, SIGKILL, false, &e));
	CHECK_EQ(wait_exit(sb.proc.pid), 137);
	CHECK_OK(runc_delete(&rc, sb.id, false, &e));
	CHECK_OK(cgroup_pod_remove(&cg, sb.id, &e));
	json_object_put(w.spec);
	json_object_put(sb.spec);
}
