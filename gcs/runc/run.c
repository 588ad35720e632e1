/* Running the runc binary: spawn it with the given stdio, wait through the
 * configured waiter, and turn a failure into a struct error.
 *
 * runc is spawned as posix_spawn does it, clone(CLONE_VM | CLONE_VFORK):
 * no page tables are copied (fork() of the gcs cost 0.1-0.2 ms per runc
 * call on a busy 2-CPU machine, and its copy-on-write faults after); the
 * child runs on a small stack in our memory until it execs, while this
 * thread waits. Sanitizer builds fork instead: their runtimes keep per-
 * thread state in our memory, which a child running our instrumented code
 * in it would corrupt (ThreadSanitizer then reports races that are none).
 *
 * runc's stdin/stdout/stderr are memfds, not pipes: a container process can
 * inherit runc's stdio and keep it open for its whole life, so waiting for
 * EOF on a pipe could hang; a memfd is simply read once runc has exited. */
#include "runc/runc.h"
#include "core/child_exec.h"
#include "core/small_file.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

#define RUNC_OUT_MAX (4u << 20)
#define RUNC_LOG_TAIL (64u << 10)
/* The child's stack until it execs: a few calls deep, no buffers. */
#define CHILD_STACK (16u << 10)

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define SPAWN_FORKS 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(thread_sanitizer)
#define SPAWN_FORKS 1
#endif
#endif

extern char **environ;

/* runc_thread_ns(): per thread, so that no lock is needed and a job's
 * reading is its own calls only. */
static _Thread_local uint64_t thread_runc_ns;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t runc_thread_ns(void)
{
	return thread_runc_ns;
}

int runc_find(char *buf, size_t size, struct error *e)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	snprintf(dirs, sizeof(dirs), "%s:/usr/bin:/usr/sbin:/bin:/sbin", path ? path : "");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d;
	     d = strtok_r(NULL, ":", &save)) {
		if (*d != '/')
			continue;
		if (snprintf(buf, size, "%s/runc", d) < (int)size && access(buf, X_OK) == 0)
			return 0;
	}
	buf[0] = '\0';
	return error_set(e, ERR_FAIL, ENOENT, "runc not found on PATH");
}

static int memfd(const char *name)
{
	int fd = memfd_create(name, MFD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads fd from offset `from` (at most max bytes, the last ones if longer)
 * into a NUL-terminated malloc'ed buffer. */
static int read_from(int fd, off_t from, size_t max, char **out, size_t *len)
{
	struct stat st;
	char *buf;
	size_t want, got = 0;

	*out = NULL;
	*len = 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (st.st_size <= from) {
		*out = calloc(1, 1);
		return *out ? 0 : -ENOMEM;
	}
	want = (size_t)(st.st_size - from);
	if (want > max) {
		from = st.st_size - (off_t)max;
		want = max;
	}
	buf = malloc(want + 1);
	if (!buf)
		return -ENOMEM;
	while (got < want) {
		ssize_t n = pread(fd, buf + got, want - got, from + (off_t)got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*len = got;
	return 0;
}

/* What the child needs; errfd (CLOEXEC) gets its errno if exec fails. */
struct spawn {
	const int *fds;
	const char *path;
	char *const *argv;
	int maxfd;
	int errfd;
};

/* In the child, until exec: async-signal-safe calls only, and nothing that
 * writes our memory (it may be ours: CLONE_VM) but errno, which the parent
 * reads only when the spawn itself failed. */
static int child(void *data)
{
	const struct spawn *s = data;
	int err;

	/* The GCS blocks and handles signals its own way and raised its fd
	 * limit; runc and the container must start with the defaults. */
	child_reset_signals();
	child_restore_fd_limit();
	if (child_setup_stdio(s->fds) == 0) {
		/* Only 0-2 may reach runc (errfd is CLOEXEC): a stray pipe
		 * end of another container would keep its relay from ever
		 * seeing EOF. */
		if (s->errfd > 3)
			child_close_range(3, (unsigned)s->errfd - 1, s->maxfd);
		child_close_range(s->errfd >= 3 ? (unsigned)s->errfd + 1 : 3, ~0U, s->maxfd);
		execve(s->path, s->argv, environ);
	}
	err = errno;
	(void)!write(s->errfd, &err, sizeof(err));
	_exit(127);
}

/* Returns the pid, or a negative errno. */
static pid_t spawn(const struct runc_config *rc, struct spawn *s)
{
	pid_t pid;
	int err;

	if (rc->child_begin)
		rc->child_begin(rc->wait_ctx);
#ifdef SPAWN_FORKS
	pid = fork();
	if (pid == 0)
		child(s);
#else
	{
		char stack[CHILD_STACK] __attribute__((aligned(16)));

		pid = clone(child, stack + sizeof(stack), CLONE_VM | CLONE_VFORK | SIGCHLD, s);
	}
#endif
	err = errno;
	if (rc->child_end)
		rc->child_end(rc->wait_ctx, pid);
	return pid < 0 ? -err : pid;
}

static int wait_for(const struct runc_config *rc, pid_t pid, int *status)
{
	if (rc->wait_child)
		return rc->wait_child(pid, status, rc->wait_ctx);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static const char *op_name(const struct runc_argv *a)
{
	/* The first argument after the global options is the command. */
	for (int i = 1; i < a->argc; i++) {
		if (!strcmp(a->argv[i], "--root") || !strcmp(a->argv[i], "--log") ||
		    !strcmp(a->argv[i], "--log-format")) {
			i++;
			continue;
		}
		return a->argv[i];
	}
	return "?";
}

static const char *target_id(const struct runc_argv *a)
{
	const char *op = op_name(a);

	/* kill's last argument is the signal. */
	if (!strcmp(op, "kill") && a->argc >= 2)
		return a->argv[a->argc - 2];
	return a->argv[a->argc - 1];
}

/* Builds the error of a failed runc from its log (new entries only) or its
 * stderr. */
static int runc_failure(const struct runc_argv *a, int status, int logfd, off_t log_from, int errfd,
			struct error *e)
{
	char msg[ERROR_MSG_MAX / 2] = "";
	_cleanup_free_ char *text = NULL;
	size_t len;
	bool found = false;

	if (logfd >= 0 && read_from(logfd, log_from, RUNC_LOG_TAIL, &text, &len) == 0)
		found = runc_log_last_error(text, len, msg, sizeof(msg));
	if (!found && errfd >= 0) {
		free(text);
		text = NULL;
		if (read_from(errfd, 0, RUNC_LOG_TAIL, &text, &len) == 0)
			found = runc_stderr_message(text, len, msg, sizeof(msg));
	}
	if (!found) {
		if (WIFSIGNALED(status))
			snprintf(msg, sizeof(msg), "killed by signal %d", WTERMSIG(status));
		else
			snprintf(msg, sizeof(msg), "exit status %d", WEXITSTATUS(status));
	}
	return error_set(e, runc_error_kind(msg), EIO, "runc %s %s: %s", op_name(a), target_id(a),
			 msg);
}

int runc_run(const struct runc_config *rc, const struct runc_argv *a, struct runc_run *r,
	     struct error *e)
{
	_cleanup_close_ int null_fd = -1, in_fd = -1, out_fd = -1, err_fd = -1, log_fd = -1;
	_cleanup_close_ int err_rd = -1, err_wr = -1;
	struct spawn s = {.fds = NULL};
	int fds[3], errpipe[2], status, rc_wait, child_err = 0, maxfd;
	off_t log_from = 0;
	uint64_t spawned;
	ssize_t n;
	pid_t pid;

	r->out = NULL;
	r->out_len = 0;
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd < 0)
		return error_errno(e, errno, "open /dev/null");
	if (r->stdio) {
		for (int i = 0; i < 3; i++)
			fds[i] = r->stdio[i] >= 0 ? r->stdio[i] : null_fd;
	} else {
		if ((in_fd = memfd("runc-stdin")) < 0 || (out_fd = memfd("runc-stdout")) < 0)
			return error_errno(e, -(in_fd < 0 ? in_fd : out_fd), "memfd");
		if (r->input &&
		    (write_all(in_fd, r->input, r->input_len) < 0 || lseek(in_fd, 0, SEEK_SET) < 0))
			return error_errno(e, errno, "memfd");
		fds[0] = in_fd;
		fds[1] = out_fd;
	}
	if (!r->stdio || r->stdio[2] < 0) {
		if ((err_fd = memfd("runc-stderr")) < 0)
			return error_errno(e, -err_fd, "memfd");
		fds[2] = err_fd;
	} else {
		fds[2] = r->stdio[2];
	}
	/* Remember where the log ends: only what this call adds is its error. */
	if (a->log[0]) {
		log_fd = open(a->log, O_RDONLY | O_CREAT | O_CLOEXEC, 0600);
		if (log_fd >= 0) {
			struct stat st;

			if (fstat(log_fd, &st) == 0)
				log_from = st.st_size;
		}
	}
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return error_errno(e, errno, "pipe");
	err_rd = errpipe[0];
	err_wr = errpipe[1];
	maxfd = (int)sysconf(_SC_OPEN_MAX);
	if (maxfd <= 0 || maxfd > 65536)
		maxfd = 65536;
	s.fds = fds;
	s.path = a->argv[0];
	s.argv = (char *const *)a->argv;
	s.maxfd = maxfd;
	s.errfd = err_wr;

	spawned = now_ns();
	pid = spawn(rc, &s);
	if (pid < 0) {
		thread_runc_ns += now_ns() - spawned;
		return error_errno(e, -pid, "spawn runc");
	}
	/* EOF once runc runs (at once after a CLONE_VFORK spawn). */
	close(TAKE_FD(err_wr));
	do
		n = read(err_rd, &child_err, sizeof(child_err));
	while (n < 0 && errno == EINTR);

	rc_wait = wait_for(rc, pid, &status);
	thread_runc_ns += now_ns() - spawned;
	if (rc_wait < 0)
		return error_errno(e, -rc_wait, "wait for runc %s", op_name(a));
	if (n == sizeof(child_err))
		return error_errno(e, child_err, "exec %s", a->argv[0]);
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return runc_failure(a, status, log_fd, log_from, err_fd, e);
	if (out_fd >= 0 && read_from(out_fd, 0, RUNC_OUT_MAX, &r->out, &r->out_len) < 0)
		return error_set(e, ERR_FAIL, ENOMEM, "runc %s: reading its output", op_name(a));
	return 0;
}

int runc_read_pid_file(const char *path, pid_t *pid, struct error *e)
{
	char buf[32];
	ssize_t n = small_file_read_at(AT_FDCWD, path, buf, sizeof(buf));
	char *end;
	long v;

	if (n < 0)
		return error_errno(e, (int)-n, "read pid file %s", path);
	errno = 0;
	v = strtol(buf, &end, 10);
	if (errno || end == buf || (*end && *end != '\n') || v <= 0 || v > 0x3fffffff)
		return error_set(e, ERR_FAIL, EINVAL, "pid file %s: bad content \"%s\"", path, buf);
	*pid = (pid_t)v;
	return 0;
}
