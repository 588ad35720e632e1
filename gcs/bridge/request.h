/* A request being handled. The bridge decodes it (gcs/bridge/dispatch.c), calls
 * the handler registered for its type (gcs/bridge/handler.h), and the handler
 * completes it exactly once:
 *
 *   - at once:   return request_reply(req, &resp.base);   (or NULL: base only)
 *                return -EINVAL after error_set(err, ...)  (error reply)
 *   - later:     keep req, return REQUEST_PENDING, and eventually call
 *                request_reply(req, ...) or request_fail(req, &err) from a
 *                loop callback (timer, fd watch, child exit, job completion).
 *
 * Completion frees req and everything in req->arena. Replies go out in
 * completion order. If the bridge connection the request came from is gone,
 * the reply is dropped (a reply on a new connection would carry an ID the host
 * does not know, which kills the bridge): handlers need not care.
 * All of this runs on the loop thread only. */
#ifndef GCS_BRIDGE_REQUEST_H
#define GCS_BRIDGE_REQUEST_H

#include <stdbool.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"
#include "error.h"
#include "gcs.h"

#define REQUEST_PENDING 1

struct request {
	uint32_t type;		     /* MSG_* (gcs/bridge/wire.h) */
	uint64_t id;		     /* the host's sequence id */
	const char *container_id;    /* "" when absent */
	const char *activity_id;     /* a valid GUID, or NULL (omitted in replies) */
	const ProtobufCMessage *msg; /* decoded as the handler's `request` type */
	struct arena *arena;	     /* lives as long as the request */
	struct gcs *gcs;
};

/* Sends the response (resp may be NULL for a base-only response: Result 0)
 * and frees the request. resp and what it points to may live in req->arena.
 * Returns 0. */
int request_reply(struct request *req, const ProtobufCMessage *resp);

/* Sends an error response (HRESULT from err->kind, ErrorMessage err->msg) and
 * frees the request. Returns 0. */
int request_fail(struct request *req, const struct error *err);

/* For a request kept pending: fn(req, data) runs if the gcs shuts down
 * before the request completes. It must release what refers to req (cancel
 * its timers, detach its jobs) and must not complete it: the bridge frees the
 * request afterwards. A pending request without this hook is never freed at
 * shutdown (it might still be referenced). */
void request_on_cancel(struct request *req, void (*fn)(struct request *req, void *data),
		       void *data);

/* Adds to the time the request waited for runc commands (ns), which its
 * log line ("request done"/"request failed") reports as runc_us beside its
 * total (us): the difference is the gcs's own share. */
void request_add_runc_ns(struct request *req, uint64_t ns);

/* For a request answered when a process ended (WaitForProcess): the
 * process was reaped at reaped_ns (loop_now_ns()). The log line reports the
 * time from the request to then as process_us, the process's own time
 * rather than the gcs's. */
void request_note_process_reaped(struct request *req, uint64_t reaped_ns);

/* False once the connection the request came from has dropped: its reply
 * will be discarded. */
bool request_is_live(const struct request *req);

#endif
