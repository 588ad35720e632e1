/* fork + exec of a process for the host. The child reports a failure before
 * exec through a CLOEXEC pipe (end of file there means exec succeeded), so
 * the caller gets a precise error and no half-started process.
 *
 * Between fork and exec the child runs only async-signal-safe calls: the
 * gcs is multi-threaded (loop workers). */
#include "process/process.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "core/child_exec.h"
#include "cleanup.h"
#include "core/log.h"
#include "core/loop.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

enum spawn_step {
	STEP_SETSID,
	STEP_CTTY,
	STEP_STDIO,
	STEP_CHDIR,
	STEP_EXEC,
};

struct spawn_report {
	int step;
	int errnum;
};

static __attribute__((noreturn)) void child_fail(int report_fd, int step)
{
	struct spawn_report r = {.step = step, .errnum = errno};

	if (write(report_fd, &r, sizeof(r)) < 0) {
		/* the parent then sees a plain exit 127 */
	}
	_exit(127);
}

static __attribute__((noreturn)) void child(const struct process_spawn *s, const int fds[3],
					    int report_fd)
{
	child_reset_signals();
	if (setsid() < 0)
		child_fail(report_fd, STEP_SETSID);
	if (s->ctty >= 0 && ioctl(s->ctty, TIOCSCTTY, 0) < 0)
		child_fail(report_fd, STEP_CTTY);
	if (child_setup_stdio(fds) < 0)
		child_fail(report_fd, STEP_STDIO);
	if (s->cwd && s->cwd[0] && chdir(s->cwd) < 0)
		child_fail(report_fd, STEP_CHDIR);
	child_restore_fd_limit();
	/* Every fd the gcs opens is CLOEXEC; this makes sure of it for fds
	 * opened by libraries (kernels before 5.11 lack it: no matter). */
	syscall(SYS_close_range, 3U, ~0U, CLOSE_RANGE_CLOEXEC);
	execve(s->path, s->argv, s->envp);
	child_fail(report_fd, STEP_EXEC);
}

static int step_error(const struct process_spawn *s, const struct spawn_report *r,
		      struct error *err)
{
	switch (r->step) {
	case STEP_SETSID:
		return error_errno(err, r->errnum, "setsid");
	case STEP_CTTY:
		return error_errno(err, r->errnum, "set the controlling terminal");
	case STEP_STDIO:
		return error_errno(err, r->errnum, "set up stdio");
	case STEP_CHDIR:
		return error_errno(err, r->errnum, "chdir %s", s->cwd);
	default:
		return error_errno(err, r->errnum, "exec %s", s->path);
	}
}

/* The child failed before exec and exits at once: reap it here, so that no
 * zombie and no stray exit status of it is left. */
static void collect(struct loop *l, pid_t pid)
{
	int status;

	if (l) {
		loop_child_wait(pid, &status, l);
		return;
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
}

/* Returns 0 once the child has exec'd, else its error. */
static int read_report(const struct process_spawn *s, int fd, struct error *err)
{
	struct spawn_report r;
	ssize_t n;

	do {
		n = read(fd, &r, sizeof(r));
	} while (n < 0 && errno == EINTR);
	if (n == 0)
		return 0;
	if (n != (ssize_t)sizeof(r))
		return error_set(err, ERR_FAIL, EIO, "exec %s: the child died before exec",
				 s->path);
	return step_error(s, &r, err);
}

static int open_stdio(const struct process_spawn *s, int fds[3], int *devnull, struct error *err)
{
	for (int i = 0; i < 3; i++) {
		fds[i] = s->stdio[i];
		if (fds[i] >= 0)
			continue;
		if (*devnull < 0)
			*devnull = open("/dev/null", O_RDWR | O_CLOEXEC);
		if (*devnull < 0)
			return error_errno(err, errno, "open /dev/null");
		fds[i] = *devnull;
	}
	return 0;
}

int process_spawn(struct loop *l, const struct process_spawn *s, pid_t *pid_out, struct error *err)
{
	_cleanup_close_ int devnull = -1, report_r = -1, report_w = -1;
	int fds[3], pipefd[2], rc;
	pid_t pid;

	rc = open_stdio(s, fds, &devnull, err);
	if (rc < 0)
		return rc;
	if (pipe2(pipefd, O_CLOEXEC) < 0)
		return error_errno(err, errno, "pipe");
	report_r = pipefd[0];
	report_w = pipefd[1];
	if (l)
		loop_child_begin(l);
	pid = fork();
	if (pid == 0)
		child(s, fds, report_w);
	if (l)
		loop_child_end(l, pid);
	if (pid < 0)
		return error_errno(err, errno, "fork");
	close(TAKE_FD(report_w));
	rc = read_report(s, report_r, err);
	if (rc < 0) {
		collect(l, pid);
		return rc;
	}
	*pid_out = pid;
	return 0;
}

uint32_t process_uvm_exit_code(int status)
{
	if (WIFEXITED(status))
		return (uint32_t)WEXITSTATUS(status);
	/* Go's ProcessState.ExitCode() is -1 for a signal death and the
	 * reference sends it as a uint32. */
	return UINT32_MAX;
}
