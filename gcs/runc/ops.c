/* The runc operations the bridge handlers use (spec §6.2). */
#include "runc/runc.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/json_file.h"

/* runc has written the pid file and sent the pty before it exits, so this
 * only bounds a runc that exited 0 without connecting. */
#define CONSOLE_TIMEOUT_MS 5000

/* A private directory for one call's pid file, console socket and
 * process.json, so that concurrent calls never share a path. */
struct call_dir {
	char dir[PATH_MAX - 32];
	char pid_file[PATH_MAX];
	char socket[PATH_MAX];
	char process[PATH_MAX];
};

static int call_dir_make(const struct runc_config *rc, struct call_dir *d, struct error *e)
{
	const char *base = rc->tmp_dir ? rc->tmp_dir : "/run/gcsrunc";

	if (mkdir(base, 0700) < 0 && errno != EEXIST)
		return error_errno(e, errno, "create %s", base);
	if (snprintf(d->dir, sizeof(d->dir), "%s/runc-XXXXXX", base) >= (int)sizeof(d->dir) ||
	    !mkdtemp(d->dir))
		return error_errno(e, errno ? errno : ENAMETOOLONG, "create a directory in %s",
				   base);
	snprintf(d->pid_file, sizeof(d->pid_file), "%s/pid", d->dir);
	snprintf(d->socket, sizeof(d->socket), "%s/master.sock", d->dir);
	snprintf(d->process, sizeof(d->process), "%s/process.json", d->dir);
	return 0;
}

static void call_dir_remove(struct call_dir *d)
{
	unlink(d->pid_file);
	unlink(d->socket);
	unlink(d->process);
	rmdir(d->dir);
}

static int run_simple(const struct runc_config *rc, const struct runc_argv *a, struct error *e)
{
	struct runc_run r = {0};
	int rc_run = runc_run(rc, a, &r, e);

	free(r.out);
	return rc_run;
}

/* Runs a create or exec argv, then collects the pid and the pty master. */
static int run_spawning(const struct runc_config *rc, const struct runc_argv *a,
			const struct call_dir *d, const int stdio[3], int listen_fd,
			struct runc_proc *out, struct error *e)
{
	const int none[3] = {-1, -1, -1};
	struct runc_run r = {.stdio = listen_fd >= 0 || !stdio ? none : stdio};
	int rc_run;

	rc_run = runc_run(rc, a, &r, e);
	free(r.out);
	if (rc_run < 0)
		return rc_run;
	rc_run = runc_read_pid_file(d->pid_file, &out->pid, e);
	if (rc_run == 0 && listen_fd >= 0)
		rc_run = runc_console_recv(listen_fd, CONSOLE_TIMEOUT_MS, &out->pty_master, e);
	return rc_run;
}

int runc_create(const struct runc_config *rc, const char *id, const char *bundle,
		const int stdio[3], bool terminal, struct runc_proc *out, struct error *e)
{
	_cleanup_close_ int listen_fd = -1;
	struct runc_argv a;
	struct call_dir d;
	struct error ignored;
	int rc_op;

	out->pid = 0;
	out->pty_master = -1;
	rc_op = call_dir_make(rc, &d, e);
	if (rc_op < 0)
		return rc_op;
	if (terminal && (listen_fd = runc_console_listen(d.socket, e)) < 0) {
		rc_op = listen_fd;
		goto out;
	}
	if (runc_argv_create(&a, rc, id, bundle, d.pid_file, terminal ? d.socket : NULL) < 0) {
		rc_op = error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "bundle path too long");
		goto out;
	}
	rc_op = run_spawning(rc, &a, &d, stdio, listen_fd, out, e);
	/* runc created the container but we cannot use it: do not leave it. */
	if (rc_op < 0 && out->pid > 0)
		runc_delete(rc, id, true, &ignored);
	if (rc_op < 0)
		out->pid = 0;
out:
	call_dir_remove(&d);
	return rc_op;
}

int runc_start(const struct runc_config *rc, const char *id, const char *bundle, struct error *e)
{
	struct runc_argv a;

	if (runc_argv_start(&a, rc, id, bundle) < 0)
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "bundle path too long");
	return run_simple(rc, &a, e);
}

int runc_exec(const struct runc_config *rc, const char *id, const char *bundle,
	      struct json_object *process, const int stdio[3], struct runc_proc *out,
	      struct error *e)
{
	_cleanup_close_ int listen_fd = -1;
	struct json_object *t;
	struct runc_argv a;
	struct call_dir d;
	int rc_op;
	/* runc wants --console-socket exactly when the process has a tty. */
	bool terminal = json_object_object_get_ex(process, "terminal", &t) &&
			json_object_is_type(t, json_type_boolean) && json_object_get_boolean(t);

	out->pid = 0;
	out->pty_master = -1;
	rc_op = call_dir_make(rc, &d, e);
	if (rc_op < 0)
		return rc_op;
	rc_op = json_file_write(d.process, process, e);
	if (rc_op < 0)
		goto out;
	if (terminal && (listen_fd = runc_console_listen(d.socket, e)) < 0) {
		rc_op = listen_fd;
		goto out;
	}
	if (runc_argv_exec(&a, rc, id, bundle, d.process, d.pid_file, terminal ? d.socket : NULL) <
	    0) {
		rc_op = error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "bundle path too long");
		goto out;
	}
	rc_op = run_spawning(rc, &a, &d, stdio, listen_fd, out, e);
	if (rc_op < 0 && out->pid > 0) {
		/* The process runs but its pty never arrived: it is unusable. */
		kill(out->pid, SIGKILL);
		out->pid = 0;
	}
out:
	call_dir_remove(&d);
	return rc_op;
}

int runc_kill(const struct runc_config *rc, const char *id, int sig, bool all, struct error *e)
{
	struct runc_argv a;

	runc_argv_kill(&a, rc, id, sig, all);
	return run_simple(rc, &a, e);
}

int runc_delete(const struct runc_config *rc, const char *id, bool force, struct error *e)
{
	struct runc_argv a;

	runc_argv_delete(&a, rc, id, force);
	return run_simple(rc, &a, e);
}

static int run_capture(const struct runc_config *rc, const struct runc_argv *a,
		       struct json_object **out, struct error *e)
{
	struct runc_run r = {0};
	int rc_run = runc_run(rc, a, &r, e);

	*out = NULL;
	if (rc_run == 0) {
		rc_run = json_text_parse(r.out, r.out_len, out, e);
		if (rc_run < 0)
			error_prefix(e, "output of runc %s", a->argv[a->argc - 1]);
	}
	free(r.out);
	return rc_run;
}

int runc_ps(const struct runc_config *rc, const char *id, pid_t **pids, size_t *n, struct error *e)
{
	struct json_object *arr;
	struct runc_argv a;
	size_t len;
	int rc_op;

	*pids = NULL;
	*n = 0;
	runc_argv_ps(&a, rc, id);
	rc_op = run_capture(rc, &a, &arr, e);
	if (rc_op < 0)
		return rc_op;
	/* A container without processes prints "null". */
	if (!arr) {
		*pids = calloc(1, sizeof(pid_t));
		return *pids ? 0 : error_set(e, ERR_FAIL, ENOMEM, "runc ps: out of memory");
	}
	if (!json_object_is_type(arr, json_type_array)) {
		json_object_put(arr);
		return error_set(e, ERR_FAIL, EPROTO, "runc ps %s: output is not an array", id);
	}
	len = json_object_array_length(arr);
	*pids = calloc(len ? len : 1, sizeof(pid_t));
	if (!*pids) {
		json_object_put(arr);
		return error_set(e, ERR_FAIL, ENOMEM, "runc ps: out of memory");
	}
	for (size_t i = 0; i < len; i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);

		if (json_object_is_type(v, json_type_int))
			(*pids)[(*n)++] = (pid_t)json_object_get_int64(v);
	}
	json_object_put(arr);
	return 0;
}

int runc_update(const struct runc_config *rc, const char *id, const char *resources_json,
		struct error *e)
{
	struct runc_run r = {.input = resources_json, .input_len = strlen(resources_json)};
	struct runc_argv a;
	int rc_op;

	runc_argv_update(&a, rc, id);
	rc_op = runc_run(rc, &a, &r, e);
	free(r.out);
	return rc_op;
}

int runc_state(const struct runc_config *rc, const char *id, struct runc_state *st, struct error *e)
{
	struct json_object *o, *v;
	struct runc_argv a;
	int rc_op;

	memset(st, 0, sizeof(*st));
	runc_argv_state(&a, rc, id);
	rc_op = run_capture(rc, &a, &o, e);
	if (rc_op < 0)
		return rc_op;
	if (!json_object_object_get_ex(o, "status", &v) ||
	    !json_object_is_type(v, json_type_string)) {
		json_object_put(o);
		return error_set(e, ERR_FAIL, EPROTO, "runc state %s: no status", id);
	}
	snprintf(st->status, sizeof(st->status), "%s", json_object_get_string(v));
	if (json_object_object_get_ex(o, "pid", &v))
		st->pid = (pid_t)json_object_get_int64(v);
	json_object_put(o);
	return 0;
}
