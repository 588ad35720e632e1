/* Running an external tool of the image (udhcpc, ...) to completion from a
 * worker thread: fork/exec with stdin on /dev/null and stdout + stderr
 * captured together, a deadline after which it is killed, and its exit
 * status taken from the gcs's reaper (the gcs reaps every child with one
 * waitpid(-1) loop, so a plain waitpid here would race it).
 *
 * The child is forked from the calling thread, so it starts in that
 * thread's namespaces (a network namespace entered with setns, say). */
#ifndef GCS_CORE_TOOL_RUN_H
#define GCS_CORE_TOOL_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"

/* How children are forked and waited for: gcs/core/loop.h's loop_child_begin,
 * loop_child_end and loop_child_wait with the loop as ctx. All NULL: plain
 * waitpid (unit tests, no reaper). */
struct tool_reaper {
	void (*begin)(void *ctx);
	void (*end)(void *ctx, pid_t pid);
	int (*wait)(pid_t pid, int *status, void *ctx);
	void *ctx;
};

#define TOOL_OUTPUT_MAX 4096 /* the last bytes of the output are kept */

struct tool_result {
	int status;		      /* wait status */
	bool timed_out;		      /* killed at the deadline */
	char output[TOOL_OUTPUT_MAX]; /* NUL-terminated, trailing blanks cut */
};

/* Runs argv (argv[0] looked up on PATH unless it has a slash) with envp
 * (NULL: the gcs's environment). Returns 0 once it has exited or been
 * killed, whatever its status (see res); <0 when it could not be run. */
int tool_run(const struct tool_reaper *r, char *const argv[], char *const envp[],
	     unsigned timeout_ms, struct tool_result *res, struct error *e);

/* name itself when it has a slash, else the first executable name on PATH
 * (or /usr/sbin:/usr/bin:/sbin:/bin). -ENOENT or -ENAMETOOLONG. */
int tool_find_program(const char *name, char *buf, size_t size);

/* "exit status 3", "killed by signal 9", "timed out after 30 s" */
void tool_describe(const struct tool_result *res, unsigned timeout_ms, char *buf, size_t size);

#endif
