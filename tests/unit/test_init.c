/* Unit tests of init/: the option grammar shared by /init and vsockexec,
 * hcsshim's argument contract, the kernel command line lookup, the
 * /proc/cgroups parser, the boot-table runner, the child environment and
 * the reaper. What needs PID 1 is in tests/integration/test_init.py. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "../../init/boot.h"
#include "../../init/cgroups.h"
#include "../../init/child.h"
#include "../../init/cmdline.h"
#include "../../init/klog.h"
#include "../../init/opt.h"
#include "../../init/options.h"
#include "../../init/vsockexec_options.h"

#define ARGC(a) ((int)(sizeof(a) / sizeof((a)[0])) - 1)

/* Messages of the code under test go to stderr only, not to the build
 * machine's kernel log. */
__attribute__((constructor)) static void quiet_kmsg(void)
{
	klog_set_kmsg(0);
}

TEST(opt_clusters_attached_and_separate_arguments)
{
	char *argv[] = {"init", "-wd", "sh", "-e1", "-e", "2", "cmd", "-w", NULL};
	struct init_opt it;

	init_opt_start(&it, ARGC(argv), argv, "d:e:w");
	CHECK_EQ(init_opt_next(&it), 'w');
	CHECK_EQ(init_opt_next(&it), 'd');
	CHECK_STREQ(it.arg, "sh");
	CHECK_EQ(init_opt_next(&it), 'e');
	CHECK_STREQ(it.arg, "1");
	CHECK_EQ(init_opt_next(&it), 'e');
	CHECK_STREQ(it.arg, "2");
	/* The first operand ends the options: "-w" after it is the child's. */
	CHECK_EQ(init_opt_next(&it), -1);
	CHECK_EQ(it.ind, 6);
}

TEST(opt_double_dash_dash_alone_and_errors)
{
	char *a1[] = {"x", "-w", "--", "-e", NULL};
	char *a2[] = {"x", "-", NULL};
	char *a3[] = {"x", "-q", NULL};
	char *a4[] = {"x", "-w", "-e", NULL};
	struct init_opt it;

	init_opt_start(&it, ARGC(a1), a1, "e:w");
	CHECK_EQ(init_opt_next(&it), 'w');
	CHECK_EQ(init_opt_next(&it), -1);
	CHECK_EQ(it.ind, 3);
	init_opt_start(&it, ARGC(a2), a2, "e:w");
	CHECK_EQ(init_opt_next(&it), -1);
	CHECK_EQ(it.ind, 1);
	init_opt_start(&it, ARGC(a3), a3, "e:w");
	CHECK_EQ(init_opt_next(&it), '?');
	CHECK_EQ(it.bad, 'q');
	init_opt_start(&it, ARGC(a4), a4, "e:w");
	CHECK_EQ(init_opt_next(&it), 'w');
	CHECK_EQ(init_opt_next(&it), ':');
	CHECK_EQ(it.bad, 'e');
	CHECK_EQ(init_opt_next(&it), -1);
}

TEST(parse_port_bounds)
{
	uint32_t p = 0;

	CHECK_OK(init_parse_port("1", &p));
	CHECK_EQ(p, 1);
	CHECK_OK(init_parse_port("109", &p));
	CHECK_EQ(p, 109);
	CHECK_OK(init_parse_port("4294967294", &p));
	CHECK_EQ(p, 4294967294u);
	CHECK_EQ(init_parse_port("4294967295", &p), -ERANGE);
	CHECK_EQ(init_parse_port("99999999999999999999999", &p), -ERANGE);
	CHECK_EQ(init_parse_port("0", &p), -ERANGE);
	CHECK_EQ(init_parse_port("", &p), -EINVAL);
	CHECK_EQ(init_parse_port("-1", &p), -EINVAL);
	CHECK_EQ(init_parse_port("+1", &p), -EINVAL);
	CHECK_EQ(init_parse_port(" 1", &p), -EINVAL);
	CHECK_EQ(init_parse_port("1x", &p), -EINVAL);
	CHECK_EQ(init_parse_port("0x10", &p), -EINVAL);
}

TEST(init_options_lcow_v1_default_without_arguments)
{
	char *argv[] = {"/init", NULL};
	struct init_options o;
	char err[128];

	CHECK_OK(init_options_parse(1, argv, &o, err, sizeof(err)));
	CHECK_STREQ(o.child_argv[0], "/bin/gcs");
	CHECK_STREQ(o.child_argv[1], "-loglevel");
	CHECK_STREQ(o.child_argv[2], "debug");
	CHECK_STREQ(o.child_argv[3], "-logfile=/run/gcs/gcs.log");
	CHECK(o.child_argv[4] == NULL);
	CHECK_STREQ(o.debug_shell, "/bin/sh");
	CHECK_EQ(o.entropy_port, 0);
	CHECK(!o.overlays);
}

TEST(init_options_hcsshim_command_line)
{
	char *argv[] = {"/init",    "-e",  "1",		  "-w",	  "/bin/vsockexec", "-e",    "109",
			"/bin/gcs", "-v4", "-log-format", "json", "-loglevel",	    "debug", NULL};
	struct init_options o;
	char err[128];

	CHECK_OK(init_options_parse(ARGC(argv), argv, &o, err, sizeof(err)));
	CHECK_EQ(o.entropy_port, 1);
	CHECK(o.overlays);
	CHECK(o.debug_shell == NULL);
	/* Untouched from the first non-option on, its own options included. */
	CHECK(o.child_argv == argv + 4);
	CHECK_STREQ(o.child_argv[1], "-e");
	CHECK_STREQ(o.child_argv[8], "debug");
}

TEST(init_options_console_form_and_debug_shell)
{
	char *console[] = {"/init", "-e", "1", "sh", "-c", "/bin/gcs -v4 & exec sh", NULL};
	char *debug[] = {"/init", "-d", "/bin/sh", "/bin/gcs", NULL};
	char *shell_only[] = {"/init", "-d", "/bin/sh", NULL};
	struct init_options o;
	char err[128];

	CHECK_OK(init_options_parse(ARGC(console), console, &o, err, sizeof(err)));
	CHECK_STREQ(o.child_argv[0], "sh");
	CHECK_STREQ(o.child_argv[2], "/bin/gcs -v4 & exec sh");
	CHECK_OK(init_options_parse(ARGC(debug), debug, &o, err, sizeof(err)));
	CHECK_STREQ(o.debug_shell, "/bin/sh");
	CHECK_STREQ(o.child_argv[0], "/bin/gcs");
	CHECK_OK(init_options_parse(ARGC(shell_only), shell_only, &o, err, sizeof(err)));
	CHECK(o.child_argv == NULL);
	CHECK_STREQ(o.debug_shell, "/bin/sh");
}

static void check_init_rejects(char **argv, int argc, const char *why)
{
	struct init_options o;
	char err[128] = "";

	CHECK_EQ(init_options_parse(argc, argv, &o, err, sizeof(err)), -EINVAL);
	if (!strstr(err, why))
		unit_fail(__FILE__, __LINE__, "message '%s' lacks '%s'", err, why);
}

TEST(init_options_bad_input)
{
	char *zero[] = {"/init", "-e", "0", "/bin/gcs", NULL};
	char *word[] = {"/init", "-e", "one", "/bin/gcs", NULL};
	char *missing[] = {"/init", "-e", NULL};
	char *unknown[] = {"/init", "-x", "/bin/gcs", NULL};
	char *nocmd[] = {"/init", "-w", NULL};
	char *empty_shell[] = {"/init", "-d", "", "/bin/gcs", NULL};

	check_init_rejects(zero, ARGC(zero), "invalid entropy port '0'");
	check_init_rejects(word, ARGC(word), "invalid entropy port 'one'");
	check_init_rejects(missing, ARGC(missing), "-e needs an argument");
	check_init_rejects(unknown, ARGC(unknown), "unknown option -x");
	check_init_rejects(nocmd, ARGC(nocmd), "no child command");
	check_init_rejects(empty_shell, ARGC(empty_shell), "-d needs a shell");
}

TEST(cmdline_finds_whole_parameters_before_double_dash)
{
	const char *p = "hcsshim.cgroup=v1";

	CHECK(init_cmdline_has("initrd=/initrd.img hcsshim.cgroup=v1 panic=-1 -- -e 1", p));
	CHECK(init_cmdline_has("hcsshim.cgroup=v1", p));
	CHECK(init_cmdline_has("quiet\thcsshim.cgroup=v1\n", p));
	CHECK(init_cmdline_has("hcsshim.cgroup=\"v1\"", p));
	CHECK(!init_cmdline_has("hcsshim.cgroup=v1x quiet", p));
	CHECK(!init_cmdline_has("xhcsshim.cgroup=v1", p));
	CHECK(!init_cmdline_has("hcsshim.cgroup=v2", p));
	CHECK(!init_cmdline_has("", p));
	/* After "--" it is init's argv, not a kernel parameter. */
	CHECK(!init_cmdline_has("quiet -- sh -c hcsshim.cgroup=v1", p));
	/* Inside quotes, white space does not split parameters. */
	CHECK(!init_cmdline_has("dm-mod.create=\"a hcsshim.cgroup=v1\"", p));
	CHECK(init_cmdline_has("--x hcsshim.cgroup=v1", p));
}

TEST(cmdline_read_honours_the_test_override)
{
	char path[] = "/tmp/lcow-cmdline-XXXXXX", buf[8];
	int fd = mkstemp(path);

	CHECK(fd >= 0);
	CHECK_EQ(write(fd, "a hcsshim.cgroup=v1\n", 20), 20);
	close(fd);
	setenv(INIT_CMDLINE_ENV, path, 1);
	CHECK_OK(init_cmdline_read(buf, sizeof(buf)));
	CHECK_STREQ(buf, "a hcssh"); /* truncated to fit, terminated */
	unlink(path);
	CHECK_EQ(init_cmdline_read(buf, sizeof(buf)), -ENOENT);
}

TEST(cgroups_parse_keeps_enabled_controllers)
{
	char text[] = "#subsys_name\thierarchy\tnum_cgroups\tenabled\n"
		      "cpuset\t3\t1\t1\n"
		      "cpu\t1\t1\t1\n"
		      "net_cls\t0\t1\t0\n"
		      "memory\t4\t19\t1\n"
		      "\n"
		      "pids\t8\t1\t1\n";
	const char *names[8];

	CHECK_EQ(init_cgroups_parse_v1(text, names, 8), 4);
	CHECK_STREQ(names[0], "cpuset");
	CHECK_STREQ(names[1], "cpu");
	CHECK_STREQ(names[2], "memory");
	CHECK_STREQ(names[3], "pids");
}

TEST(cgroups_parse_rejects_malformed_and_overflow)
{
	char short_line[] = "cpu\t1\t1\n";
	char junk[] = "cpu\t1\tx\t1\n";
	char trailing[] = "cpu\t1\t1\t1\tz\n";
	char no_fields[] = "cpu\n";
	char long_name[] =
		"a_controller_name_that_is_far_too_long_for_a_cgroup_path_component_x 1 1 1\n";
	char many[] = "a 1 1 1\nb 1 1 1\nc 1 1 1\n";
	const char *names[2];

	CHECK_EQ(init_cgroups_parse_v1(short_line, names, 2), -EINVAL);
	CHECK_EQ(init_cgroups_parse_v1(junk, names, 2), -EINVAL);
	CHECK_EQ(init_cgroups_parse_v1(trailing, names, 2), -EINVAL);
	CHECK_EQ(init_cgroups_parse_v1(no_fields, names, 2), -EINVAL);
	CHECK_EQ(init_cgroups_parse_v1(long_name, names, 2), -EINVAL);
	CHECK_EQ(init_cgroups_parse_v1(many, names, 2), -ENOSPC);
}

static int step_calls;

/* Atomic: the background tests count from threads too. */
static int step_ok(const struct init_options *o)
{
	(void)o;
	__atomic_add_fetch(&step_calls, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int step_fails(const struct init_options *o)
{
	(void)o;
	__atomic_add_fetch(&step_calls, 1, __ATOMIC_SEQ_CST);
	return -EIO;
}

TEST(boot_runs_ops_in_order_with_conditions)
{
	char dir[] = "/tmp/lcow-boot-XXXXXX", path[64], link[64], target[64];
	struct init_options plain = {0}, overlay = {.overlays = true};
	struct stat st;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof(path), "%s/d", dir);
	snprintf(link, sizeof(link), "%s/l", dir);
	{
		const struct boot_op ops[] = {
			BOOT_MKDIR_OP(path, 0700, 0),
			BOOT_MKDIR_OP(path, 0700, 0), /* exists: fine */
			BOOT_SYMLINK_OP("/proc/self/fd", link),
			BOOT_SYMLINK_OP("/proc/self/fd", link), /* exists: fine */
			BOOT_STEP_OP(step_ok, BOOT_IF_OVERLAY),
			BOOT_STEP_OP(step_ok, BOOT_IF_ENTROPY),
			BOOT_STEP_OP(step_fails, BOOT_NONFATAL),
			BOOT_STEP_OP(step_ok, 0),
		};

		step_calls = 0;
		CHECK_OK(init_boot_run(ops, ARRAY_SIZE(ops), &plain));
		CHECK_EQ(step_calls, 2); /* the failing one and the last one */
		CHECK(stat(path, &st) == 0 && S_ISDIR(st.st_mode));
		CHECK_EQ(readlink(link, target, sizeof(target)), 13);
		step_calls = 0;
		CHECK_OK(init_boot_run(ops, ARRAY_SIZE(ops), &overlay));
		CHECK_EQ(step_calls, 3);
	}
	unlink(link);
	rmdir(path);
	rmdir(dir);
}

TEST(boot_stops_at_the_first_fatal_failure)
{
	const struct boot_op ops[] = {
		BOOT_STEP_OP(step_ok, 0),
		BOOT_MKDIR_OP("/nonexistent-lcow/a/b", 0755, 0),
		BOOT_STEP_OP(step_ok, 0),
	};
	const struct boot_op fail[] = {
		BOOT_STEP_OP(step_fails, 0),
		BOOT_STEP_OP(step_ok, 0),
	};
	struct init_options o = {0};

	step_calls = 0;
	CHECK_EQ(init_boot_run(ops, ARRAY_SIZE(ops), &o), -ENOENT);
	CHECK_EQ(step_calls, 1);
	step_calls = 0;
	CHECK_EQ(init_boot_run(fail, ARRAY_SIZE(fail), &o), -EIO);
	CHECK_EQ(step_calls, 1);
}

static int init_step_named(const struct init_options *o)
{
	(void)o;
	return 0;
}

TEST(boot_times_name_each_step_that_ran_after_the_mounts)
{
	const struct boot_op ops[] = {
		BOOT_STEP_OP(step_ok, 0),
		BOOT_MKDIR_OP("/", 0755, 0),		/* exists: fine */
		BOOT_STEP_OP(step_ok, BOOT_IF_ENTROPY), /* does not apply */
		BOOT_STEP_OP(init_step_named, 0),
	};
	struct init_options o = {0};
	char buf[128], small[12];
	unsigned long long a, b, c;
	int end = 0;

	CHECK_OK(init_boot_run(ops, ARRAY_SIZE(ops), &o));
	CHECK(init_boot_times(buf, sizeof(buf)) == strlen(buf));
	/* The mounts first; "init_" dropped; the step that did not apply
	 * absent. */
	CHECK_EQ(sscanf(buf, "mounts=%llu,step_ok=%llu,step_named=%llu%n", &a, &b, &c, &end), 3);
	CHECK_EQ((size_t)end, strlen(buf));
	/* Cut to the buffer, still a string. */
	CHECK_EQ(init_boot_times(small, sizeof(small)), sizeof(small) - 1);
	CHECK_EQ(strncmp(small, "mounts=", 7), 0);
	/* A new run starts afresh. */
	CHECK_OK(init_boot_run(ops, 1, &o));
	init_boot_times(buf, sizeof(buf));
	CHECK_EQ(sscanf(buf, "mounts=0,step_ok=%llu%n", &b, &end), 1);
	CHECK_EQ((size_t)end, strlen(buf));
}

/* The background tests hand a byte from a later step to a background one:
 * the background step can only finish if it runs alongside. */
static int handoff[2] = {-1, -1};
static int background_done;

static int step_waits_for_the_handoff(const struct init_options *o)
{
	struct pollfd p = {.fd = handoff[0], .events = POLLIN};
	char c;

	(void)o;
	if (poll(&p, 1, 5000) != 1 || read(handoff[0], &c, 1) != 1)
		return -ETIMEDOUT;
	__atomic_store_n(&background_done, 1, __ATOMIC_SEQ_CST);
	return 0;
}

static int step_hands_off(const struct init_options *o)
{
	(void)o;
	return write(handoff[1], "x", 1) == 1 ? 0 : -errno;
}

static int step_sees_the_background_done(const struct init_options *o)
{
	(void)o;
	return __atomic_load_n(&background_done, __ATOMIC_SEQ_CST) ? 0 : -ESRCH;
}

static int step_sleeps_then_fails(const struct init_options *o)
{
	(void)o;
	usleep(20 * 1000);
	__atomic_store_n(&background_done, 1, __ATOMIC_SEQ_CST);
	return -EIO;
}

TEST(boot_background_steps_run_alongside_until_the_join)
{
	const struct boot_op ops[] = {
		BOOT_STEP_OP(step_waits_for_the_handoff, BOOT_BACKGROUND),
		BOOT_STEP_OP(step_hands_off, 0),
		BOOT_JOIN_OP("x"),
		BOOT_STEP_OP(step_sees_the_background_done, 0),
	};
	struct init_options o = {0};
	char buf[160];
	unsigned long long a, b, c, d, e;
	int end = 0;

	CHECK_OK(pipe(handoff));
	background_done = 0;
	CHECK_OK(init_boot_run(ops, ARRAY_SIZE(ops), &o));
	/* Times in the table's order; the background step marked "+". */
	init_boot_times(buf, sizeof(buf));
	CHECK_EQ(sscanf(buf,
			"mounts=%llu,+step_waits_for_the_handoff=%llu,step_hands_off=%llu,"
			"join_x=%llu,step_sees_the_background_done=%llu%n",
			&a, &b, &c, &d, &e, &end),
		 5);
	CHECK_EQ((size_t)end, strlen(buf));
	close(handoff[0]);
	close(handoff[1]);
}

TEST(boot_background_failures_count_at_the_join)
{
	const struct boot_op nonfatal[] = {
		BOOT_STEP_OP(step_fails, BOOT_BACKGROUND | BOOT_NONFATAL),
		BOOT_JOIN_OP("x"),
		BOOT_STEP_OP(step_ok, 0),
	};
	const struct boot_op fatal[] = {
		BOOT_STEP_OP(step_fails, BOOT_BACKGROUND),
		/* runs alongside */
		BOOT_STEP_OP(step_ok, 0),
		BOOT_JOIN_OP("x"),
		/* does not run after the failure */
		BOOT_STEP_OP(step_ok, 0),
	};
	const struct boot_op no_join[] = {
		BOOT_STEP_OP(step_fails, BOOT_BACKGROUND),
		BOOT_STEP_OP(step_ok, 0),
	};
	struct init_options o = {0};

	step_calls = 0;
	CHECK_OK(init_boot_run(nonfatal, ARRAY_SIZE(nonfatal), &o));
	CHECK_EQ(step_calls, 2);
	step_calls = 0;
	CHECK_EQ(init_boot_run(fatal, ARRAY_SIZE(fatal), &o), -EIO);
	CHECK_EQ(step_calls, 2);
	/* A table without a join is joined at its end. */
	CHECK_EQ(init_boot_run(no_join, ARRAY_SIZE(no_join), &o), -EIO);
}

TEST(boot_fatal_failure_waits_for_the_background_and_wins)
{
	const struct boot_op ops[] = {
		BOOT_STEP_OP(step_sleeps_then_fails, BOOT_BACKGROUND),
		BOOT_MKDIR_OP("/nonexistent-lcow/a/b", 0755, 0),
		BOOT_JOIN_OP("x"),
	};
	struct init_options o = {0};

	background_done = 0;
	/* The foreground's failure is the one reported; the background step
	 * has finished when the call returns. */
	CHECK_EQ(init_boot_run(ops, ARRAY_SIZE(ops), &o), -ENOENT);
	CHECK_EQ(__atomic_load_n(&background_done, __ATOMIC_SEQ_CST), 1);
}

TEST(klog_records_are_single_lines)
{
	char buf[24];

	klog_set_ident("init");
	CHECK_EQ(klog_format(buf, sizeof(buf), KLOG_INFO, "hello"), 15);
	CHECK_STREQ(buf, "<6>init: hello\n");
	CHECK_EQ(klog_format(buf, sizeof(buf), KLOG_ERR, "a message that is too long"), 23);
	CHECK_STREQ(buf, "<3>init: a message tha\n");
}

TEST(child_env_is_path_plus_only_the_transport_variables)
{
	char *envp[4];

	clearenv();
	setenv("HOME", "/", 1);
	setenv("TERM", "linux", 1);
	init_child_env(envp, 4);
	CHECK_STREQ(envp[0], "PATH=/sbin:/usr/sbin:/bin:/usr/bin");
	CHECK(envp[1] == NULL);
	setenv("LCOW_FORBID_VSOCK", "1", 1);
	setenv("LCOW_TRANSPORT", "unix:/x", 1);
	init_child_env(envp, 4);
	CHECK_STREQ(envp[1], "LCOW_TRANSPORT=unix:/x");
	CHECK_STREQ(envp[2], "LCOW_FORBID_VSOCK=1");
	CHECK(envp[3] == NULL);
}

/* Field n (1-based) of /proc/<pid>/stat, after the command name. */
static long stat_field(pid_t pid, int n)
{
	char path[64], buf[512], *p;
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	f = fopen(path, "r");
	if (!f || !fgets(buf, sizeof(buf), f))
		unit_fail(__FILE__, __LINE__, "read %s", path);
	fclose(f);
	p = strrchr(buf, ')') + 2;
	for (int i = 3; i < n; i++)
		p = strchr(p, ' ') + 1;
	sscanf(p, "%ld", &v);
	return v;
}

TEST(launch_gives_a_session_unblocked_signals_and_path_search)
{
	char *argv[] = {"sleep", "5", NULL};
	char *envp[] = {INIT_CHILD_PATH, NULL};
	struct timespec ts = {0, 100 * 1000 * 1000};
	sigset_t all;
	char path[64], line[128];
	int status;
	pid_t pid;
	FILE *f;

	/* Our own PATH cannot find sleep: only the child's can. */
	setenv("PATH", "/nonexistent", 1);
	sigfillset(&all);
	sigprocmask(SIG_BLOCK, &all, NULL);
	pid = init_launch(argv, envp);
	CHECK(pid > 0);
	nanosleep(&ts, NULL);
	CHECK_EQ(stat_field(pid, 5), pid); /* process group */
	CHECK_EQ(stat_field(pid, 6), pid); /* session */
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	CHECK(f != NULL);
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "SigBlk:", 7) == 0)
			CHECK_STREQ(line + 7 + strspn(line + 7, " \t"), "0000000000000000\n");
	fclose(f);
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	CHECK(readlink(path, line, sizeof(line)) > 0);
	kill(pid, SIGKILL);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK_EQ(init_exit_code(status), 128 + SIGKILL);
}

TEST(launch_reports_exec_failure_as_127)
{
	char *argv[] = {"lcow-no-such-program", NULL};
	char *envp[] = {INIT_CHILD_PATH, NULL};
	int status;
	pid_t pid = init_launch(argv, envp);

	CHECK(pid > 0);
	CHECK_EQ(waitpid(pid, &status, 0), pid);
	CHECK_EQ(init_exit_code(status), 127);
}

static pid_t fork_exit_after(int ms, int code)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};

		nanosleep(&ts, NULL);
		_exit(code);
	}
	return pid;
}

TEST(reap_until_reaps_orphans_and_returns_the_primary_status)
{
	pid_t mid, other, primary;
	int status;

	/* Stand in for PID 1: orphans of our descendants come to us. */
	CHECK_EQ(prctl(PR_SET_CHILD_SUBREAPER, 1), 0);
	mid = fork();
	if (mid == 0) {
		fork_exit_after(50, 0); /* the orphan */
		_exit(0);
	}
	other = fork_exit_after(10, 4);
	primary = fork_exit_after(300, 5);
	CHECK(mid > 0 && other > 0 && primary > 0);
	status = init_reap_until(primary, other);
	CHECK(WIFEXITED(status));
	CHECK_EQ(WEXITSTATUS(status), 5);
	/* Everything else, the orphan included, is already reaped. */
	CHECK_EQ(waitpid(-1, &status, WNOHANG), -1);
	CHECK_EQ(errno, ECHILD);
	CHECK_EQ(init_reap_until(primary, 0), -1);
}

TEST(vsockexec_options_hcsshim_forms)
{
	char *plain[] = {"vsockexec", "-e", "109", "/bin/gcs", "-v4", NULL};
	char *relay[] = {"vsockexec", "-r", "-o", "5", "-e", "109", "--", "-prog", NULL};
	char *all[] = {"vsockexec", "-i", "7", "-o", "8", "-e", "8", "prog", NULL};
	struct vx_options o;
	char err[128];

	CHECK_OK(vx_options_parse(ARGC(plain), plain, &o, err, sizeof(err)));
	CHECK_EQ(o.port[0], 0);
	CHECK_EQ(o.port[1], 0);
	CHECK_EQ(o.port[2], 109);
	CHECK(!o.relay);
	CHECK_STREQ(o.argv[0], "/bin/gcs");
	CHECK_STREQ(o.argv[1], "-v4");
	CHECK_OK(vx_options_parse(ARGC(relay), relay, &o, err, sizeof(err)));
	CHECK(o.relay);
	CHECK_EQ(vx_relay_port(&o), 109); /* -e wins over -o */
	CHECK_STREQ(o.argv[0], "-prog");
	CHECK_OK(vx_options_parse(ARGC(all), all, &o, err, sizeof(err)));
	CHECK_EQ(o.port[0], 7);
	CHECK_EQ(o.port[1], 8);
	CHECK_EQ(o.port[2], 8);
	CHECK_EQ(vx_relay_port(&o), 8);
}

static void check_vx_rejects(char **argv, int argc, const char *why)
{
	struct vx_options o;
	char err[128] = "";

	CHECK_EQ(vx_options_parse(argc, argv, &o, err, sizeof(err)), -EINVAL);
	if (!strstr(err, why))
		unit_fail(__FILE__, __LINE__, "message '%s' lacks '%s'", err, why);
}

TEST(vsockexec_options_bad_input)
{
	char *noprog[] = {"vsockexec", "-e", "109", NULL};
	char *noport[] = {"vsockexec", "-o", NULL};
	char *badport[] = {"vsockexec", "-e", "log", "prog", NULL};
	char *zero[] = {"vsockexec", "-i", "0", "prog", NULL};
	char *unknown[] = {"vsockexec", "-t", "prog", NULL};
	char *relay_nothing[] = {"vsockexec", "-r", "-i", "3", "prog", NULL};

	check_vx_rejects(noprog, ARGC(noprog), "missing program");
	check_vx_rejects(noport, ARGC(noport), "-o needs a port");
	check_vx_rejects(badport, ARGC(badport), "invalid port for -e: 'log'");
	check_vx_rejects(zero, ARGC(zero), "invalid port for -i: '0'");
	check_vx_rejects(unknown, ARGC(unknown), "unknown option -t");
	check_vx_rejects(relay_nothing, ARGC(relay_nothing), "-r needs -o or -e");
}
