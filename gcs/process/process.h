/* Starting processes: the executable's lookup on PATH, the pty pair of a
 * console, and fork/exec with a clean signal state, its own session and the
 * given stdio. Used for the processes the host runs in the utility VM
 * (gcs/process/uvm.h); nothing here knows about the bridge. */
#ifndef GCS_PROCESS_PROCESS_H
#define GCS_PROCESS_PROCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct loop;

/* The search path when the gcs has no PATH of its own. */
#define PROCESS_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* Resolves argv[0] as exec does: a name containing '/' is used as it is
 * (relative to the child's working directory); a bare name is searched in
 * the absolute directories of `path` (NULL or "": PROCESS_DEFAULT_PATH) for
 * a regular file with an execute bit. Empty and relative PATH entries are
 * skipped: a lookup relative to the gcs's own directory would be an
 * accident. Not found: ERR_FAIL, ENOENT, "executable file not found in
 * $PATH", as Go's exec.LookPath says. */
int process_find_executable(const char *name, const char *path, char *out, size_t size,
			    struct error *err);

/* A new pty pair: the master (O_NONBLOCK-free, CLOEXEC, O_NOCTTY: the gcs
 * never acquires a controlling terminal, so no pty hang-up can signal it)
 * and the slave (CLOEXEC, O_NOCTTY, mode 0600, owner 0:0). rows/cols of 0
 * leave the kernel's default size. */
int process_pty_open(int *master, int *slave, unsigned rows, unsigned cols, struct error *err);

/* TIOCSWINSZ on a pty master: the foreground process group gets SIGWINCH.
 * rows and cols must fit the 16-bit winsize fields (ERR_INVALID_ARG). */
int process_pty_resize(int master, uint32_t rows, uint32_t cols, struct error *err);

/* ResizeConsole (spec §3.7) on the record of process pid: ERR_FAIL ENOTTY
 * when it was started without a console; a no-op once its console is gone
 * (console < 0: the process is complete, as the reference's closed relay
 * answers); else process_pty_resize(), its error prefixed "ResizeConsole". */
int process_console_resize(pid_t pid, bool had_console, int console, uint32_t rows, uint32_t cols,
			   struct error *err);

struct process_spawn {
	const char *path;  /* the executable (process_find_executable()) */
	char *const *argv; /* NULL-terminated, argv[0] included */
	char *const *envp; /* NULL-terminated: exactly the child's environment */
	const char *cwd;   /* NULL or "": the gcs's working directory */
	int stdio[3];	   /* the child's fds 0, 1, 2; -1: /dev/null */
	int ctty;	   /* >= 0: this tty becomes the controlling terminal */
};

/* Forks and execs. The child gets default signal dispositions and an empty
 * signal mask (the gcs ignores SIGPIPE and blocks SIGCHLD and friends; a
 * child must not inherit that), its own session (setsid; with ctty its
 * controlling terminal), stdio, cwd, and no other fd of the gcs.
 *
 * Blocks until the child has exec'd or failed, so call it from a worker
 * (loop_job). With a loop, the fork is bracketed by loop_child_begin/end and
 * a child that failed before exec is collected with loop_child_wait (workers
 * only); without one (tests, tools) with waitpid. A failure before exec is
 * returned as an error naming the step ("exec /bin/x: Permission denied",
 * "chdir /nope: No such file or directory") and leaves no process behind. */
int process_spawn(struct loop *l, const struct process_spawn *s, pid_t *pid, struct error *err);

/* The exit code the host expects for a UVM process (spec §3.5, §6.4): the
 * exit status, or 0xFFFFFFFF (Go's ExitCode() of -1, what hcsshim's
 * reference reports) when a signal killed it. */
uint32_t process_uvm_exit_code(int wait_status);

#endif
