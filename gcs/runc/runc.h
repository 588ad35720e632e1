/* Running containers with runc (spec §6.2): argv construction in the exact
 * order of the spec, running runc (it is exec'd, never linked), turning its
 * errors into struct error kinds, pid files and console sockets.
 *
 * Every function may block for as long as runc runs (tens of ms) and is
 * thread-safe: nothing is shared between calls but the read-only config.
 * Nothing here waits with waitpid(-1): runc children are waited for through
 * runc_config.wait_child, which the GCS points at its reaper. */
#ifndef GCS_RUNC_RUNC_H
#define GCS_RUNC_RUNC_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "error.h"

struct runc_config {
	const char *runc; /* path of the runc binary (runc_find() looks it up) */
	/* runc --root state directory; NULL leaves runc's default (/run/runc).
	 * Tests use a private one. */
	const char *root;
	/* Parent of the private per-call directories holding the pid file,
	 * console socket and process.json, e.g. "/run/gcsrunc". Keep it short:
	 * a unix socket path is at most 107 bytes. */
	const char *tmp_dir;
	/* The GCS reaps every child with one waitpid(-1) loop (it is a child
	 * subreaper), so runc's children are forked and waited for through
	 * these hooks (gcs/core/loop.h: loop_child_begin, loop_child_end,
	 * loop_child_wait). child_begin runs before fork() and child_end(pid)
	 * right after it in the parent (pid -1 if fork failed); wait_child blocks until pid exited and
	 * stores its wait status (also when it exited before the call).
	 * All NULL: plain waitpid(pid) (tests, tools without a reaper). */
	void (*child_begin)(void *ctx);
	void (*child_end)(void *ctx, pid_t pid);
	int (*wait_child)(pid_t pid, int *status, void *ctx);
	void *wait_ctx; /* passed to all three */
};

/* Finds `runc` on PATH (or the fallbacks /usr/bin, /usr/sbin, /bin, /sbin)
 * and stores its absolute path. */
int runc_find(char *buf, size_t size, struct error *e);

/* ---- argv (exposed so that tests can check the exact order) -------------- */

#define RUNC_ARGV_MAX 24

struct runc_argv {
	const char *argv[RUNC_ARGV_MAX + 1]; /* NULL-terminated */
	int argc;
	char log[PATH_MAX]; /* "<bundle>/runc.log" when --log is used, else "" */
	char sig[16];
};

/* runc [--root R] --log <b>/runc.log --log-format json create -b <b> --no-pivot
 *      --pid-file <pid_file> [--console-socket <sock>] <id> */
int runc_argv_create(struct runc_argv *a, const struct runc_config *rc, const char *id,
		     const char *bundle, const char *pid_file, const char *console_socket);
/* runc [--root R] --log <b>/runc.log --log-format json start <id> */
int runc_argv_start(struct runc_argv *a, const struct runc_config *rc, const char *id,
		    const char *bundle);
/* runc [--root R] --log <b>/runc.log --log-format json exec -d --process <p>
 *      --pid-file <pid_file> [--console-socket <sock>] <id> */
int runc_argv_exec(struct runc_argv *a, const struct runc_config *rc, const char *id,
		   const char *bundle, const char *process_json, const char *pid_file,
		   const char *console_socket);
/* runc [--root R] kill [--all] <id> <sig> */
int runc_argv_kill(struct runc_argv *a, const struct runc_config *rc, const char *id, int sig,
		   bool all);
/* runc [--root R] delete [--force] <id> */
int runc_argv_delete(struct runc_argv *a, const struct runc_config *rc, const char *id, bool force);
/* runc [--root R] ps -f json <id> */
int runc_argv_ps(struct runc_argv *a, const struct runc_config *rc, const char *id);
/* runc [--root R] update --resources - <id> */
int runc_argv_update(struct runc_argv *a, const struct runc_config *rc, const char *id);
/* runc [--root R] state <id> */
int runc_argv_state(struct runc_argv *a, const struct runc_config *rc, const char *id);

/* ---- errors --------------------------------------------------------------- */

/* The kind of a runc error text (§6.2): "container ... does not exist" ->
 * ERR_NO_CONTAINER, "container with id exists"/"already exists" ->
 * ERR_EXISTS, invalid id -> ERR_INVALID_ARG, "not stopped"/"still running" ->
 * ERR_INVALID_STATE, "not running" -> ERR_ALREADY_STOPPED, else ERR_FAIL. */
enum error_kind runc_error_kind(const char *msg);

/* The msg of the last entry of level error, fatal or panic in a runc
 * `--log-format json` log; returns true when there is one. */
bool runc_log_last_error(const char *log, size_t len, char *msg, size_t size);

/* The error message in runc's stderr: the msg="..." of the last logrus line
 * of level error/fatal/panic, else the last non-empty line. */
bool runc_stderr_message(const char *text, size_t len, char *msg, size_t size);

/* ---- running runc ---------------------------------------------------------- */

struct runc_run {
	/* fds runc gets as 0, 1, 2 (-1 = /dev/null). When NULL, stdin is
	 * `input` and stdout is captured into `out`. stderr is always captured
	 * unless stdio[2] is given. */
	const int *stdio;
	const char *input;
	size_t input_len;
	char *out; /* captured stdout, NUL-terminated, malloc'ed (free it) */
	size_t out_len;
};

/* Runs runc with a's argv and waits for it. A non-zero exit becomes an error
 * whose text is the last error of the new part of a->log (when --log was
 * used) or runc's stderr, and whose kind is runc_error_kind() of that text. */
int runc_run(const struct runc_config *rc, const struct runc_argv *a, struct runc_run *r,
	     struct error *e);

/* Wall time in ns the calling thread has spent in runc commands, each from
 * just before it is spawned to its reaping, summed over the thread's life:
 * a caller subtracts two readings taken around its runc calls (a job runs
 * on one thread). This is runc's own time, which the gcs can only wait
 * for; what a request costs beyond it is the gcs's. Two clock_gettime per
 * command, nothing else. */
uint64_t runc_thread_ns(void);

/* Reads runc's --pid-file. */
int runc_read_pid_file(const char *path, pid_t *pid, struct error *e);

/* ---- console socket ---------------------------------------------------------- */

/* Listens on a new unix socket at path (for --console-socket). */
int runc_console_listen(const char *path, struct error *e);

/* Accepts one connection on the listening socket (waiting at most
 * timeout_ms) and receives exactly one fd, the pty master, over SCM_RIGHTS.
 * Any other number of fds is an error (all received fds are closed). */
int runc_console_recv(int listen_fd, int timeout_ms, int *master, struct error *e);

/* ---- operations -------------------------------------------------------------- */

struct runc_proc {
	pid_t pid;	/* in the UVM's pid namespace */
	int pty_master; /* terminal processes: the pty master (CLOEXEC), else -1 */
};

/* runc create: config.json must already be in the bundle. stdio are the fds
 * the container's init gets as 0, 1, 2 (ignored with a terminal: the pty is
 * returned in out->pty_master). The init waits for runc_start(). */
int runc_create(const struct runc_config *rc, const char *id, const char *bundle,
		const int stdio[3], bool terminal, struct runc_proc *out, struct error *e);

int runc_start(const struct runc_config *rc, const char *id, const char *bundle, struct error *e);

/* runc exec -d of a prepared OciProcess (oci_process_prepare()); writes
 * process.json into a private directory. With process.terminal the pty
 * master comes back in out->pty_master and stdio is not used. */
int runc_exec(const struct runc_config *rc, const char *id, const char *bundle,
	      struct json_object *process, const int stdio[3], struct runc_proc *out,
	      struct error *e);

/* runc kill <id> <sig>, or with all: runc kill --all <id> <sig>. */
int runc_kill(const struct runc_config *rc, const char *id, int sig, bool all, struct error *e);

/* runc delete <id> (force: --force, which also kills a running container). */
int runc_delete(const struct runc_config *rc, const char *id, bool force, struct error *e);

/* runc ps -f json <id>: the pids of the container (malloc'ed array). */
int runc_ps(const struct runc_config *rc, const char *id, pid_t **pids, size_t *n, struct error *e);

/* runc update --resources - <id> with an OCI LinuxResources JSON text. */
int runc_update(const struct runc_config *rc, const char *id, const char *resources_json,
		struct error *e);

struct runc_state {
	char status[16]; /* "created", "running", "paused", "stopped" */
	pid_t pid;	 /* 0 once stopped */
};

int runc_state(const struct runc_config *rc, const char *id, struct runc_state *st,
	       struct error *e);

#endif
