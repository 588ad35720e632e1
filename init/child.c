#include "child.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "klog.h"
#include "transport.h"

extern char **environ;

static char *env_entry(const char *name)
{
	size_t len = strlen(name);

	for (char **e = environ; e && *e; e++)
		if (strncmp(*e, name, len) == 0 && (*e)[len] == '=')
			return *e;
	return NULL;
}

void init_child_env(char **envp, size_t n)
{
	static const char *const passed[] = {TRANSPORT_ENV, TRANSPORT_FORBID_VSOCK_ENV};
	size_t k = 0;

	envp[k++] = INIT_CHILD_PATH;
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]) && k + 1 < n; i++) {
		char *e = env_entry(passed[i]);

		if (e)
			envp[k++] = e;
	}
	envp[k] = NULL;
}

static void child_exec(char *const argv[], char *const envp[])
{
	sigset_t none;

	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	/* Its own session (and so process group): no signal meant for one
	 * of init's children reaches the others. */
	setsid();
	/* execvpe searches the PATH of the caller's environment, not envp's. */
	environ = (char **)envp;
	execvpe(argv[0], argv, envp);
	klog(KLOG_ERR, "exec %s: %s", argv[0], strerror(errno));
	_exit(127);
}

pid_t init_launch(char *const argv[], char *const envp[])
{
	pid_t pid = fork();

	if (pid < 0)
		return -errno;
	if (pid == 0)
		child_exec(argv, envp);
	return pid;
}

int init_exit_code(int status)
{
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return 255;
}

int init_reap_until(pid_t primary, pid_t other)
{
	for (;;) {
		int status;
		pid_t pid = wait(&status);

		if (pid < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		if (pid == primary)
			return status;
		if (pid == other)
			klog(KLOG_NOTICE, "child %d exited with status %d", (int)pid,
			     init_exit_code(status));
	}
}
