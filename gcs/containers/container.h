/* Containers run through runc (spec §3.2-3.9, §3.12, §3.14, §6): the
 * container table and its state machine, shared by the files of this
 * folder, and the operations a front end (gcs/handlers/container.c) calls.
 * Loop thread only, except where a function says it runs in a job.
 *
 * A container's life:
 *
 *   CREATING --runc create ok--> CREATED --ExecuteProcess (init)--> STARTING
 *       |                           |                                  |
 *       | failure: forgotten,       | init dies before start           | runc start ok
 *       v no notification           v                                  v
 *                                 EXITED <---- init complete ------- RUNNING
 *
 * "Complete" for a process (init or exec'd) means reaped, every byte of its
 * stdout/stderr delivered and half-closed (§6.3), and for the init also
 * `runc kill --all` done when the container shares the UVM's pid namespace
 * and the OOM count read. Then the front end hears of it (container_events)
 * and answers its waits; for the init, once its exit code has been
 * collected (or when the init was never started, so no wait will come)
 * exactly one notification goes out (§3.14), never after a
 * DeleteContainerState and never for a failed Create.
 *
 * A container is freed when it has left the table (DeleteContainerState or a
 * failed Create) and no job refers to it any more (refs). */
#ifndef GCS_CONTAINER_H
#define GCS_CONTAINER_H

#include <limits.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>
#include <json-c/printbuf.h>

#include "cgroups/cgroup.h"
#include "error.h"
#include "gcs.h"
#include "gcs.pb-c.h"
#include "containers/oci_spec.h"
#include "cgroups/oom.h"
#include "core/op.h"
#include "runc/runc.h"

struct relay;
struct loop_watch;

/* ---- the runtime's configuration (runtime.c) --------------------- */

enum container_parent {
	PARENT_PODS,	   /* HEAD hosts: /pods, per-pod sub-cgroups */
	PARENT_CONTAINERS, /* v0.11 hosts: /containers/<id> */
	PARENT_COUNT
};

/* At start-up, on the loop thread: finds runc, sets up the cgroup parents
 * and the memory-limit refresh. A failure only disables containers (logged;
 * the gcs still serves the UVM's own processes): returns 0. */
int container_runtime_start(struct gcs *g, struct error *err);
/* 0 when containers can be run, else ERR_FAIL saying why not (no runc, no
 * usable cgroups, an off-VM gcs without LCOW_CGROUP_PREFIX). */
int container_runtime_check(struct error *err);
const struct runc_config *container_runc(void);
/* Which parent a Create goes under (HEAD or v0.11 layout); see the file. */
enum container_parent container_choose_parent(struct json_object *spec, const char *bundle);
/* The cgroup configuration of a parent, setting the parent up on first use
 * (thread-safe: called from jobs). */
int container_cgroup(enum container_parent p, const struct cgroup_config **out, struct error *e);
/* Every parent set up so far gets TotalRAM - reserve again (memory hot-add).
 * Blocking (a lower limit makes the kernel reclaim): jobs only. */
int container_refresh_limits(struct error *e);
/* OciBundlePath: absolute, no "..", below an allowed root (/run/gcs/c,
 * /run/gcs/pods, plus LCOW_BUNDLE_ROOTS), no symlink on the way.
 * ScratchDirPath: the same, where /run/mounts (and LCOW_SCRATCH_ROOTS) are
 * allowed too. Blocking (lstat): jobs only. */
int container_bundle_check(const char *path, char *out, size_t size, struct error *e);
int container_scratch_check(const char *path, char *out, size_t size, struct error *e);

/* ---- what the runtime reports (table.c) ----------------------------- */

/* The container's one exit notification (§3.14). */
struct container_exit_report {
	const char *id;
	const char *activity_id; /* the Create's, NULL when it had none */
	const char *type;	 /* CONTAINER_EXIT_* */
	int32_t result;		 /* the init's exit code */
	const char *result_info; /* JSON, "" when there is nothing to say */
};

/* Set once by the front end (the handlers), before any container exists;
 * every callback runs on the loop thread. */
struct container_events {
	/* A process is complete (§6.3) with this exit code; it was reaped at
	 * reaped_ns (loop_now_ns()). True when the code was delivered to
	 * someone (a wait answered): the runtime then calls cproc_collected()
	 * itself. */
	bool (*process_complete)(void *data, const char *cid, pid_t pid, uint32_t exitcode,
				 uint64_t reaped_ns);
	/* A process left with its container (DeleteContainerState) before
	 * its exit code was collected; why: "its container was deleted". */
	void (*process_gone)(void *data, const char *cid, pid_t pid, const char *why);
	void (*exited)(void *data, const struct container_exit_report *r);
	void *data;
};

void container_events_set(const struct container_events *ev);
/* The events set (callbacks NULL when none was). */
const struct container_events *container_events(void);

/* ---- the table (table.c) ------------------------------------------ */

enum container_state {
	CONTAINER_CREATING,
	CONTAINER_CREATED,
	CONTAINER_STARTING,
	CONTAINER_RUNNING,
	CONTAINER_EXITED,
};

#define CONTAINER_EXIT_UNEXPECTED "UnexpectedExit"
#define CONTAINER_EXIT_GRACEFUL "GracefulExit"
#define CONTAINER_EXIT_FORCED "ForcedExit"

/* A process of a container: its init or an exec'd one. */
struct cproc {
	struct container *c;
	pid_t pid;
	bool is_init;
	bool started;	     /* relays attached (init: runc start done) */
	bool watched;	     /* loop_child_watch() is on */
	bool reaped;	     /* status is valid */
	int status;	     /* wait status */
	uint64_t reaped_ns;  /* loop_now_ns() when it was reaped */
	bool post_exit_done; /* init: kill --all and OOM count done */
	bool complete;
	bool answered; /* a WaitForProcess got the exit code */
	bool had_console;
	int console; /* pty master (ResizeConsole) until complete, else -1 */
	struct relay *in;
	struct relay *out[2];
	unsigned outputs; /* output relays still running */
	uint64_t started_ms;
	struct cproc *next;
};

struct container {
	char id[OCI_ID_MAX];
	char activity_id[40]; /* the Create's ActivityId, "" when none */
	struct gcs *gcs;
	enum container_state state;
	unsigned refs;	    /* the table's + one per job in flight */
	bool in_table;	    /* not yet forgotten */
	bool deleting;	    /* DeleteContainerState in flight */
	enum oci_kind kind; /* standalone, CRI sandbox, CRI workload */
	char sandbox_id[OCI_ID_MAX];
	char bundle[PATH_MAX];
	char scratch[PATH_MAX]; /* "" when the host sent none */
	enum container_parent parent;
	const struct cgroup_config *cg;
	struct json_object *spec; /* as written to config.json */
	struct oci_prepared prep;
	/* The gcs's ends of the init's stdio made at create time: the stdin
	 * pipe's write end, the stdout and stderr pipes' read ends; or, for a
	 * terminal, the pty master in [1]. -1 once handed to a relay. */
	int init_io[3];
	struct cproc *init;
	struct cproc *procs; /* init included */
	const char *exit_type;
	unsigned kills_in_flight; /* Shutdown's runc kill of the init */
	bool notified;
	uint64_t oom_base;  /* the cgroup's OOM kill count after create */
	uint64_t oom_kills; /* kills since, read after the init exited */
	struct oom_watch oomw;
	struct loop_watch *oom_watch;
	uint64_t created_ms;
	struct container *next;
};

/* The live container with that id, or NULL. */
struct container *container_find(const char *id);
/* container_find with the errors the host expects: unknown id
 * ERR_NO_CONTAINER (0xC037010E), still creating or being deleted
 * ERR_INVALID_STATE (0x80370105). `what` names the request. */
int container_get(const char *id, const char *what, struct container **out, struct error *err);
/* Registers a new container in state CREATING (ERR_EXISTS if the id is in
 * use), holding the table's reference. */
int container_add(struct gcs *g, const char *id, const char *activity_id, struct container **out,
		  struct error *err);
void container_ref(struct container *c);
void container_put(struct container *c);
/* Leaves the table: cancels relays, fails pending waits, stops watching
 * pids, closes fds; no notification will be sent any more. */
void container_forget(struct container *c);
unsigned container_count(void);
void container_describe(struct gcs *g, struct printbuf *pb);

/* ---- processes (process.c) ----------------------------------------- */

/* The fds of a process's stdio as the relays take them (all -1 when unused):
 * conn[i] the dialled host connections; in_dst what conn[0] is copied into;
 * out_src[0/1] what is copied to conn[1]/conn[2] (a pty master with no
 * stdout connection is read and dropped); console the pty master kept for
 * ResizeConsole. */
struct cstdio {
	int conn[3];
	int in_dst;
	int out_src[2];
	int console;
};

#define CSTDIO_INIT                                                                                \
	{                                                                                          \
		.conn = {-1, -1, -1}, .in_dst = -1, .out_src = {-1, -1}, .console = -1             \
	}

/* What ExecuteProcess asks for: CreateStd*Pipe and their ports. */
struct cstdio_req {
	bool want[3];
	uint32_t port[3];
};

/* Reads the request (a wanted stream without a port is ERR_INVALID_ARG). */
int cstdio_request(const Gcs__ExecuteProcessSettings *s, struct cstdio_req *r, struct error *err);
/* Worker threads: dials the wanted streams' ports (§3.4: before the process
 * starts). On failure the connections made are closed. */
int cstdio_dial(struct gcs *g, const struct cstdio_req *r, int conn[3], struct error *err);
/* A pipe per dialled stream of a non-terminal exec: child[i] is what the
 * process gets as fd i (-1: /dev/null), the other ends go into io. */
int cstdio_pipes(struct cstdio *io, int child[3], struct error *err);
void cstdio_close(struct cstdio *io);
void cstdio_close_fds(int *fds, int n);

/* A new process record (not yet started). NULL when out of memory. */
struct cproc *cproc_new(struct container *c, pid_t pid, bool is_init);
/* Starts the relays, taking every fd in io (closed on failure). */
int cproc_attach(struct cproc *p, struct cstdio *io, struct error *err);
/* Watches the pid's exit (the init: from create on). */
int cproc_watch(struct cproc *p, struct error *err);
struct cproc *cproc_find(struct container *c, pid_t pid);
/* Completes the process when everything it waits for is done. */
void cproc_check_complete(struct cproc *p);
/* Frees a process record (unlinked, no waiters left). */
void cproc_free(struct cproc *p);
/* 128+signal for a signal death, else the exit status (§6.4). */
uint32_t cproc_exit_code(const struct cproc *p);

/* The exit code of a complete process was delivered (a WaitForProcess
 * answered): an exec'd process is forgotten (the reference's behaviour),
 * the init stays queryable while the container exists and its notification
 * may now go out. */
void cproc_collected(struct cproc *p);
/* Whether pid of c is complete and its exit code (cproc_exit_code);
 * -ESRCH when it is no process of c. */
int cproc_exit_status(struct container *c, pid_t pid, bool *complete, uint32_t *exitcode);

/* ---- the init's exit and the notification (exit.c) ----------------- */

/* The init was reaped: runs `runc kill --all` when the pid namespace is
 * shared and reads the OOM count, then lets the init complete. */
void container_init_exited(struct container *c);
/* Called when the init completed or got its first answered wait, or when a
 * Shutdown's kill finished: sends the one notification when due. */
void container_maybe_notify(struct container *c);
/* Watches the container's cgroup for OOM kills and logs them with the id. */
void container_oom_watch_start(struct container *c);
void container_oom_watch_stop(struct container *c);

/* ---- operations (create.c, start.c, delete.c, properties.c) ----------------- */

/* Each finishes through done (gcs/core/op.h) with the result named, or
 * returns a negative errno (err set) and never calls it. Error messages
 * name the request they serve ("Create <id>: ...") for the host's log. */

/* Create (spec §3.2): cfg is ContainerConfig, spec its OciSpecification
 * (NULL or not an object: ERR_INVALID_ARG). No result. */
int container_create(struct gcs *g, const char *id, const char *activity_id,
		     const Gcs__VMHostedContainerSettingsV2 *cfg, struct json_object *spec,
		     const struct op_done *done, struct error *err);
/* ExecuteProcess on a container (§3.4 cases 2 and 3): oci_process NULL
 * starts the init, else runc exec. Result: const pid_t *. */
int container_execute(struct gcs *g, const char *id, const Gcs__ExecuteProcessSettings *s,
		      struct json_object *oci_process, const struct op_done *done,
		      struct error *err);
/* ShutdownGraceful (SIGTERM) / ShutdownForced (SIGKILL) of the init
 * through runc kill (§3.8). No result. */
int container_shutdown(struct gcs *g, const char *id, int sig, const struct op_done *done,
		       struct error *err);
/* DeleteContainerState (§3.12). No result. */
int container_delete(struct gcs *g, const char *id, const struct op_done *done, struct error *err);

/* GetProperties (§3.9). Result: const struct container_props *, valid
 * during the call; with neither wanted it is empty at once. */
struct container_props {
	bool has_pids;	      /* ProcessList was wanted */
	const uint32_t *pids; /* runc's and the tracked exec'd ones, capped */
	size_t n_pids;
	struct json_object *metrics; /* Statistics, NULL when not wanted */
};
int container_properties(struct gcs *g, const char *id, bool want_pids, bool want_stats,
			 const struct op_done *done, struct error *err);
/* ContainerConstraints (§3.10.8): runc update with linux_resources (NULL:
 * nothing to change, done at once). No result. */
int container_update_constraints(struct gcs *g, const char *id, struct json_object *linux_resources,
				 const struct op_done *done, struct error *err);
/* PodCgroupMemoryLimit (§3.10.9): every pod parent gets the UVM's memory
 * again. No result. */
int container_pod_memory_limit(struct gcs *g, const struct op_done *done, struct error *err);

/* SignalProcess on a process of container c (§3.6): kill(2) directly;
 * SIGTERM / SIGKILL to the init decide the exit type the notification
 * reports. -ESRCH (no message) when pid is not a live process of c. */
int container_signal_process(struct container *c, pid_t pid, int sig, struct error *err);
/* ResizeConsole on a process of c (§3.7). -ESRCH (no message) when pid is
 * not a process of c. */
int container_resize_console(struct container *c, pid_t pid, uint32_t rows, uint32_t cols,
			     struct error *err);

#endif
