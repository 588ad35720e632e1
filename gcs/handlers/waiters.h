/* The WaitForProcess requests pending (spec §3.5), kept by the handlers and
 * keyed by what the runtime reports: the container id ("" for a process
 * started in the UVM itself) and the pid. Each has its own TimeoutInMs timer
 * (WAITERS_INFINITE: none); all waits on one process are answered with the
 * exit code once the runtime says it is complete, or all failed. What
 * happens to the process after an answer is the runtime's business (the
 * handler tells it that the exit code was collected). Loop thread only. */
#ifndef GCS_HANDLERS_WAITERS_H
#define GCS_HANDLERS_WAITERS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/printbuf.h>

#include "bridge/request.h"
#include "error.h"

#define WAITERS_INFINITE UINT32_MAX
/* Real hosts wait on a process a few times; beyond this a misbehaving host
 * gets an error instead of growing the gcs without bound. */
#define WAITERS_MAX_PER_PROCESS 1024

/* Answers req with exitcode (a wait on a complete process, reaped at
 * reaped_ns: 0 when that was before the request). */
int waiters_reply_exit(struct request *req, uint32_t exitcode, uint64_t reaped_ns);

/* Keeps req pending until waiters_answer() or waiters_fail() for (cid,
 * pid). Its timer fails it with ERR_TIMEOUT "WaitForProcess: process <pid>
 * still running"; timeout_ms 0 asks whether the process is complete already
 * (it is not: the same error at once, as a 0-duration timer does in the
 * reference). More than WAITERS_MAX_PER_PROCESS pending on one process:
 * ERR_FAIL. A gcs shutdown drops it unanswered. Returns REQUEST_PENDING, or
 * a negative errno with err filled. */
int waiters_add(const char *cid, pid_t pid, struct request *req, uint32_t timeout_ms,
		struct error *err);

/* Answers every pending wait on (cid, pid) with exitcode; the process was
 * reaped at reaped_ns (loop_now_ns()), which each request's log line
 * counts as the process's time. True if there was any. */
bool waiters_answer(const char *cid, pid_t pid, uint32_t exitcode, uint64_t reaped_ns);

/* Fails every pending wait on (cid, pid) with err. */
void waiters_fail(const char *cid, pid_t pid, const struct error *err);

/* The pending waits, for DumpStacks. */
void waiters_describe(struct printbuf *pb);

#endif
