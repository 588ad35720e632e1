/* The WaitForProcess requests pending on one process (spec §3.5): each with
 * its own TimeoutInMs timer (WAITERS_INFINITE: none), all answered with the
 * exit code once the process is complete, or all failed. Shared by UVM
 * processes (gcs/process/uvm.h) and container processes (gcs/containers/container.h);
 * what happens to the process after an answer, and how its exit code is
 * counted, is the caller's business. Loop thread only. */
#ifndef GCS_WAITERS_H
#define GCS_WAITERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "bridge/request.h"

#define WAITERS_INFINITE UINT32_MAX

struct waiter;

/* Embedded in the process record, which must not move while waits are
 * pending. Zero-initialised: empty. */
struct waiters {
	struct waiter *head;
};

/* Answers req with exitcode (a wait on a complete process). */
int waiters_reply_exit(struct request *req, uint32_t exitcode);

/* Keeps req pending on ws until waiters_answer() or waiters_fail(). Its
 * timer fails it with ERR_TIMEOUT "WaitForProcess: process <pid> still
 * running"; timeout_ms 0 asks whether the process is complete already
 * (it is not: the same error at once, as a 0-duration timer does in the
 * reference). A gcs shutdown drops it unanswered. Returns REQUEST_PENDING,
 * or a negative errno with err filled. */
int waiters_add(struct waiters *ws, struct request *req, pid_t pid, uint32_t timeout_ms,
		struct error *err);

/* Answers every pending wait with exitcode; true if there was any. */
bool waiters_answer(struct waiters *ws, uint32_t exitcode);

/* Fails every pending wait with err. */
void waiters_fail(struct waiters *ws, const struct error *err);

unsigned waiters_count(const struct waiters *ws);

#endif
