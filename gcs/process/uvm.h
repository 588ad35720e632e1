/* The processes the host started in the utility VM itself (spec §3.4 case 1,
 * §3.5-3.7, §3.9 ProcessList): a table keyed by pid, their relays, their
 * exit, and the WaitForProcess requests waiting for it. Loop thread only.
 *
 * A process is complete once it is reaped and its stdout/stderr relays have
 * delivered everything and half-closed the connections (spec §6.3). Then
 * every pending wait is answered; a process is forgotten once a wait has
 * been answered (later waits: ERR_NOT_FOUND), and kept until then, however
 * long the first wait takes to arrive.
 *
 * The handlers (gcs/handlers/process.c) serve the null container id. A
 * container-scoped ExecuteProcess with CreateInUtilityVM is a UVM process
 * too (§3.4): the container handlers pass such requests to
 * uvm_process_execute(); the uvm_process_* request functions below take the
 * same decoded messages as the handlers. */
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
#include "bridge/request.h"

/* Largest Linux signal number (SIGRTMAX as the kernel counts). */
#define UVM_SIGNAL_MAX 64

/* The request handlers; req->msg is the message type of each. */
int uvm_process_execute(struct request *req, struct error *err); /* ContainerExecuteProcess */
int uvm_process_wait(struct request *req, struct error *err);	 /* ContainerWaitForProcess */
int uvm_process_signal(struct request *req, struct error *err);	 /* ContainerSignalProcess */
int uvm_process_resize(struct request *req, struct error *err);	 /* ContainerResizeConsole */

/* Adds a started process: watches its exit and starts its relays, taking
 * every fd left in io. On failure the process is killed (and still reaped
 * and forgotten), io is closed, and the error returned. */
int uvm_process_add(struct gcs *g, pid_t pid, const char *name, struct uvm_stdio *io,
		    struct error *err);

/* True while pid is a UVM process the gcs started and has not reaped. */
bool uvm_process_running(pid_t pid);

/* SignalProcess's signal: 0 (Options absent or empty) is SIGKILL; outside
 * 1..UVM_SIGNAL_MAX is ERR_INVALID_ARG. */
int uvm_signal_number(int32_t requested, struct error *err);

/* Pids of the running UVM processes (GetProperties ProcessList). */
int uvm_process_pids(struct gcs *g, struct arena *a, uint32_t **pids, size_t *n, struct error *err);
void uvm_process_describe(struct gcs *g, struct printbuf *pb);

#endif
