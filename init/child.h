/* Children of PID 1: launching the command line hcsshim gave, and reaping
 * every process the kernel re-parents to init. */
#ifndef LCOW_INIT_CHILD_H
#define LCOW_INIT_CHILD_H

#include <stddef.h>
#include <sys/types.h>

#define INIT_CHILD_PATH "PATH=/sbin:/usr/sbin:/bin:/usr/bin"

/* Builds the child environment into envp (size n >= 4): PATH only, plus
 * LCOW_TRANSPORT and LCOW_FORBID_VSOCK when init has them. In the VM init
 * never has them; off-VM they are how a test keeps vsockexec, started by
 * init, on unix sockets and away from the build machine's vsock. */
void init_child_env(char **envp, size_t n);

/* Forks argv with all signals unblocked, in a session of its own, with envp
 * as its whole environment (PATH is searched as given there). Returns the
 * pid or a negative errno; exec failures make the child exit 127. */
pid_t init_launch(char *const argv[], char *const envp[]);

/* Blocks in wait() reaping every child, orphans included, until primary
 * exits; other exits of a launched child are logged. Returns primary's wait
 * status, or -1 if there is nothing left to wait for. */
int init_reap_until(pid_t primary, pid_t other);

/* Exit code of a wait status: the code, or 128 + the signal number. */
int init_exit_code(int status);

#endif
