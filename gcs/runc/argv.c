/* argv of every runc invocation, in the order of spec §6.2. */
#include "runc/runc.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

static void push(struct runc_argv *a, const char *s)
{
	/* Callers push at most RUNC_ARGV_MAX strings (checked by the tests). */
	if (a->argc < RUNC_ARGV_MAX)
		a->argv[a->argc++] = s;
	a->argv[a->argc] = NULL;
}

/* The container id after "--": whatever it looks like, runc reads it as
 * the id, never as an option (ids are checked too: oci_spec.c). */
static void push_id(struct runc_argv *a, const char *id)
{
	push(a, "--");
	push(a, id);
}

/* runc [--root R] [--log <bundle>/runc.log --log-format json] */
static int begin(struct runc_argv *a, const struct runc_config *rc, const char *log_bundle)
{
	memset(a, 0, sizeof(*a));
	push(a, rc->runc);
	if (rc->root) {
		push(a, "--root");
		push(a, rc->root);
	}
	if (!log_bundle)
		return 0;
	if (snprintf(a->log, sizeof(a->log), "%s/runc.log", log_bundle) >= (int)sizeof(a->log))
		return -ENAMETOOLONG;
	push(a, "--log");
	push(a, a->log);
	push(a, "--log-format");
	push(a, "json");
	return 0;
}

int runc_argv_create(struct runc_argv *a, const struct runc_config *rc, const char *id,
		     const char *bundle, const char *pid_file, const char *console_socket)
{
	if (begin(a, rc, bundle) < 0)
		return -ENAMETOOLONG;
	push(a, "create");
	push(a, "-b");
	push(a, bundle);
	push(a, "--no-pivot");
	push(a, "--pid-file");
	push(a, pid_file);
	if (console_socket) {
		push(a, "--console-socket");
		push(a, console_socket);
	}
	push_id(a, id);
	return 0;
}

int runc_argv_start(struct runc_argv *a, const struct runc_config *rc, const char *id,
		    const char *bundle)
{
	if (begin(a, rc, bundle) < 0)
		return -ENAMETOOLONG;
	push(a, "start");
	push_id(a, id);
	return 0;
}

int runc_argv_exec(struct runc_argv *a, const struct runc_config *rc, const char *id,
		   const char *bundle, const char *process_json, const char *pid_file,
		   const char *console_socket)
{
	if (begin(a, rc, bundle) < 0)
		return -ENAMETOOLONG;
	push(a, "exec");
	push(a, "-d");
	push(a, "--process");
	push(a, process_json);
	push(a, "--pid-file");
	push(a, pid_file);
	if (console_socket) {
		push(a, "--console-socket");
		push(a, console_socket);
	}
	push_id(a, id);
	return 0;
}

int runc_argv_kill(struct runc_argv *a, const struct runc_config *rc, const char *id, int sig,
		   bool all)
{
	begin(a, rc, NULL);
	snprintf(a->sig, sizeof(a->sig), "%d", sig);
	push(a, "kill");
	if (all)
		push(a, "--all");
	push_id(a, id);
	push(a, a->sig);
	return 0;
}

int runc_argv_delete(struct runc_argv *a, const struct runc_config *rc, const char *id, bool force)
{
	begin(a, rc, NULL);
	push(a, "delete");
	if (force)
		push(a, "--force");
	push_id(a, id);
	return 0;
}

int runc_argv_ps(struct runc_argv *a, const struct runc_config *rc, const char *id)
{
	begin(a, rc, NULL);
	push(a, "ps");
	push(a, "-f");
	push(a, "json");
	push_id(a, id);
	return 0;
}

int runc_argv_update(struct runc_argv *a, const struct runc_config *rc, const char *id)
{
	begin(a, rc, NULL);
	push(a, "update");
	push(a, "--resources");
	push(a, "-");
	push_id(a, id);
	return 0;
}

int runc_argv_state(struct runc_argv *a, const struct runc_config *rc, const char *id)
{
	begin(a, rc, NULL);
	push(a, "state");
	push_id(a, id);
	return 0;
}
