/* Request lifecycle: from a received frame to exactly one reply.
 *
 *   frame -> JSON parse -> negotiation gate -> MessageBase -> handler lookup
 *         -> decode as the handler's message -> handler -> reply (now/later)
 *
 * Only here do error kinds become HRESULTs (hresult_of), and every reply goes
 * through reply_build(), which enforces the 64 KiB cap. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge/internal.h"
#include "bridge/codec.h"
#include "bridge/handler.h"
#include "bridge/hresult.h"
#include "core/log.h"
#include "core/loop.h"
#include "bridge/reply.h"
#include "bridge/wire.h"

static struct request_priv *priv(const struct request *req)
{
	return (struct request_priv *)((char *)req - offsetof(struct request_priv, pub));
}

static const char *msg_name(uint32_t type)
{
	const char *n = wire_msg_name(type);

	return n ? n : "unknown";
}

static void request_free(struct request_priv *rp)
{
	arena_free(rp->pub.arena);
	json_object_put(rp->body);
	free(rp);
}

static void unlink_request(struct request_priv *rp)
{
	rp->prev->next = rp->next;
	rp->next->prev = rp->prev;
	rp->bridge->n_inflight--;
}

/* The request's one line: its total time (until its reply went to the
 * kernel, `ns`), and runc's part of it when it ran runc, or the part spent
 * waiting for the process it names to end (the rest is the gcs's own). */
static void log_done(struct request_priv *rp, uint64_t ns, uint32_t hresult, const char *errmsg)
{
	enum log_level level = hresult ? LOG_INFO : LOG_DEBUG;
	struct log_field f[10];
	size_t n = 0;

	if (!log_enabled(level))
		return;
	f[n++] = LOG_STR("type", msg_name(rp->pub.type));
	f[n++] = LOG_UINT("id", rp->pub.id);
	f[n++] = LOG_STR("cid", rp->pub.container_id);
	f[n++] = LOG_STR("result", hresult ? "error" : "ok");
	f[n++] = LOG_UINT("hresult", hresult);
	f[n++] = LOG_UINT("ms", ns / 1000000);
	f[n++] = LOG_UINT("us", ns / 1000);
	if (rp->ran_runc)
		f[n++] = LOG_UINT("runc_us", rp->runc_ns / 1000);
	if (rp->waited_process)
		f[n++] = LOG_UINT("process_us", rp->process_ns / 1000);
	log_fields(level, f, n, "%s%s", hresult ? "request failed: " : "request done",
		   hresult ? errmsg : "");
}

/* Sends the reply (if its connection is still there) and frees the request,
 * unless the handler is still running: then dispatch_frame frees it. */
static int complete(struct request_priv *rp, uint32_t hresult, const char *errmsg,
		    const ProtobufCMessage *resp)
{
	struct bridge *b = rp->bridge;
	struct request *req = &rp->pub;
	struct error err;
	uint64_t ns;
	uint8_t *buf;
	size_t len;

	if (rp->done) {
		log_error("request %llu (%s) completed twice; second reply dropped",
			  (unsigned long long)req->id, msg_name(req->type));
		return 0;
	}
	rp->done = true;
	unlink_request(rp);
	/* Timed before the send (the woken host may run first), and only
	 * when the line is written. */
	ns = log_enabled(hresult ? LOG_INFO : LOG_DEBUG) ? loop_now_ns() - rp->started_ns : 0;
	/* The reply goes out before its log line: the host waits for the one,
	 * not for the other. */
	if (!request_is_live(req)) {
		log_warn("reply to request %llu (%s) dropped: its bridge connection is gone",
			 (unsigned long long)req->id, msg_name(req->type));
	} else if (reply_build(req->type, req->id, req->activity_id, hresult, errmsg, resp, &buf,
			       &len, &err) < 0) {
		/* Only out of memory: the host's 5-minute timeout will tell. */
		log_error("request %llu (%s): cannot build the reply: %s",
			  (unsigned long long)req->id, msg_name(req->type), err.msg);
	} else {
		bridge_send(b, buf, len, false);
	}
	log_done(rp, ns, hresult, errmsg);
	if (!rp->in_handler)
		request_free(rp);
	return 0;
}

int request_reply(struct request *req, const ProtobufCMessage *resp)
{
	return complete(priv(req), 0, NULL, resp);
}

int request_fail(struct request *req, const struct error *err)
{
	const char *msg = err->msg[0] ? err->msg : "unspecified error";

	return complete(priv(req), hresult_of(err->kind), msg, NULL);
}

static int fail_kind(struct request_priv *rp, enum error_kind kind, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail_kind(struct request_priv *rp, enum error_kind kind, const char *fmt, ...)
{
	struct error err = {.kind = kind};
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err.msg, sizeof(err.msg), fmt, ap);
	va_end(ap);
	return request_fail(&rp->pub, &err);
}

void request_on_cancel(struct request *req, void (*fn)(struct request *req, void *data), void *data)
{
	priv(req)->cancel = fn;
	priv(req)->cancel_data = data;
}

void request_add_runc_ns(struct request *req, uint64_t ns)
{
	priv(req)->runc_ns += ns;
	priv(req)->ran_runc = true;
}

void request_note_process_reaped(struct request *req, uint64_t reaped_ns)
{
	struct request_priv *rp = priv(req);

	rp->waited_process = true;
	rp->process_ns = reaped_ns > rp->started_ns ? reaped_ns - rp->started_ns : 0;
}

bool request_is_live(const struct request *req)
{
	const struct request_priv *rp = priv(req);

	return rp->bridge->connected && rp->gen == rp->bridge->gen;
}

/* ActivityId as the host parses it back: a GUID or nothing. Read leniently
 * (before the body is validated) so that even error replies echo it. */
static const char *find_activity_id(struct request_priv *rp)
{
	json_object_object_foreach (rp->body, key, val) {
		const char *s;

		if (strcasecmp(key, "ActivityId") != 0 ||
		    !json_object_is_type(val, json_type_string))
			continue;
		s = json_object_get_string(val);
		if (wire_guid_valid(s))
			return arena_strdup(rp->pub.arena, s);
	}
	return NULL;
}

/* Spec §2.8, §3.13: before negotiation only NegotiateProtocol; after it
 * never NegotiateProtocol again; without -v4 nothing at all. */
static bool gate_open(struct bridge *b, uint32_t type)
{
	if (!b->cfg.v4)
		return false;
	if (!b->negotiated)
		return type == MSG_NEGOTIATE_PROTOCOL;
	switch (type) {
	case MSG_NEGOTIATE_PROTOCOL:
	case MSG_UPDATE_CONTAINER:
	case MSG_LIFECYCLE_NOTIFICATION:
	case MSG_MODIFY_SERVICE_SETTINGS:
	case MSG_CONTAINER_NOTIFICATION:
		return false;
	default:
		return wire_msg_name(type) != NULL;
	}
}

static int negotiate(struct request_priv *rp, struct error *err)
{
	Gcs__NegotiateProtocolResponse resp = GCS__NEGOTIATE_PROTOCOL_RESPONSE__INIT;
	Gcs__GcsCapabilities caps = GCS__GCS_CAPABILITIES__INIT;
	Gcs__GcsGuestCapabilities guest = GCS__GCS_GUEST_CAPABILITIES__INIT;
	Gcs__SchemaVersion v21 = GCS__SCHEMA_VERSION__INIT, *versions[1] = {&v21};
	const Gcs__NegotiateProtocolRequest *m;
	ProtobufCMessage *msg;
	int rc;

	rc = codec_decode(&gcs__negotiate_protocol_request__descriptor, rp->body, rp->pub.arena,
			  &msg, err);
	if (rc < 0)
		return rc;
	m = (const void *)msg;
	if (m->maximumversion < WIRE_PROTOCOL_VERSION || m->minimumversion > WIRE_PROTOCOL_VERSION)
		return error_set(err, ERR_PROTOCOL_VERSION, EPROTONOSUPPORT,
				 "protocol versions %u to %u requested; this guest supports %u",
				 m->minimumversion, m->maximumversion, WIRE_PROTOCOL_VERSION);
	v21.major = 2;
	v21.minor = 1;
	guest.namespaceaddrequestsupported = true;
	guest.signalprocesssupported = true;
	guest.dumpstackssupported = true;
	guest.deletecontainerstatesupported = true;
	caps.supportedschemaversions = versions;
	caps.n_supportedschemaversions = 1;
	caps.runtimeostype = "Linux";
	caps.guestdefinedcapabilities = &guest;
	resp.version = WIRE_PROTOCOL_VERSION;
	resp.capabilities = &caps;
	request_reply(&rp->pub, &resp.base);
	bridge_set_negotiated(rp->bridge);
	return 0;
}

static int call_handler(struct request_priv *rp, struct error *err)
{
	struct request *req = &rp->pub;
	enum handler_scope scope = handler_scope_of(req->container_id);
	const struct handler *h = handler_find(req->type, scope);
	ProtobufCMessage *msg;
	int rc;

	if (!h)
		return error_set(err, ERR_NOT_IMPLEMENTED, ENOSYS, "%s for %s: not implemented yet",
				 msg_name(req->type), handler_scope_name(scope));
	rc = codec_decode(h->request, rp->body, req->arena, &msg, err);
	if (rc < 0)
		return rc;
	req->msg = msg;
	rp->handler = h->name;
	rc = handler_run_gates(req, err);
	if (rc == 0)
		rc = h->fn(req, err);
	if (rc < 0 && !err->msg[0])
		error_set(err, err->kind, -rc, "%s failed", msg_name(req->type));
	return rc;
}

/* Runs the request up to its handler; returns what the handler returned, or
 * a negative errno with err set for an error reply. */
static int run_request(struct request_priv *rp, int parse_rc, struct error *parse_err,
		       struct error *err)
{
	struct request *req = &rp->pub;
	const Gcs__MessageBase *base;
	ProtobufCMessage *msg;
	int rc;

	if (!gate_open(rp->bridge, req->type))
		return error_set(err, ERR_NOT_IMPLEMENTED, ENOSYS,
				 "bridge: function not supported, header type: %s (0x%08x)",
				 msg_name(req->type), req->type);
	if (parse_rc < 0) {
		*err = *parse_err;
		return parse_rc;
	}
	rc = codec_decode(&gcs__message_base__descriptor, rp->body, req->arena, &msg, err);
	if (rc < 0)
		return rc;
	base = (const void *)msg;
	req->container_id = base->containerid;
	if (req->type == MSG_NEGOTIATE_PROTOCOL)
		return negotiate(rp, err);
	return call_handler(rp, err);
}

/* One debug entry per request ("request done"/"request failed", with its
 * duration) keeps debug logging cheap; arrival is traced only. */
static void log_request(struct request_priv *rp, const struct frame *f)
{
	if (!log_enabled(LOG_TRACE))
		return;
	log_fields(LOG_TRACE,
		   LOG_FIELDS(LOG_STR("type", msg_name(f->hdr.type)), LOG_UINT("id", f->hdr.id),
			      LOG_UINT("size", f->hdr.size)),
		   "request received");
	/* Bodies may hold secrets (environment variables): only unscrubbed. */
	if (!log_scrub())
		log_fields(LOG_TRACE,
			   LOG_FIELDS(LOG_UINT("id", f->hdr.id), LOG_STR("body", f->body)),
			   "request body");
}

void dispatch_frame(struct bridge *b, struct frame *f)
{
	struct request_priv *rp = calloc(1, sizeof(*rp));
	struct error err, parse_err;
	int rc, parse_rc;

	if (rp)
		rp->pub.arena = arena_new();
	if (!rp || !rp->pub.arena) {
		/* Without memory there is no reply either; the host times out. */
		log_error("out of memory: request %llu dropped", (unsigned long long)f->hdr.id);
		free(rp);
		free(f->body);
		return;
	}
	log_request(rp, f);
	rp->pub.type = f->hdr.type;
	rp->pub.id = f->hdr.id;
	rp->pub.container_id = "";
	rp->pub.gcs = b->gcs;
	rp->bridge = b;
	rp->gen = b->gen;
	rp->started_ns = loop_now_ns();
	rp->started = rp->started_ns / 1000000;
	rp->next = &b->inflight;
	rp->prev = b->inflight.prev;
	b->inflight.prev->next = rp;
	b->inflight.prev = rp;
	b->n_inflight++;
	b->requests++;

	error_clear(&err);
	parse_rc = codec_parse(f->body, f->len, &rp->body, &parse_err);
	free(f->body);
	f->body = NULL;
	if (parse_rc == 0)
		rp->pub.activity_id = find_activity_id(rp);

	/* Completion inside this function (by the handler or below) leaves
	 * the freeing to the end of it. */
	rp->in_handler = true;
	rc = run_request(rp, parse_rc, &parse_err, &err);
	if (rc < 0 && !rp->done)
		request_fail(&rp->pub, &err);
	else if (rc == 0 && !rp->done)
		fail_kind(rp, ERR_FAIL, "internal error: %s returned without a reply",
			  rp->handler ? rp->handler : "handler");
	else if (rc != 0 && rc != REQUEST_PENDING && rp->done)
		log_error("request %llu: %s replied and then returned %d",
			  (unsigned long long)rp->pub.id, rp->handler ? rp->handler : "handler",
			  rc);
	rp->in_handler = false;
	if (rp->done)
		request_free(rp);
}

void dispatch_cancel_all(struct bridge *b)
{
	struct request_priv *rp = b->inflight.next;

	while (rp != &b->inflight) {
		struct request_priv *next = rp->next;

		if (rp->cancel) {
			rp->cancel(&rp->pub, rp->cancel_data);
			unlink_request(rp);
			request_free(rp);
		} else {
			log_warn("request %llu (%s) left pending at exit: %s has no cancel hook",
				 (unsigned long long)rp->pub.id, msg_name(rp->pub.type),
				 rp->handler ? rp->handler : "its handler");
		}
		rp = next;
	}
}

void dispatch_describe(struct bridge *b, struct printbuf *pb)
{
	uint64_t now = loop_now_ms();

	sprintbuf(pb, "requests in flight: %zu (of %llu received)\n", b->n_inflight,
		  (unsigned long long)b->requests);
	for (struct request_priv *rp = b->inflight.next; rp != &b->inflight; rp = rp->next)
		sprintbuf(pb, "  id %llu %s cid=%s handler=%s age=%llums%s\n",
			  (unsigned long long)rp->pub.id, msg_name(rp->pub.type),
			  rp->pub.container_id, rp->handler ? rp->handler : "-",
			  (unsigned long long)(now - rp->started),
			  request_is_live(&rp->pub) ? ""
						    : " (connection gone: reply will be dropped)");
}
