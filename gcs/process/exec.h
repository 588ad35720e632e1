/* Preparing a process the host runs in the utility VM (spec §3.4 case 1):
 * its command (argv, environment, working directory) from the request's
 * ProcessParameters, and its stdio (the dialled host connections and the
 * pipes or pty between them and the child). */
#ifndef GCS_PROCESS_EXEC_H
#define GCS_PROCESS_EXEC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "gcs.pb-c.h"
#include "transport.h"

enum {
	STDIO_IN,
	STDIO_OUT,
	STDIO_ERR
};

/* Everything a worker needs, copied out of the request (whose arena must
 * not be touched off the loop thread). */
struct uvm_command {
	char **argv; /* NULL-terminated */
	char **envp; /* NULL-terminated "K=V", exactly the request's Environment */
	char *cwd;   /* NULL: the gcs's own */
	bool console;
	uint32_t rows, cols; /* ConsoleSize [h, w], 0 when not given */
	bool want[3];	     /* CreateStd{In,Out,Err}Pipe */
	uint32_t port[3];    /* VsockStdioRelaySettings */
};

/* argv is CommandArgs, or else CommandLine split by shell-word rules;
 * neither is ERR_INVALID_ARG (the reference GCS panics there). An
 * Environment key that is empty or holds '=' is ERR_INVALID_ARG (it could
 * not be passed as K=V); a requested stream without a port likewise. */
int uvm_command_parse(const Gcs__ExecuteProcessSettings *s, struct uvm_command **out,
		      struct error *err);
void uvm_command_free(struct uvm_command *c);

/* The fds of a process's stdio, -1 where unused. */
struct uvm_stdio {
	int conn[3];	  /* host connections, dialled before the process starts */
	int child[3];	  /* what the child gets as 0, 1, 2 (-1: /dev/null) */
	int in_dst;	  /* conn[STDIO_IN] is relayed into this (pipe / pty master) */
	int out_src[2];	  /* relayed to conn[STDIO_OUT], conn[STDIO_ERR] */
	int master;	  /* console: the pty master, kept for ResizeConsole */
	int slave;	  /* console: the slave, the child's controlling tty */
	ino_t out_ino[2]; /* no console: the inodes of the child's stdout and
			   * stderr sockets (0: none), to tell when it is done */
};

#define UVM_STDIO_INIT                                                                             \
	{                                                                                          \
		.conn = {-1, -1, -1}, .child = {-1, -1, -1}, .in_dst = -1, .out_src = {-1, -1},    \
		.master = -1, .slave = -1                                                          \
	}

/* Blocking (dials): worker threads only. Dials the requested ports, then
 * gives them to the child as they are, or makes one pty for a console
 * (whose output goes to the stdout connection, or nowhere; stderr gets no
 * data). On failure everything is closed. */
int uvm_stdio_open(const struct transport *t, const struct uvm_command *c, struct uvm_stdio *io,
		   struct error *err);
/* After the spawn: the child has its copies. Closing the gcs's is what
 * lets the host (or the console relay) see end of file when the child is
 * done. */
void uvm_stdio_close_child(struct uvm_stdio *io);
void uvm_stdio_close(struct uvm_stdio *io);

#endif
