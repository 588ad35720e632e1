/* State shared by uvm.c (the table and a process's life) and uvm_start.c
 * (starting one). */
#ifndef GCS_PROCESS_UVM_INTERNAL_H
#define GCS_PROCESS_UVM_INTERNAL_H

#include "process/uvm.h"

struct relay;
struct holders_wait;

struct uvm_process {
	pid_t pid;
	char name[64]; /* argv[0], for logs and DumpStacks */
	struct gcs *gcs;
	uint64_t started_ms;
	bool reaped;
	uint64_t reaped_ns; /* loop_now_ns() then */
	int status;	    /* wait status once reaped */
	bool complete;	    /* reaped, and the output relays are done */
	bool doomed;	    /* killed because its start failed: nobody waits */
	bool had_console;
	int console; /* the pty master until complete, else -1 */
	struct relay *in;
	struct relay *out[2];
	unsigned outputs;	      /* output relays still running, or 1 while the
			   * session still holds the output sockets */
	ino_t out_ino[2];	      /* the output sockets the child was given */
	struct holders_wait *holders; /* waiting for them to be let go */
	struct uvm_process *next;
};

/* The record of pid that the host may still ask about, or NULL. */
struct uvm_process *uvm_process_find(pid_t pid);
/* Unlinks and frees a complete process. */
void uvm_process_forget(struct uvm_process *p);

#endif
