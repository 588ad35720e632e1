/* runc invocation without a real runc: argv order (spec 6.2), error text
 * mapping, log parsing, console socket, and runc_run/runc_* against a fake
 * runc (a Python script) that records what it was given. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "runc/runc.h"
#include "core/child_exec.h"

/* ---- argv ------------------------------------------------------------------ */

static void expect_argv(const struct runc_argv *a, const char *want)
{
	char got[2048] = "";

	for (int i = 0; i < a->argc; i++) {
		if (i)
			strcat(got, " ");
		strcat(got, a->argv[i]);
	}
	CHECK(a->argv[a->argc] == NULL);
	if (strcmp(got, want) != 0)
		unit_fail(__FILE__, __LINE__, "argv\n  got: %s\n want: %s", got, want);
}

TEST(argv_exact_order)
{
	struct runc_config rc = {.runc = "runc"};
	struct runc_argv a;

	CHECK_OK(runc_argv_create(&a, &rc, "c1", "/run/gcs/c/c1", "/t/pid", NULL));
	expect_argv(&a, "runc --log /run/gcs/c/c1/runc.log --log-format json create -b "
			"/run/gcs/c/c1 --no-pivot --pid-file /t/pid -- c1");
	CHECK_OK(runc_argv_create(&a, &rc, "c1", "/b", "/t/pid", "/t/master.sock"));
	expect_argv(&a, "runc --log /b/runc.log --log-format json create -b /b --no-pivot "
			"--pid-file /t/pid --console-socket /t/master.sock -- c1");
	CHECK_OK(runc_argv_start(&a, &rc, "c1", "/b"));
	expect_argv(&a, "runc --log /b/runc.log --log-format json start -- c1");
	CHECK_OK(runc_argv_exec(&a, &rc, "c1", "/b", "/t/process.json", "/t/pid", NULL));
	expect_argv(&a, "runc --log /b/runc.log --log-format json exec -d --process "
			"/t/process.json --pid-file /t/pid -- c1");
	CHECK_OK(runc_argv_exec(&a, &rc, "c1", "/b", "/t/p.json", "/t/pid", "/t/s"));
	expect_argv(&a, "runc --log /b/runc.log --log-format json exec -d --process /t/p.json "
			"--pid-file /t/pid --console-socket /t/s -- c1");
	CHECK_OK(runc_argv_kill(&a, &rc, "c1", 15, false));
	expect_argv(&a, "runc kill -- c1 15");
	CHECK_OK(runc_argv_kill(&a, &rc, "c1", 9, true));
	expect_argv(&a, "runc kill --all -- c1 9");
	CHECK_OK(runc_argv_delete(&a, &rc, "c1", false));
	expect_argv(&a, "runc delete -- c1");
	CHECK_OK(runc_argv_delete(&a, &rc, "c1", true));
	expect_argv(&a, "runc delete --force -- c1");
	CHECK_OK(runc_argv_ps(&a, &rc, "c1"));
	expect_argv(&a, "runc ps -f json -- c1");
	CHECK_OK(runc_argv_update(&a, &rc, "c1"));
	expect_argv(&a, "runc update --resources - -- c1");
	CHECK_OK(runc_argv_state(&a, &rc, "c1"));
	expect_argv(&a, "runc state -- c1");
}

TEST(argv_root_is_the_first_global_option)
{
	struct runc_config rc = {.runc = "/usr/bin/runc", .root = "/tmp/r"};
	struct runc_argv a;
	char longb[PATH_MAX];

	CHECK_OK(runc_argv_start(&a, &rc, "c1", "/b"));
	expect_argv(&a,
		    "/usr/bin/runc --root /tmp/r --log /b/runc.log --log-format json start -- c1");
	CHECK_OK(runc_argv_kill(&a, &rc, "c1", 9, true));
	expect_argv(&a, "/usr/bin/runc --root /tmp/r kill --all -- c1 9");
	memset(longb, 'b', sizeof(longb) - 1);
	longb[sizeof(longb) - 1] = '\0';
	longb[0] = '/';
	CHECK_EQ(runc_argv_start(&a, &rc, "c1", longb), -ENAMETOOLONG);
}

/* ---- error text ---------------------------------------------------------------- */

TEST(error_text_maps_to_kinds)
{
	static const struct {
		const char *msg;
		enum error_kind kind;
	} cases[] = {
		/* runc 1.1 (libcontainer errors) */
		{"container does not exist", ERR_NO_CONTAINER},
		{"runc create failed: container with given ID already exists", ERR_EXISTS},
		{"invalid container ID format", ERR_INVALID_ARG},
		{"cannot delete container c1 that is not stopped: running", ERR_INVALID_STATE},
		{"container still running", ERR_INVALID_STATE},
		{"container not running", ERR_ALREADY_STOPPED},
		/* older runc / libcontainer texts */
		{"container \"c1\" does not exist", ERR_NO_CONTAINER},
		{"container with id exists: c1", ERR_EXISTS},
		{"invalid id format: c/1", ERR_INVALID_ARG},
		/* not about the container itself */
		{"runc create failed: unable to start container process: exec: \"x\": stat /x: "
		 "file does not exist",
		 ERR_FAIL},
		{"rootfs (/r) does not exist", ERR_FAIL},
		{"exec failed: cannot exec in a stopped container", ERR_FAIL},
		{"", ERR_FAIL},
	};

	for (size_t i = 0; i < ARRAY_SIZE(cases); i++)
		if (runc_error_kind(cases[i].msg) != cases[i].kind)
			unit_fail(__FILE__, __LINE__, "\"%s\": kind %d, want %d", cases[i].msg,
				  runc_error_kind(cases[i].msg), cases[i].kind);
}

TEST(log_last_error_entry)
{
	const char *log =
		"{\"level\":\"info\",\"msg\":\"starting\",\"time\":\"t\"}\n"
		"{\"level\":\"error\",\"msg\":\"first error\",\"time\":\"t\"}\n"
		"not json at all\n"
		"{\"level\":\"fatal\",\"msg\":\"  container with given ID already exists\\n\","
		"\"time\":\"t\"}\n"
		"{\"level\":\"warning\",\"msg\":\"later warning\",\"time\":\"t\"}\n"
		"{\"level\":\"debug\",\"msg\":\"nsexec\"";
	char msg[256];

	CHECK(runc_log_last_error(log, strlen(log), msg, sizeof(msg)));
	CHECK_STREQ(msg, "container with given ID already exists");
	CHECK(!runc_log_last_error(log, 50, msg, sizeof(msg)));
	CHECK(!runc_log_last_error("", 0, msg, sizeof(msg)));
	/* Truncated to the buffer. */
	CHECK(runc_log_last_error(log, strlen(log), msg, 10));
	CHECK_STREQ(msg, "container");
}

TEST(stderr_message_logrus_or_last_line)
{
	const char *t1 =
		"time=\"2026-01-01T00:00:00Z\" level=warning msg=\"w\"\n"
		"time=\"2026-01-01T00:00:00Z\" level=error msg=\"exec failed: \\\"x\\\" not "
		"found\"\n"
		"exec failed: plain copy\n";
	const char *t2 = "something\n  last plain line  \n\n";
	const char *t3 = "time=\"t\" level=error msg=nospace\n";
	char msg[256];

	CHECK(runc_stderr_message(t1, strlen(t1), msg, sizeof(msg)));
	CHECK_STREQ(msg, "exec failed: \"x\" not found");
	CHECK(runc_stderr_message(t2, strlen(t2), msg, sizeof(msg)));
	CHECK_STREQ(msg, "last plain line");
	CHECK(runc_stderr_message(t3, strlen(t3), msg, sizeof(msg)));
	CHECK_STREQ(msg, "nospace");
	CHECK(!runc_stderr_message("\n \n", 3, msg, sizeof(msg)));
}

TEST(pid_file)
{
	char path[] = "/tmp/lcow-pid-XXXXXX";
	int fd = mkstemp(path);
	struct error e;
	pid_t pid;

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "4242", 4), 4);
	CHECK_OK(runc_read_pid_file(path, &pid, &e));
	CHECK_EQ(pid, 4242);
	CHECK_EQ(pwrite(fd, "x\n", 2, 0), 2);
	CHECK(runc_read_pid_file(path, &pid, &e) < 0);
	CHECK(strstr(e.msg, "bad content") != NULL);
	close(fd);
	unlink(path);
	CHECK(runc_read_pid_file(path, &pid, &e) < 0);
	CHECK_EQ(e.errnum, ENOENT);
}

/* ---- console socket -------------------------------------------------------------- */

static char tmp[64];

static void make_tmp(void)
{
	unit_tmpdir(tmp, sizeof(tmp), "runc");
}

/* A child connects to path and sends nfds copies of fd (nfds 0: just data). */
static pid_t send_fds(const char *path, int fd, int nfds)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		struct sockaddr_un sa = {.sun_family = AF_UNIX};
		int s = socket(AF_UNIX, SOCK_STREAM, 0), fds[4] = {fd, fd, fd, fd};
		union {
			char buf[CMSG_SPACE(sizeof(fds))];
			struct cmsghdr align;
		} ctl;
		char name[] = "/dev/pts/7";
		struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
		struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};

		strcpy(sa.sun_path, path);
		if (connect(s, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(1);
		if (nfds > 0) {
			struct cmsghdr *c;

			mh.msg_control = ctl.buf;
			mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
			memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
		}
		_exit(sendmsg(s, &mh, 0) < 0 ? 2 : 0);
	}
	return pid;
}

static int child_status(pid_t pid)
{
	int st;

	CHECK_EQ(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

TEST(console_socket_receives_exactly_one_fd)
{
	char sock[128];
	int p[2], l, master = -1;
	struct error e;
	char buf[8] = "";
	pid_t pid;

	make_tmp();
	CHECK_EQ(pipe(p), 0);
	snprintf(sock, sizeof(sock), "%s/master.sock", tmp);
	l = runc_console_listen(sock, &e);
	CHECK_OK(l);

	pid = send_fds(sock, p[1], 1);
	CHECK_OK(runc_console_recv(l, 5000, &master, &e));
	CHECK_EQ(child_status(pid), 0);
	CHECK(master >= 0);
	CHECK(fcntl(master, F_GETFD) & FD_CLOEXEC);
	/* The received fd is the pipe's write end. */
	CHECK_EQ(write(master, "pty", 3), 3);
	CHECK_EQ(read(p[0], buf, sizeof(buf)), 3);
	CHECK_STREQ(buf, "pty");
	close(master);

	pid = send_fds(sock, p[1], 2);
	CHECK(runc_console_recv(l, 5000, &master, &e) < 0);
	CHECK(strstr(e.msg, "exactly one fd") != NULL && strstr(e.msg, "got 2") != NULL);
	CHECK_EQ(master, -1);
	CHECK_EQ(child_status(pid), 0);

	pid = send_fds(sock, p[1], 0);
	CHECK(runc_console_recv(l, 5000, &master, &e) < 0);
	CHECK(strstr(e.msg, "got 0") != NULL);
	CHECK_EQ(child_status(pid), 0);

	/* Nobody connects. */
	CHECK(runc_console_recv(l, 50, &master, &e) < 0);
	CHECK_EQ(e.errnum, ETIMEDOUT);
	/* Only our own fds are left: the rejected ones were closed. */
	close(l);
	close(p[1]);
	CHECK_EQ(read(p[0], buf, sizeof(buf)), 0);
	close(p[0]);
}

/* ---- a fake runc ------------------------------------------------------------------ */

/* Records its argv, open fds, blocked signals, stdin and process.json in
 * FAKE_RUNC_DIR and behaves as <dir>/mode says. */
static const char fake_runc[] =
	"#!/usr/bin/python3\n"
	"import json, os, resource, socket, sys\n"
	"d = os.environ['FAKE_RUNC_DIR']\n"
	"mode = open(d + '/mode').read().strip()\n"
	"args = sys.argv[1:]\n"
	"def opt(name):\n"
	"    return args[args.index(name) + 1] if name in args else None\n"
	"open(d + '/argv', 'w').write('\\n'.join(args) + '\\n')\n"
	"open(d + '/fds', 'w').write(' '.join(os.listdir('/proc/self/fd')))\n"
	"open(d + '/nofile', 'w').write(str(resource.getrlimit(resource.RLIMIT_NOFILE)[0]))\n"
	"st = open('/proc/self/status').read()\n"
	"open(d + '/sigblk', 'w').write([l for l in st.splitlines() if "
	"l.startswith('SigBlk')][0])\n"
	"if opt('--process'):\n"
	"    open(d + '/process.json', 'w').write(open(opt('--process')).read())\n"
	"log = opt('--log')\n"
	"if log:\n"
	"    open(log, 'a').write('{\"level\":\"info\",\"msg\":\"fake\",\"time\":\"t\"}\\n')\n"
	"if mode == 'ok':\n"
	"    if opt('--pid-file'):\n"
	"        open(opt('--pid-file'), 'w').write('4242')\n"
	"    if opt('--console-socket'):\n"
	"        s = socket.socket(socket.AF_UNIX)\n"
	"        s.connect(opt('--console-socket'))\n"
	"        f = open(d + '/pty', 'w+')\n"
	"        socket.send_fds(s, [b'/dev/pts/9'], [f.fileno()])\n"
	"    sys.exit(0)\n"
	"if mode == 'exists':\n"
	"    open(log, 'a').write('{\"level\":\"error\",\"msg\":\"runc create failed: container "
	"with given ID already exists\",\"time\":\"t\"}\\n')\n"
	"    sys.exit(1)\n"
	"if mode == 'stderr':\n"
	"    sys.stderr.write('time=\"t\" level=error msg=\"container does not exist\"\\n')\n"
	"    sys.stderr.write('container does not exist\\n')\n"
	"    sys.exit(1)\n"
	"if mode == 'plain':\n"
	"    sys.stderr.write('boom\\n')\n"
	"    sys.exit(1)\n"
	"if mode == 'ps':\n"
	"    print('[12,34,56]')\n"
	"    sys.exit(0)\n"
	"if mode == 'ps-null':\n"
	"    print('null')\n"
	"    sys.exit(0)\n"
	"if mode == 'state':\n"
	"    print(json.dumps({'id': args[-1], 'pid': 77, 'status': 'running'}, indent=2))\n"
	"    sys.exit(0)\n"
	"if mode == 'stdin':\n"
	"    open(d + '/stdin', 'w').write(sys.stdin.read())\n"
	"    sys.exit(0)\n"
	"if mode == 'signal':\n"
	"    os.kill(os.getpid(), 9)\n"
	"sys.exit(3)\n";

static char runc_path[128], dir[128], bundle[128], rtmp[128];
static struct runc_config rc;

static void set_mode(const char *mode)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/mode", dir);
	f = fopen(p, "w");
	CHECK(f != NULL);
	fputs(mode, f);
	fclose(f);
}

static char *slurp(const char *name)
{
	static char buf[8192];
	char p[256];
	FILE *f;
	size_t n;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	f = fopen(p, "r");
	if (!f)
		unit_fail(__FILE__, __LINE__, "fake runc left no %s", name);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void setup_fake(void)
{
	FILE *f;

	if (access("/usr/bin/python3", X_OK) != 0)
		SKIP("the fake runc needs /usr/bin/python3");
	make_tmp();
	snprintf(runc_path, sizeof(runc_path), "%s/runc", tmp);
	snprintf(dir, sizeof(dir), "%s/rec", tmp);
	snprintf(bundle, sizeof(bundle), "%s/bundle", tmp);
	snprintf(rtmp, sizeof(rtmp), "%s/calls", tmp);
	CHECK_EQ(mkdir(dir, 0755), 0);
	CHECK_EQ(mkdir(bundle, 0755), 0);
	f = fopen(runc_path, "w");
	CHECK(f != NULL);
	fputs(fake_runc, f);
	fclose(f);
	CHECK_EQ(chmod(runc_path, 0755), 0);
	setenv("FAKE_RUNC_DIR", dir, 1);
	rc = (struct runc_config){.runc = runc_path, .tmp_dir = rtmp};
}

/* The per-call directories are gone once a call returns. */
static void expect_no_call_dirs(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "test -z \"$(ls -A '%s' 2>/dev/null)\"", rtmp);
	CHECK_EQ(system(cmd), 0);
}

TEST(create_runs_runc_with_clean_fds_and_signals)
{
	const int none[3] = {-1, -1, -1};
	struct runc_proc proc;
	struct error e;
	sigset_t block;
	char want[1024];
	int leak;

	setup_fake();
	set_mode("ok");
	/* A non-CLOEXEC fd, blocked signals and the gcs's raised open-file
	 * limit must not reach runc. */
	struct rlimit lim;
	CHECK_EQ(getrlimit(RLIMIT_NOFILE, &lim), 0);
	if (lim.rlim_max > 512) {
		lim.rlim_cur = 512;
		CHECK_EQ(setrlimit(RLIMIT_NOFILE, &lim), 0);
	}
	child_fd_limit_raise();
	leak = dup2(open("/dev/null", O_RDONLY), 200);
	CHECK_EQ(leak, 200);
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGUSR1);
	CHECK_EQ(sigprocmask(SIG_BLOCK, &block, NULL), 0);

	CHECK_OK(runc_create(&rc, "c1", bundle, none, false, &proc, &e));
	CHECK_EQ(proc.pid, 4242);
	CHECK_EQ(proc.pty_master, -1);
	snprintf(want, sizeof(want),
		 "--log\n%s/runc.log\n--log-format\njson\ncreate\n-b\n%s\n--no-pivot\n--pid-file\n",
		 bundle, bundle);
	if (strncmp(slurp("argv"), want, strlen(want)) != 0)
		unit_fail(__FILE__, __LINE__, "argv:\n%s", slurp("argv"));
	CHECK(strstr(slurp("argv"), "/pid\n--\nc1\n") != NULL);
	CHECK(strstr(slurp("argv"), "--console-socket") == NULL);
	CHECK(strstr(slurp("fds"), "200") == NULL);
	CHECK_STREQ(slurp("sigblk"), "SigBlk:\t0000000000000000");
	snprintf(want, sizeof(want), "%llu", (unsigned long long)lim.rlim_cur);
	CHECK_STREQ(slurp("nofile"), want);
	expect_no_call_dirs();
}

TEST(create_with_terminal_receives_pty)
{
	const int none[3] = {-1, -1, -1};
	struct runc_proc proc;
	struct error e;

	setup_fake();
	set_mode("ok");
	CHECK_OK(runc_create(&rc, "c1", bundle, none, true, &proc, &e));
	CHECK_EQ(proc.pid, 4242);
	CHECK(proc.pty_master >= 0);
	CHECK(strstr(slurp("argv"), "--console-socket\n") != NULL);
	/* The fd runc sent is the fake's file: write through it. */
	CHECK_EQ(write(proc.pty_master, "tty!", 4), 4);
	close(proc.pty_master);
	CHECK_STREQ(slurp("pty"), "tty!");
	expect_no_call_dirs();
}

TEST(create_error_from_new_log_entries_only)
{
	const int none[3] = {-1, -1, -1};
	struct runc_proc proc;
	struct error e;

	setup_fake();
	set_mode("exists");
	CHECK(runc_create(&rc, "c1", bundle, none, false, &proc, &e) < 0);
	CHECK_EQ(e.kind, ERR_EXISTS);
	CHECK_STREQ(e.msg, "runc create c1: runc create failed: container with given ID already "
			   "exists");
	CHECK_EQ(proc.pid, 0);
	/* The old error stays in the log but is not this call's error. */
	set_mode("plain");
	CHECK(runc_start(&rc, "c1", bundle, &e) < 0);
	CHECK_EQ(e.kind, ERR_FAIL);
	CHECK_STREQ(e.msg, "runc start c1: boom");
	expect_no_call_dirs();
}

TEST(stderr_error_exit_status_and_signal)
{
	struct error e;

	setup_fake();
	set_mode("stderr");
	CHECK(runc_kill(&rc, "gone", 15, false, &e) < 0);
	CHECK_EQ(e.kind, ERR_NO_CONTAINER);
	CHECK_STREQ(e.msg, "runc kill gone: container does not exist");
	CHECK_STREQ(slurp("argv"), "kill\n--\ngone\n15\n");
	CHECK(runc_delete(&rc, "gone", false, &e) < 0);
	CHECK_EQ(e.kind, ERR_NO_CONTAINER);
	set_mode("silent");
	CHECK(runc_delete(&rc, "c1", true, &e) < 0);
	CHECK_STREQ(e.msg, "runc delete c1: exit status 3");
	CHECK_STREQ(slurp("argv"), "delete\n--force\n--\nc1\n");
	set_mode("signal");
	CHECK(runc_kill(&rc, "c1", 9, true, &e) < 0);
	CHECK_STREQ(e.msg, "runc kill c1: killed by signal 9");
	CHECK_STREQ(slurp("argv"), "kill\n--all\n--\nc1\n9\n");
}

TEST(ps_state_update_parse_and_feed_runc)
{
	struct runc_state st;
	pid_t *pids;
	size_t n;
	struct error e;

	setup_fake();
	set_mode("ps");
	CHECK_OK(runc_ps(&rc, "c1", &pids, &n, &e));
	CHECK_EQ(n, 3);
	CHECK_EQ(pids[0], 12);
	CHECK_EQ(pids[2], 56);
	free(pids);
	set_mode("ps-null");
	CHECK_OK(runc_ps(&rc, "c1", &pids, &n, &e));
	CHECK_EQ(n, 0);
	free(pids);
	set_mode("state");
	CHECK_OK(runc_state(&rc, "c1", &st, &e));
	CHECK_STREQ(st.status, "running");
	CHECK_EQ(st.pid, 77);
	set_mode("stdin");
	CHECK_OK(runc_update(&rc, "c1", "{\"memory\":{\"limit\":536870912}}", &e));
	CHECK_STREQ(slurp("stdin"), "{\"memory\":{\"limit\":536870912}}");
	CHECK_STREQ(slurp("argv"), "update\n--resources\n-\n--\nc1\n");
}

TEST(exec_writes_process_json_privately)
{
	const int none[3] = {-1, -1, -1};
	struct json_object *proc = json_tokener_parse(
		"{\"args\":[\"id\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\","
		"\"hard\":18446744073709551615,\"soft\":1024}]}");
	struct runc_proc p;
	struct error e;

	setup_fake();
	set_mode("ok");
	CHECK_OK(runc_exec(&rc, "c1", bundle, proc, none, &p, &e));
	CHECK_EQ(p.pid, 4242);
	CHECK_STREQ(slurp("process.json"),
		    json_object_to_json_string_ext(proc, JSON_C_TO_STRING_PLAIN |
								 JSON_C_TO_STRING_NOSLASHESCAPE));
	CHECK(strstr(slurp("process.json"), "18446744073709551615") != NULL);
	CHECK(strstr(slurp("argv"), "exec\n-d\n--process\n") != NULL);
	expect_no_call_dirs();
	json_object_put(proc);

	/* process.terminal alone decides on the console socket. */
	proc = json_tokener_parse("{\"terminal\":true,\"args\":[\"sh\"]}");
	CHECK_OK(runc_exec(&rc, "c1", bundle, proc, NULL, &p, &e));
	CHECK(p.pty_master >= 0);
	CHECK(strstr(slurp("argv"), "--console-socket\n") != NULL);
	close(p.pty_master);
	expect_no_call_dirs();
	json_object_put(proc);
}

/* Hooks as the GCS's reaper provides them. */
static int begins, ends, waits;

static void hook_begin(void *ctx)
{
	CHECK(ctx == &begins);
	begins++;
}

static void hook_end(void *ctx, pid_t pid)
{
	CHECK(pid > 0);
	ends++;
}

static int hook_wait(pid_t pid, int *status, void *ctx)
{
	waits++;
	return waitpid(pid, status, 0) == pid ? 0 : -errno;
}

TEST(reaper_hooks_wrap_every_runc)
{
	struct error e;

	setup_fake();
	rc.child_begin = hook_begin;
	rc.child_end = hook_end;
	rc.wait_child = hook_wait;
	rc.wait_ctx = &begins;
	set_mode("ok");
	CHECK_OK(runc_start(&rc, "c1", bundle, &e));
	CHECK_OK(runc_kill(&rc, "c1", 9, false, &e));
	CHECK_EQ(begins, 2);
	CHECK_EQ(ends, 2);
	CHECK_EQ(waits, 2);
}

/* runc_thread_ns(): this thread's time in runc grows by each call's wall
 * time, never by more than the time around the call. */
TEST(runc_time_is_counted_per_thread)
{
	struct timespec a, b;
	uint64_t before, spent, around;
	struct error e;

	setup_fake();
	set_mode("ok");
	before = runc_thread_ns();
	clock_gettime(CLOCK_MONOTONIC, &a);
	CHECK_OK(runc_start(&rc, "c1", bundle, &e));
	clock_gettime(CLOCK_MONOTONIC, &b);
	spent = runc_thread_ns() - before;
	around = (uint64_t)(b.tv_sec - a.tv_sec) * 1000000000u + (uint64_t)b.tv_nsec -
		 (uint64_t)a.tv_nsec;
	CHECK(spent > 0);
	CHECK(spent <= around);
}

TEST(missing_runc_binary)
{
	struct runc_config bad = {.runc = "/nonexistent/runc"};
	struct error e;
	char path[PATH_MAX];

	make_tmp();
	bad.tmp_dir = tmp;
	CHECK(runc_start(&bad, "c1", tmp, &e) < 0);
	CHECK_EQ(e.errnum, ENOENT);
	CHECK(strstr(e.msg, "exec /nonexistent/runc") != NULL);
	if (runc_find(path, sizeof(path), &e) == 0)
		CHECK(access(path, X_OK) == 0 && strstr(path, "/runc") != NULL);
}
