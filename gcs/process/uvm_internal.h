/* State shared by process_uvm.c (the table and a process's life) and
 * process_uvm_wait.c (the WaitForProcess requests). */
#ifndef GCS_PROCESS_UVM_INTERNAL_H
#define GCS_PROCESS_UVM_INTERNAL_H

#include "process/uvm.h"
#include "handlers/waiters.h"

struct relay;

struct uvm_process {
	pid_t pid;
	char name[64]; /* argv[0], for logs and DumpStacks */
	struct gcs *gcs;
	uint64_t started_ms;
	bool reaped;
	int status;    /* wait status once reaped */
	bool complete; /* reaped, and the output relays are done */
	bool doomed;   /* killed because its start failed: nobody waits */
	bool had_console;
	int console; /* the pty master until complete, else -1 */
	struct relay *in;
	struct relay *out[2];
	unsigned outputs; /* output relays still running */
	struct waiters waiters;
	struct uvm_process *next;
};

/* The record of pid that the host may still ask about, or NULL. */
struct uvm_process *uvm_process_find(pid_t pid);
/* Unlinks and frees a complete process (no waiter left). */
void uvm_process_forget(struct uvm_process *p);
/* Answers every pending wait of a complete process, then forgets it if
 * any was answered. */
void uvm_process_answer_waiters(struct uvm_process *p);

#endif
