#include "core/child_exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "core/log.h"

static struct rlimit original_nofile;
static bool nofile_raised;

/* The kernel's struct for rt_sigaction: the raw system call, because the C
 * libraries refuse the signals they reserve (32-34), which may still arrive
 * ignored. */
struct kernel_sigaction {
	void (*handler)(int);
	unsigned long flags;
	void (*restorer)(void);
	uint64_t mask;
};

void child_reset_signals(void)
{
	struct kernel_sigaction sa = {.handler = SIG_DFL};
	sigset_t none;

	for (int sig = 1; sig <= 64; sig++)
		if (sig != SIGKILL && sig != SIGSTOP)
			syscall(SYS_rt_sigaction, sig, &sa, NULL, sizeof(sa.mask));
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
}

void child_restore_fd_limit(void)
{
	if (nofile_raised)
		setrlimit(RLIMIT_NOFILE, &original_nofile);
}

int child_setup_stdio(const int fds[3])
{
	int src[3];

	for (int i = 0; i < 3; i++) {
		src[i] = fds[i];
		if (src[i] < 3) {
			src[i] = fcntl(fds[i], F_DUPFD, 3);
			if (src[i] < 0)
				return -1;
		}
	}
	for (int i = 0; i < 3; i++)
		if (dup2(src[i], i) < 0)
			return -1;
	return 0;
}

void child_close_range(unsigned lo, unsigned hi, int maxfd)
{
	if (syscall(SYS_close_range, lo, hi, 0) == 0)
		return;
	for (unsigned fd = lo; fd <= hi && fd < (unsigned)maxfd; fd++)
		close((int)fd);
}

void child_fd_limit_raise(void)
{
	struct rlimit lim;

	if (nofile_raised || getrlimit(RLIMIT_NOFILE, &lim) < 0)
		return;
	original_nofile = lim;
	nofile_raised = true;
	if (lim.rlim_cur == lim.rlim_max)
		return;
	lim.rlim_cur = lim.rlim_max;
	if (setrlimit(RLIMIT_NOFILE, &lim) < 0)
		log_warn("cannot raise the open file limit to %llu: %s",
			 (unsigned long long)lim.rlim_max, strerror(errno));
}
