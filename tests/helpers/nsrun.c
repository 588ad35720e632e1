/* nsrun: starts a program as PID 1 of new PID + mount (+ network) namespaces,
 * chrooted into a scratch root, for tests/integration/test_init.py.
 *
 *   nsrun [--net] --status FILE ROOT PROGRAM [ARGS...]
 *
 * FILE receives "exited N" or "signaled N" once PROGRAM is gone: a program
 * that calls reboot(RB_POWER_OFF) as init of a PID namespace is killed by
 * SIGINT, and only its parent can see that. The parent is in the new mount
 * namespace too (made private, so nothing propagates to the machine), and
 * the child dies with the parent, so a killed nsrun leaves nothing behind. */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

static int usage(void)
{
	fputs("usage: nsrun [--net] --status FILE ROOT PROGRAM [ARGS...]\n", stderr);
	return 2;
}

static void child(const char *root, char **argv)
{
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || chroot(root) < 0 || chdir("/") < 0) {
		fprintf(stderr, "nsrun: enter %s: %s\n", root, strerror(errno));
		_exit(126);
	}
	execv(argv[0], argv);
	fprintf(stderr, "nsrun: exec %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

static int write_status(const char *path, int status)
{
	FILE *f = fopen(path, "w");

	if (!f)
		return -1;
	if (WIFSIGNALED(status))
		fprintf(f, "signaled %d\n", WTERMSIG(status));
	else
		fprintf(f, "exited %d\n", WEXITSTATUS(status));
	return fclose(f);
}

int main(int argc, char **argv)
{
	int flags = CLONE_NEWPID | CLONE_NEWNS, i = 1, status;
	const char *status_path = NULL;
	pid_t pid;

	for (; i < argc && argv[i][0] == '-'; i++) {
		if (strcmp(argv[i], "--net") == 0)
			flags |= CLONE_NEWNET;
		else if (strcmp(argv[i], "--status") == 0 && i + 1 < argc)
			status_path = argv[++i];
		else
			return usage();
	}
	if (!status_path || argc - i < 2)
		return usage();
	if (unshare(flags) < 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
		fprintf(stderr, "nsrun: namespaces: %s\n", strerror(errno));
		return 125;
	}
	pid = fork();
	if (pid < 0) {
		perror("nsrun: fork");
		return 125;
	}
	if (pid == 0)
		child(argv[i], argv + i + 1);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			perror("nsrun: waitpid");
			return 125;
		}
	if (write_status(status_path, status) < 0) {
		perror("nsrun: status");
		return 125;
	}
	return 0;
}
