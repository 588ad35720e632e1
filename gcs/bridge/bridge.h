/* The bridge: the one connection to the host (vsock port 0x40000000, or
 * unix "<prefix>_1073741824", or stdin/stdout with -use-inouterr), framing,
 * request dispatch (gcs/bridge/dispatch.c) and guest -> host messages.
 *
 * The guest dials and never listens. When the connection drops (HEAD
 * behaviour) the bridge redials every 100 ms, negotiation starts over, all
 * guest state is kept, replies to requests of the old connection are
 * dropped, and container notifications wait in a queue until the next
 * successful NegotiateProtocol. */
#ifndef GCS_BRIDGE_BRIDGE_H
#define GCS_BRIDGE_BRIDGE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/printbuf.h>

#include "error.h"
#include "gcs.h"
#include "core/loop.h"

#define BRIDGE_PORT 0x40000000u
#define BRIDGE_REDIAL_MS 100

struct bridge_config {
	bool v4;	/* -v4: without it every request is E_NOTIMPL */
	bool use_stdio; /* -use-inouterr: fds 0/1, exit on EOF */
	uint32_t port;	/* BRIDGE_PORT */
};

int bridge_new(struct gcs *g, const struct bridge_config *cfg, struct bridge **out,
	       struct error *err);
/* Starts dialling (or attaches stdin/stdout). */
int bridge_start(struct bridge *b, struct error *err);
/* Uses in_fd/out_fd (may be equal) as the connection, without redial: the
 * loop quits when it ends. For tests and the fuzzer. */
int bridge_attach(struct bridge *b, int in_fd, int out_fd, struct error *err);
/* Shutdown, phase 1 (before loop_free): closes the connection, cancels the
 * bridge's timers and every pending request (request_on_cancel). */
void bridge_shutdown(struct bridge *b);
/* Phase 2 (after loop_free): frees the memory. */
void bridge_free(struct bridge *b);

/* Sends a container notification (spec §3.14), or queues it until the next
 * negotiated connection. activity_id: the Create request's (NULL: the null
 * GUID); type: "UnexpectedExit", "GracefulExit" or "ForcedExit". Send exactly
 * one per successfully created container. Loop thread only. */
int bridge_notify_container(struct bridge *b, const char *container_id, const char *activity_id,
			    const char *type, int32_t result, struct error *err);
/* The same with ResultInfo (a JSON document sent as a string; NULL or ""
 * omits it, as the reference always does): the host never parses it for
 * LCOW, so the guest may say more there (e.g. that an OOM kill ended the
 * container). */
int bridge_notify_container_info(struct bridge *b, const char *container_id,
				 const char *activity_id, const char *type, int32_t result,
				 const char *result_info, struct error *err);

bool bridge_connected(const struct bridge *b);
bool bridge_negotiated(const struct bridge *b);
/* Connection state, queues and requests in flight (DumpStacks). */
void bridge_describe(struct bridge *b, struct printbuf *pb);

#endif
