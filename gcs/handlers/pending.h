/* A request kept open while a runtime operation runs (gcs/core/op.h): the
 * handler makes the operation's op_done from the request, and the
 * operation's completion becomes the reply. Loop thread only.
 *
 *   struct op_done done;
 *   rc = pending_begin(req, reply_pid, "ExecuteProcess", &done, err);
 *   if (rc == 0)
 *           rc = container_execute(..., &done, err);
 *   return pending_end(&done, rc);
 *
 * A gcs shutdown cancels the request: an operation that registered a
 * cancel hook (op_on_cancel) is stopped; any other still finishes (its
 * result is then dropped) and `wanted` tells it that nobody waits. */
#ifndef GCS_HANDLERS_PENDING_H
#define GCS_HANDLERS_PENDING_H

#include "bridge/request.h"
#include "core/op.h"

/* Builds the reply from the operation's result and sends it
 * (request_reply). NULL: a base-only reply. */
typedef int (*pending_reply_fn)(struct request *req, const void *result);

/* prefix (a static string, or NULL) is put before a failure's message. */
int pending_begin(struct request *req, pending_reply_fn reply, const char *prefix,
		  struct op_done *done, struct error *err);

/* rc from the operation: >= 0 means it took `done` (REQUEST_PENDING is
 * returned); < 0 means it refused, the request is answered by the caller's
 * error and `done` is released. */
int pending_end(struct op_done *done, int rc);

#endif
