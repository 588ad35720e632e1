/* Starting UVM processes: PATH lookup, fork/exec with a clean state (signals,
 * session, fds, environment, cwd), errors before exec, pty pairs, exit
 * codes, and the command taken from ProcessParameters. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#include "core/arena.h"
#include "bridge/codec.h"
#include "core/child_exec.h"
#include "process/process.h"
#include "process/exec.h"
#include "process/holders.h"
#include "transport.h"

#define BUSYBOX "/bin/busybox"

static void need_busybox(void)
{
	if (access(BUSYBOX, X_OK) != 0)
		SKIP("needs " BUSYBOX);
}

/* Runs argv with stdout captured; returns the wait status. */
static int run_capture(const struct process_spawn *base, char *out, size_t size)
{
	struct process_spawn s = *base;
	struct error err;
	size_t got = 0;
	int p[2], status;
	pid_t pid;

	CHECK_OK(pipe2(p, O_CLOEXEC));
	s.stdio[1] = p[1];
	if (process_spawn(NULL, &s, &pid, &err) < 0)
		unit_fail(__FILE__, __LINE__, "spawn %s: %s", s.path, err.msg);
	close(p[1]);
	for (;;) {
		ssize_t n = read(p[0], out + got, size - 1 - got);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	out[got] = 0;
	close(p[0]);
	CHECK(waitpid(pid, &status, 0) == pid);
	return status;
}

static struct process_spawn spawn_of(char *const *argv, char *const *envp)
{
	return (struct process_spawn){
		.path = argv[0], .argv = argv, .envp = envp, .stdio = {-1, -1, -1}, .ctty = -1};
}

/* No zombie and no unreaped child may be left by a failed spawn. */
static void check_no_children(void)
{
	CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD);
}

/* ---- PATH lookup ------------------------------------------------------------ */

TEST(bare_name_is_found_on_path)
{
	char out[256];
	struct error err;

	need_busybox();
	CHECK_OK(process_find_executable("busybox", "/nonexistent:/bin", out, sizeof(out), &err));
	CHECK_STREQ(out, "/bin/busybox");
}

TEST(default_path_when_none)
{
	char out[256];
	struct error err;

	CHECK_OK(process_find_executable("sh", NULL, out, sizeof(out), &err));
	CHECK(out[0] == '/');
	CHECK(strstr(out, "/sh") != NULL);
}

TEST(names_with_a_slash_are_taken_as_they_are)
{
	char out[256];
	struct error err;

	CHECK_OK(process_find_executable("./not-checked", "/bin", out, sizeof(out), &err));
	CHECK_STREQ(out, "./not-checked");
}

TEST(missing_program_is_a_clear_error)
{
	char out[256];
	struct error err;

	CHECK_EQ(process_find_executable("no-such-program-x", "/bin:/usr/bin", out, sizeof(out),
					 &err),
		 -ENOENT);
	CHECK(strstr(err.msg, "executable file not found in $PATH") != NULL);
	CHECK(strstr(err.msg, "no-such-program-x") != NULL);
}

TEST(relative_and_empty_path_entries_are_skipped)
{
	char out[256];
	struct error err;

	/* "bin" relative to / would find /bin/sh if it were honoured. */
	CHECK_OK(chdir("/"));
	CHECK(process_find_executable("sh", "bin::.", out, sizeof(out), &err) < 0);
}

TEST(directories_and_non_executables_are_skipped)
{
	char dir[] = "/tmp/lcow-path-XXXXXX", file[64], sub[64], out[256];
	struct error err;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/prog", dir);
	snprintf(sub, sizeof(sub), "%s/dirprog", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644);
	CHECK(fd >= 0);
	close(fd);
	CHECK_OK(mkdir(sub, 0755));
	CHECK(process_find_executable("prog", dir, out, sizeof(out), &err) < 0);
	CHECK(process_find_executable("dirprog", dir, out, sizeof(out), &err) < 0);
	CHECK_OK(chmod(file, 0755));
	CHECK_OK(process_find_executable("prog", dir, out, sizeof(out), &err));
	CHECK_STREQ(out, file);
	unlink(file);
	rmdir(sub);
	rmdir(dir);
}

/* ---- spawning ------------------------------------------------------------------ */

TEST(environment_is_exactly_the_given_one)
{
	char *argv[] = {BUSYBOX, "env", NULL};
	char *envp[] = {"A=1", "B=two words", NULL};
	struct process_spawn s = spawn_of(argv, envp);
	char out[256];

	need_busybox();
	setenv("LEAK_CHECK", "1", 1);
	CHECK_EQ(run_capture(&s, out, sizeof(out)), 0);
	CHECK_STREQ(out, "A=1\nB=two words\n");
}

TEST(working_directory_is_applied)
{
	char *argv[] = {BUSYBOX, "pwd", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	char out[256];

	need_busybox();
	s.cwd = "/proc/self";
	CHECK_EQ(run_capture(&s, out, sizeof(out)), 0);
	CHECK(strncmp(out, "/proc/", 6) == 0);
	s.cwd = "/tmp";
	CHECK_EQ(run_capture(&s, out, sizeof(out)), 0);
	CHECK_STREQ(out, "/tmp\n");
}

static unsigned long long status_mask(const char *text, const char *key)
{
	const char *p = strstr(text, key);

	CHECK(p != NULL);
	return strtoull(p + strlen(key), NULL, 16);
}

TEST(signals_are_reset_and_unblocked)
{
	char *argv[] = {BUSYBOX, "cat", "/proc/self/status", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	struct {
		void (*handler)(int);
		unsigned long flags;
		void (*restorer)(void);
		uint64_t mask;
	} ign = {.handler = SIG_IGN};
	sigset_t block;
	char out[8192];

	need_busybox();
	/* What the gcs does: SIGPIPE ignored, SIGCHLD/SIGTERM blocked. */
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* Signals the C library reserves can arrive ignored from whoever
	 * started us; libc's sigaction() cannot reset them. */
	for (int sig = 32; sig <= 34; sig++)
		syscall(SYS_rt_sigaction, sig, &ign, NULL, sizeof(ign.mask));
	sigemptyset(&block);
	sigaddset(&block, SIGCHLD);
	sigaddset(&block, SIGTERM);
	CHECK_OK(sigprocmask(SIG_BLOCK, &block, NULL));
	CHECK_EQ(run_capture(&s, out, sizeof(out)), 0);
	CHECK_EQ(status_mask(out, "SigIgn:"), 0);
	CHECK_EQ(status_mask(out, "SigBlk:"), 0);
}

TEST(child_has_its_own_session_and_no_extra_fds)
{
	char *argv[] = {BUSYBOX, "ls", "/proc/self/fd", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	char out[1024];
	int leak;

	need_busybox();
	/* An fd without CLOEXEC in the parent must still not reach the child. */
	leak = open("/dev/null", O_RDONLY);
	CHECK(leak >= 3);
	CHECK_EQ(run_capture(&s, out, sizeof(out)), 0);
	/* 0, 1, 2 and the directory ls is reading. */
	CHECK_STREQ(out, "0\n1\n2\n3\n");
	close(leak);
}

TEST(child_is_a_session_leader)
{
	char *argv[] = {BUSYBOX, "sleep", "10", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	struct error err;
	pid_t pid;
	int status;

	need_busybox();
	CHECK_OK(process_spawn(NULL, &s, &pid, &err));
	CHECK_EQ(getsid(pid), pid);
	CHECK_EQ(getpgid(pid), pid);
	CHECK_OK(kill(pid, SIGKILL));
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK(WIFSIGNALED(status));
	CHECK_EQ(process_uvm_exit_code(status), 0xFFFFFFFFu);
}

TEST(stdio_sources_in_0_to_2_are_not_clobbered)
{
	char *argv[] = {BUSYBOX, "sh", "-c", "echo out; echo err >&2", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	struct error err;
	int out[2], errp[2], saved1, status;
	char buf[64];
	ssize_t n;
	pid_t pid;

	need_busybox();
	/* The child's stdout is our fd 2 and its stderr our fd 1: a naive
	 * dup2 order would send both to the same place. */
	CHECK_OK(pipe2(out, O_CLOEXEC));
	CHECK_OK(pipe2(errp, O_CLOEXEC));
	saved1 = dup(1);
	CHECK(dup2(out[1], 2) == 2);
	CHECK(dup2(errp[1], 1) == 1);
	s.stdio[1] = 2;
	s.stdio[2] = 1;
	CHECK_OK(process_spawn(NULL, &s, &pid, &err));
	CHECK(dup2(saved1, 1) == 1);
	CHECK(dup2(saved1, 2) == 2);
	close(out[1]);
	close(errp[1]);
	CHECK(waitpid(pid, &status, 0) == pid);
	n = read(out[0], buf, sizeof(buf));
	CHECK(n == 4 && memcmp(buf, "out\n", 4) == 0);
	n = read(errp[0], buf, sizeof(buf));
	CHECK(n == 4 && memcmp(buf, "err\n", 4) == 0);
}

TEST(fd_limit_is_raised_for_the_gcs_and_restored_for_children)
{
	char *argv[] = {BUSYBOX, "sh", "-c", "ulimit -n", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	struct rlimit lim;
	char out[64];

	need_busybox();
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &lim));
	if (lim.rlim_max < 2048)
		SKIP("hard fd limit %llu too low to tell", (unsigned long long)lim.rlim_max);
	lim.rlim_cur = 1000;
	CHECK_OK(setrlimit(RLIMIT_NOFILE, &lim));
	child_fd_limit_raise();
	CHECK_OK(getrlimit(RLIMIT_NOFILE, &lim));
	CHECK(lim.rlim_cur == lim.rlim_max);
	CHECK_EQ(run_capture(&s, out, sizeof(out)), 0);
	CHECK_STREQ(out, "1000\n");
}

TEST(exit_status_and_signal_death)
{
	char *argv[] = {BUSYBOX, "sh", "-c", "exit 42", NULL};
	char *kill_argv[] = {BUSYBOX, "sh", "-c", "kill -TERM $$", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	char out[16];
	int status;

	need_busybox();
	status = run_capture(&s, out, sizeof(out));
	CHECK_EQ(process_uvm_exit_code(status), 42);
	s = spawn_of(kill_argv, envp);
	status = run_capture(&s, out, sizeof(out));
	CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM);
	CHECK_EQ(process_uvm_exit_code(status), 0xFFFFFFFFu);
}

TEST(exec_failure_is_reported_and_reaped)
{
	char *argv[] = {"/nonexistent/program", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	struct error err;
	pid_t pid = 0;

	CHECK_EQ(process_spawn(NULL, &s, &pid, &err), -ENOENT);
	CHECK_STREQ(err.msg, "exec /nonexistent/program: No such file or directory");
	CHECK_EQ(pid, 0);
	check_no_children();
}

static void exec_file_expect(mode_t mode, int want, const char *text)
{
	static const char garbage[] = "\x01\x02 not a program\n";
	char dir[] = "/tmp/lcow-exec-XXXXXX", file[64];
	char *argv[] = {file, NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	struct error err;
	pid_t pid;
	int fd;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(file, sizeof(file), "%s/prog", dir);
	fd = open(file, O_CREAT | O_WRONLY | O_CLOEXEC, mode);
	CHECK(fd >= 0);
	CHECK(write(fd, garbage, sizeof(garbage) - 1) == (ssize_t)sizeof(garbage) - 1);
	CHECK_OK(fchmod(fd, mode));
	close(fd);
	CHECK_EQ(process_spawn(NULL, &s, &pid, &err), want);
	CHECK(strstr(err.msg, text) != NULL);
	CHECK(strstr(err.msg, file) != NULL);
	check_no_children();
	unlink(file);
	rmdir(dir);
}

TEST(non_executable_file_is_permission_denied)
{
	exec_file_expect(0644, -EACCES, "Permission denied");
}

TEST(garbage_executable_is_an_exec_format_error)
{
	exec_file_expect(0755, -ENOEXEC, "Exec format error");
}

TEST(chdir_failure_names_the_directory)
{
	char *argv[] = {"/bin/sh", "-c", "true", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	struct error err;
	pid_t pid;

	s.cwd = "/nonexistent-dir";
	CHECK_EQ(process_spawn(NULL, &s, &pid, &err), -ENOENT);
	CHECK_STREQ(err.msg, "chdir /nonexistent-dir: No such file or directory");
	check_no_children();
}

/* ---- pty ---------------------------------------------------------------------- */

TEST(pty_slave_is_private_and_the_child_owns_it)
{
	char *argv[] = {BUSYBOX, "sh", "-c", "tty; stty size", NULL};
	char *envp[] = {NULL};
	struct process_spawn s = spawn_of(argv, envp);
	struct error err;
	struct stat st;
	int master, slave, status;
	char out[256] = {0};
	size_t got = 0;
	pid_t pid;

	need_busybox();
	if (process_pty_open(&master, &slave, 30, 100, &err) < 0)
		SKIP("no pty: %s", err.msg);
	CHECK_OK(fstat(slave, &st));
	CHECK_EQ(st.st_mode & 0777, 0600);
	CHECK(fcntl(master, F_GETFD) & FD_CLOEXEC);
	for (int i = 0; i < 3; i++)
		s.stdio[i] = slave;
	s.ctty = slave;
	CHECK_OK(process_spawn(NULL, &s, &pid, &err));
	close(slave);
	for (;;) {
		ssize_t n = read(master, out + got, sizeof(out) - 1 - got);

		if (n <= 0)
			break; /* EIO once the child is gone */
		got += (size_t)n;
	}
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_EQ(process_uvm_exit_code(status), 0);
	/* `tty` fails ("not a tty") without a controlling terminal. */
	CHECK(strncmp(out, "/dev/pts/", 9) == 0);
	CHECK(strstr(out, "30 100\r\n") != NULL);
	close(master);
}

TEST(pty_resize_sets_the_window_size)
{
	struct error err;
	struct winsize ws;
	int master, slave;

	if (process_pty_open(&master, &slave, 0, 0, &err) < 0)
		SKIP("no pty: %s", err.msg);
	CHECK_OK(process_pty_resize(master, 40, 120, &err));
	CHECK_OK(ioctl(slave, TIOCGWINSZ, &ws));
	CHECK_EQ(ws.ws_row, 40);
	CHECK_EQ(ws.ws_col, 120);
	CHECK_EQ(process_pty_resize(master, 70000, 10, &err), -EINVAL);
	CHECK_EQ(err.kind, ERR_INVALID_ARG);
	close(master);
	close(slave);
}

/* ---- ProcessParameters ------------------------------------------------------------ */

static int parse_settings(const char *json, struct uvm_command **c, struct error *err)
{
	struct arena *a = arena_new();
	struct json_object *obj;
	ProtobufCMessage *msg;
	int rc;

	rc = codec_parse(json, strlen(json), &obj, err);
	if (rc == 0) {
		rc = codec_decode(&gcs__execute_process_settings__descriptor, obj, a, &msg, err);
		json_object_put(obj);
	}
	if (rc == 0)
		rc = uvm_command_parse((const void *)msg, c, err);
	arena_free(a);
	return rc;
}

TEST(command_args_environment_and_cwd)
{
	struct uvm_command *c;
	struct error err;

	CHECK_OK(parse_settings("{\"ProcessParameters\":\"{\\\"CommandArgs\\\":[\\\"ls\\\","
				"\\\"-l\\\"],\\\"CommandLine\\\":\\\"ignored\\\","
				"\\\"WorkingDirectory\\\":\\\"/tmp\\\","
				"\\\"Environment\\\":{\\\"PATH\\\":\\\"/bin\\\","
				"\\\"X\\\":\\\"a=b\\\"}}\"}",
				&c, &err));
	CHECK_STREQ(c->argv[0], "ls");
	CHECK_STREQ(c->argv[1], "-l");
	CHECK(c->argv[2] == NULL);
	CHECK_STREQ(c->cwd, "/tmp");
	CHECK_STREQ(c->envp[0], "PATH=/bin");
	CHECK_STREQ(c->envp[1], "X=a=b");
	CHECK(c->envp[2] == NULL);
	CHECK(!c->console);
	CHECK(!c->want[0] && !c->want[1] && !c->want[2]);
	uvm_command_free(c);
}

TEST(command_line_is_split_by_shell_rules)
{
	struct uvm_command *c;
	struct error err;

	CHECK_OK(parse_settings("{\"ProcessParameters\":\"{\\\"CommandLine\\\":"
				"\\\"sh -c 'echo \\\\\\\"a  b\\\\\\\"' x\\\\\\\\ y\\\"}\"}",
				&c, &err));
	CHECK_STREQ(c->argv[0], "sh");
	CHECK_STREQ(c->argv[1], "-c");
	CHECK_STREQ(c->argv[2], "echo \"a  b\"");
	CHECK_STREQ(c->argv[3], "x y");
	CHECK(c->argv[4] == NULL);
	CHECK(c->envp[0] == NULL);
	CHECK(c->cwd == NULL);
	uvm_command_free(c);
}

TEST(no_command_is_an_invalid_argument)
{
	struct uvm_command *c = (void *)1;
	struct error err;

	CHECK_EQ(parse_settings("{\"ProcessParameters\":\"{}\"}", &c, &err), -EINVAL);
	CHECK_EQ(err.kind, ERR_INVALID_ARG);
	CHECK(strstr(err.msg, "CommandArgs") != NULL);
	CHECK(c == NULL);
	CHECK_EQ(parse_settings("{\"ProcessParameters\":\"{\\\"CommandLine\\\":\\\"  \\\"}\"}", &c,
				&err),
		 -EINVAL);
	CHECK_EQ(parse_settings("{}", &c, &err), -EINVAL);
	CHECK(strstr(err.msg, "ProcessParameters") != NULL);
	CHECK_EQ(parse_settings("{\"ProcessParameters\":\"{\\\"CommandLine\\\":\\\"a 'b\\\"}\"}",
				&c, &err),
		 -EINVAL);
	CHECK_EQ(err.kind, ERR_INVALID_ARG);
}

TEST(bad_environment_names_are_refused)
{
	struct uvm_command *c;
	struct error err;

	CHECK_EQ(parse_settings("{\"ProcessParameters\":\"{\\\"CommandLine\\\":\\\"true\\\","
				"\\\"Environment\\\":{\\\"A=B\\\":\\\"x\\\"}}\"}",
				&c, &err),
		 -EINVAL);
	CHECK(strstr(err.msg, "A=B") != NULL);
	CHECK_EQ(parse_settings("{\"ProcessParameters\":\"{\\\"CommandLine\\\":\\\"true\\\","
				"\\\"Environment\\\":{\\\"\\\":\\\"x\\\"}}\"}",
				&c, &err),
		 -EINVAL);
}

TEST(stdio_flags_ports_and_console)
{
	struct uvm_command *c;
	struct error err;

	CHECK_OK(parse_settings(
		"{\"ProcessParameters\":\"{\\\"CommandLine\\\":\\\"sh\\\","
		"\\\"EmulateConsole\\\":true,\\\"ConsoleSize\\\":[24,80],"
		"\\\"CreateStdInPipe\\\":true,\\\"CreateStdOutPipe\\\":true}\","
		"\"VsockStdioRelaySettings\":{\"StdIn\":5,\"StdOut\":6,\"StdErr\":7}}",
		&c, &err));
	CHECK(c->console);
	CHECK_EQ(c->rows, 24);
	CHECK_EQ(c->cols, 80);
	CHECK(c->want[STDIO_IN] && c->want[STDIO_OUT] && !c->want[STDIO_ERR]);
	CHECK_EQ(c->port[STDIO_IN], 5);
	CHECK_EQ(c->port[STDIO_OUT], 6);
	uvm_command_free(c);
	/* A stream asked for without a port cannot be dialled. */
	CHECK_EQ(parse_settings("{\"ProcessParameters\":\"{\\\"CommandLine\\\":\\\"sh\\\","
				"\\\"CreateStdErrPipe\\\":true}\"}",
				&c, &err),
		 -EINVAL);
	CHECK(strstr(err.msg, "CreateStdErrPipe") != NULL);
}

/* ---- stdio dialling ------------------------------------------------------------------ */

static int count_fds(void)
{
	char path[64];
	int n = 0;

	for (int fd = 0; fd < 1024; fd++) {
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
		n += access(path, F_OK) == 0;
	}
	return n;
}

TEST(refused_dial_leaves_nothing_open)
{
	struct uvm_command c = {.want = {true, true, true}, .port = {11, 12, 13}};
	char dir[] = "/tmp/lcow-dial-XXXXXX", spec[128];
	struct uvm_stdio io;
	struct transport t;
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct error err;
	int lst, before;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(spec, sizeof(spec), "unix:%s/v", dir);
	CHECK_OK(transport_parse(spec, &t));
	/* stdin listens, stdout does not: the dial of stdout fails. */
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/v_11", dir);
	lst = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	CHECK_OK(bind(lst, (struct sockaddr *)&sa, sizeof(sa)));
	CHECK_OK(listen(lst, 4));
	before = count_fds();
	CHECK(uvm_stdio_open(&t, &c, &io, &err) < 0);
	CHECK(strncmp(err.msg, "stdout: dial", 12) == 0);
	CHECK_EQ(count_fds(), before);
	close(lst);
	unlink(sa.sun_path);
	rmdir(dir);
}

TEST(connections_and_console_layouts)
{
	struct uvm_command c = {.want = {true, true, true}, .port = {21, 22, 23}};
	char dir[] = "/tmp/lcow-dial-XXXXXX", spec[128];
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	struct uvm_stdio io;
	struct transport t;
	struct error err;
	int lst[3], before;

	CHECK(mkdtemp(dir) != NULL);
	snprintf(spec, sizeof(spec), "unix:%s/v", dir);
	CHECK_OK(transport_parse(spec, &t));
	for (int i = 0; i < 3; i++) {
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/v_%d", dir, 21 + i);
		lst[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		CHECK_OK(bind(lst[i], (struct sockaddr *)&sa, sizeof(sa)));
		CHECK_OK(listen(lst[i], 4));
	}
	before = count_fds();
	CHECK_OK(uvm_stdio_open(&t, &c, &io, &err));
	/* Without a console the child gets the connections themselves. */
	for (int i = 0; i < 3; i++) {
		struct stat st;

		CHECK(io.conn[i] < 0 && io.child[i] >= 0);
		CHECK_OK(fstat(io.child[i], &st));
		CHECK(S_ISSOCK(st.st_mode));
		if (i > 0)
			CHECK_EQ(io.out_ino[i - 1], st.st_ino);
	}
	CHECK(io.in_dst < 0 && io.out_src[0] < 0 && io.out_src[1] < 0);
	CHECK(io.master < 0 && io.slave < 0);
	uvm_stdio_close(&io);
	CHECK_EQ(count_fds(), before);

	c.console = true;
	if (uvm_stdio_open(&t, &c, &io, &err) == 0) {
		CHECK(io.master >= 0 && io.slave >= 0);
		CHECK(io.child[0] == io.slave && io.child[2] == io.slave);
		CHECK(io.in_dst >= 0 && io.out_src[0] >= 0 && io.out_src[1] < 0);
		uvm_stdio_close(&io);
		CHECK_EQ(count_fds(), before);
	}
	for (int i = 0; i < 3; i++) {
		close(lst[i]);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/v_%d", dir, 21 + i);
		unlink(sa.sun_path);
	}
	rmdir(dir);
}

/* A group leader that keeps one end of a socket pair: its group holds the
 * socket until the leader lets it go. */
TEST(group_holders_of_a_socket)
{
	int sv[2], go[2];
	struct stat st;
	pid_t pid;
	char c = 0;

	CHECK_OK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv));
	CHECK_OK(pipe2(go, O_CLOEXEC));
	CHECK_OK(fstat(sv[1], &st));
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		setsid();
		close(sv[0]);
		close(go[1]);
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		close(sv[1]); /* let go, then stay in the group a while */
		if (read(go[0], &c, 1) < 0)
			_exit(1);
		_exit(0);
	}
	close(go[0]);
	/* setsid may not have run yet: wait until the group exists. */
	for (int i = 0; i < 1000 && getsid(pid) != pid; i++)
		usleep(1000);
	CHECK_EQ(getsid(pid), pid);
	CHECK_EQ(process_group_holds(pid, (ino_t[]){0, st.st_ino}, 2), 1);
	/* The test's own group holds it too (this process has sv[1]). */
	CHECK_EQ(process_group_holds(getpgid(0), (ino_t[]){st.st_ino, 0}, 2), 1);
	CHECK_EQ(process_group_holds(pid, (ino_t[]){0, 0}, 2), 0);
	close(sv[1]);
	CHECK_EQ(write(go[1], &c, 1), 1);
	for (int i = 0; i < 1000 && process_group_holds(pid, &st.st_ino, 1) == 1; i++)
		usleep(1000);
	CHECK_EQ(process_group_holds(pid, &st.st_ino, 1), 0);
	close(go[1]);
	CHECK_EQ(waitpid(pid, NULL, 0), pid);
	CHECK_EQ(process_group_holds(pid, &st.st_ino, 1), 0);
	close(sv[0]);
}
