#include "core/tool_run.h"
#include "core/child_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

extern char **environ;

int tool_find_program(const char *name, char *buf, size_t size)
{
	const char *path = getenv("PATH");
	char dirs[4096];

	if (strchr(name, '/'))
		return snprintf(buf, size, "%s", name) < (int)size ? 0 : -ENAMETOOLONG;
	snprintf(dirs, sizeof(dirs), "%s", path && *path ? path : "/usr/sbin:/usr/bin:/sbin:/bin");
	for (char *save = NULL, *d = strtok_r(dirs, ":", &save); d; d = strtok_r(NULL, ":", &save))
		if (snprintf(buf, size, "%s/%s", d, name) < (int)size && access(buf, X_OK) == 0)
			return 0;
	return -ENOENT;
}

/* Between fork and exec: async-signal-safe calls only. */
static void child(const char *path, char *const argv[], char *const envp[], int out, int maxfd)
{
	int fds[3] = {open("/dev/null", O_RDONLY), out, out};

	child_reset_signals();
	child_restore_fd_limit();
	if (fds[0] < 0 || child_setup_stdio(fds) < 0)
		_exit(126);
	child_close_range(3, ~0U, maxfd);
	execve(path, argv, envp ? envp : environ);
	_exit(127);
}

static unsigned long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* Appends n (< TOOL_OUTPUT_MAX) bytes to the output, keeping its last
 * TOOL_OUTPUT_MAX - 1 bytes. */
static void keep_output(struct tool_result *res, size_t *len, const char *buf, size_t n)
{
	size_t cap = sizeof(res->output) - 1;

	if (*len + n > cap) {
		memmove(res->output, res->output + (*len + n - cap), cap - n);
		*len = cap - n;
	}
	memcpy(res->output + *len, buf, n);
	*len += n;
}

/* Reads what is in the pipe now, without waiting. */
static void drain(int out, struct tool_result *res, size_t *len)
{
	char buf[1024];
	ssize_t r;

	fcntl(out, F_SETFL, O_NONBLOCK);
	while ((r = read(out, buf, sizeof(buf))) > 0 || (r < 0 && errno == EINTR))
		if (r > 0)
			keep_output(res, len, buf, (size_t)r);
}

/* Reads the output until the child has exited (then what is left in the
 * pipe), or until EOF where the kernel has no pidfd, or until the deadline.
 * The pidfd tells the child exited even when a grandchild still holds the
 * pipe. 1: exited, 0: deadline passed. */
static int collect(pid_t pid, int out, unsigned timeout_ms, struct tool_result *res, size_t *len)
{
	_cleanup_close_ int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	unsigned long long deadline = now_ms() + timeout_ms;
	bool eof = false;
	char buf[1024];

	for (;;) {
		struct pollfd p[2] = {{.fd = eof ? -1 : out, .events = POLLIN},
				      {.fd = pidfd, .events = POLLIN}};
		unsigned long long t = now_ms();
		int n;

		if (eof && pidfd < 0)
			return 1;
		if (t >= deadline)
			return 0;
		n = poll(p, 2, (int)(deadline - t));
		if (n < 0 && errno != EINTR)
			return -errno;
		if (n <= 0)
			continue;
		if (p[0].revents) {
			ssize_t r = read(out, buf, sizeof(buf));

			if (r > 0)
				keep_output(res, len, buf, (size_t)r);
			else if (r == 0 || errno != EINTR)
				eof = true;
		}
		if (p[1].revents) {
			drain(out, res, len);
			return 1;
		}
	}
}

static int reap(const struct tool_reaper *r, pid_t pid, int *status)
{
	if (r && r->wait)
		return r->wait(pid, status, r->ctx);
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR)
			return -errno;
	return 0;
}

static void trim(char *s, size_t len)
{
	while (len > 0 && (s[len - 1] == '\n' || s[len - 1] == ' ' || s[len - 1] == '\r'))
		len--;
	s[len] = '\0';
}

int tool_run(const struct tool_reaper *r, char *const argv[], char *const envp[],
	     unsigned timeout_ms, struct tool_result *res, struct error *e)
{
	_cleanup_close_ int out_r = -1, out_w = -1;
	char path[PATH_MAX];
	int pipefd[2], maxfd, rc, fork_err;
	size_t len = 0;
	pid_t pid;

	memset(res, 0, sizeof(*res));
	if (tool_find_program(argv[0], path, sizeof(path)) < 0)
		return error_set(e, ERR_FAIL, ENOENT, "%s: not found on PATH", argv[0]);
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return error_errno(e, errno, "pipe");
	out_r = pipefd[0];
	out_w = pipefd[1];
	maxfd = (int)sysconf(_SC_OPEN_MAX);
	if (maxfd <= 0 || maxfd > 65536)
		maxfd = 65536;
	if (r && r->begin)
		r->begin(r->ctx);
	pid = fork();
	if (pid == 0)
		child(path, argv, envp, out_w, maxfd);
	fork_err = errno;
	if (r && r->end)
		r->end(r->ctx, pid);
	if (pid < 0)
		return error_errno(e, fork_err, "fork %s", argv[0]);
	close(TAKE_FD(out_w));
	rc = collect(pid, out_r, timeout_ms, res, &len);
	if (rc <= 0) {
		kill(pid, SIGKILL);
		res->timed_out = rc == 0;
	}
	trim(res->output, len);
	rc = reap(r, pid, &res->status);
	if (rc < 0)
		return error_errno(e, -rc, "wait for %s", argv[0]);
	return 0;
}

void tool_describe(const struct tool_result *res, unsigned timeout_ms, char *buf, size_t size)
{
	if (res->timed_out)
		snprintf(buf, size, "timed out after %u ms", timeout_ms);
	else if (WIFSIGNALED(res->status))
		snprintf(buf, size, "killed by signal %d", WTERMSIG(res->status));
	else if (WEXITSTATUS(res->status) == 127)
		snprintf(buf, size, "could not be executed (exit status 127)");
	else
		snprintf(buf, size, "exit status %d", WEXITSTATUS(res->status));
}
