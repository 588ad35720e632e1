/* The UVM-process handlers (gcs/handlers/process.c), which the container
 * handlers also call for a process started in the UVM through a
 * container-scoped request (CreateInUtilityVM, spec §3.4). */
#ifndef GCS_HANDLERS_PROCESS_H
#define GCS_HANDLERS_PROCESS_H

#include <stdint.h>

#include "bridge/request.h"
#include "error.h"

/* Largest Linux signal number (SIGRTMAX as the kernel counts). */
#define UVM_SIGNAL_MAX 64

int uvm_execute_request(struct request *req, struct error *err); /* ContainerExecuteProcess */
int uvm_wait_request(struct request *req, struct error *err);	 /* ContainerWaitForProcess */
int uvm_signal_request(struct request *req, struct error *err);	 /* ContainerSignalProcess */
int uvm_resize_request(struct request *req, struct error *err);	 /* ContainerResizeConsole */

/* ExecuteProcess's reply from an operation's result (const pid_t *): a
 * pending_reply_fn (gcs/handlers/pending.h). */
int reply_process_id(struct request *req, const void *result);

/* SignalProcess's signal: 0 (Options absent or empty) is SIGKILL; outside
 * 1..UVM_SIGNAL_MAX is ERR_INVALID_ARG. */
int uvm_signal_number(int32_t requested, struct error *err);

#endif
