/* The processes the host started in the utility VM itself (spec §3.4 case 1,
 * §3.5-3.7, §3.9 ProcessList): a table keyed by pid, their relays, their
 * exit. Loop thread only.
 *
 * A process is complete once it is reaped and its stdout/stderr relays have
 * delivered everything and half-closed the connections (spec §6.3). Then
 * the listener hears of it; a process is forgotten once its exit code has
 * been collected (later lookups: not found), and kept until then, however
 * long that takes. */
#ifndef GCS_PROCESS_UVM_H
#define GCS_PROCESS_UVM_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/printbuf.h>

#include "core/arena.h"
#include "error.h"
#include "gcs.h"
#include "process/exec.h"
#include "core/op.h"
#include "gcs.pb-c.h"

/* Starts a process as ExecuteProcess asks (s: its ProcessParameters), in a
 * job: resolves the executable, dials the stdio ports (before the process
 * starts, §3.4), makes the pipes or pty, spawns, and adds it to the table.
 * done's result: const pid_t *. Nobody wanting the result any more kills the
 * process. */
int uvm_process_start(struct gcs *g, const Gcs__ExecuteProcessSettings *s,
		      const struct op_done *done, struct error *err);

/* The listener hears of every process that becomes complete; it returns
 * true when it delivered the exit code (the process is then forgotten). */
typedef bool (*uvm_process_complete_fn)(void *data, pid_t pid, uint32_t exitcode,
					uint64_t reaped_ns);
void uvm_process_set_listener(uvm_process_complete_fn fn, void *data);

/* Whether pid is complete and its exit code (process_uvm_exit_code).
 * -ESRCH when pid is no process the host may still ask about. */
int uvm_process_exit_status(pid_t pid, bool *complete, uint32_t *exitcode);
/* The exit code of the complete process pid was delivered: forget it. */
void uvm_process_collected(pid_t pid);

/* kill(2) on a running process the gcs started (-ESRCH without a message
 * otherwise: a reaped pid may be someone else's by now). */
int uvm_process_signal(pid_t pid, int sig, struct error *err);
/* ResizeConsole on pid's console (-ESRCH without a message when unknown). */
int uvm_process_resize(pid_t pid, uint32_t rows, uint32_t cols, struct error *err);

/* Adds a started process: watches its exit and starts its relays, taking
 * every fd left in io. On failure the process is killed (and still reaped
 * and forgotten), io is closed, and the error returned. */
int uvm_process_add(struct gcs *g, pid_t pid, const char *name, struct uvm_stdio *io,
		    struct error *err);

/* True while pid is a UVM process the gcs started and has not reaped. */
bool uvm_process_running(pid_t pid);

/* Pids of the running UVM processes (GetProperties ProcessList). */
int uvm_process_pids(struct gcs *g, struct arena *a, uint32_t **pids, size_t *n, struct error *err);
void uvm_process_describe(struct gcs *g, struct printbuf *pb);

#endif
