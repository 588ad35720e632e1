/* libFuzzer target: bytes from the host -> framing -> codec -> dispatch.
 *
 * The input is the raw byte stream the host writes on the bridge. It is fed,
 * in irregular chunks, into a real bridge (bridge_attach on a socketpair)
 * driven by a real event loop, with the gcs's own UVM handlers (Start,
 * DumpStacks, GetProperties, ModifySettings, VPCIDevice). Handlers whose
 * real work has side effects on the machine (processes, containers, mounts)
 * are replaced at the runtime boundary by the stubs below, which still
 * consume the decoded request (walk its trees, use its fields) and complete
 * it now or later, like the real ones. "Later" is counted in loop
 * iterations (0-ms timers re-armed 0-2 times), not in milliseconds: the
 * completions still interleave with other requests, but no input waits on
 * the clock, and the loop is run until nothing is left to do.
 *
 * Every message the guest writes is checked against the host's rules and
 * the fuzzer aborts on a violation: Size in [16, 65536], response or
 * notification type, a JSON object body with Result, ActivityId a GUID or
 * absent, and a response ID the host sent and has not had answered. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bridge/bridge.h"
#include "bridge/codec.h"
#include "bridge/framing.h"
#include "bridge/handler.h"
#include "core/log.h"
#include "core/loop.h"
#include "bridge/wire.h"

#define MAX_IDS 4096

/* ---- stubs at the runtime boundary ------------------------------------- */

static void touch_tree(struct json_object *t)
{
	if (t)
		(void)json_object_to_json_string_ext(t, CODEC_JSON_FLAGS);
}

struct later {
	struct request *req;
	struct loop_timer *t;
	uint32_t value;
	unsigned rounds; /* loop iterations still to wait */
};

/* Stub completions not yet run: the input is done when none is left. */
static unsigned outstanding;

static void complete_later(struct loop *l, void *data)
{
	struct later *w = data;
	Gcs__ContainerWaitForProcessResponse resp = GCS__CONTAINER_WAIT_FOR_PROCESS_RESPONSE__INIT;

	if (w->rounds) {
		w->rounds--;
		w->t = loop_timer_add(l, 0, complete_later, w);
		if (w->t)
			return;
	}
	w->t = NULL;
	outstanding--;
	resp.exitcode = w->value;
	request_reply(w->req, &resp.base);
}

static void cancel_later(struct request *req, void *data)
{
	struct later *w = data;

	if (w->t) {
		loop_timer_cancel(w->t);
		w->t = NULL;
		outstanding--;
	}
}

static int pend(struct request *req, uint32_t value, unsigned rounds, struct error *err)
{
	struct later *w = arena_alloc(req->arena, sizeof(*w));

	if (!w)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	w->req = req;
	w->value = value;
	w->rounds = rounds;
	w->t = loop_timer_add(req->gcs->loop, 0, complete_later, w);
	if (!w->t)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	outstanding++;
	request_on_cancel(req, cancel_later, w);
	return REQUEST_PENDING;
}

static int stub_create(struct request *req, struct error *err)
{
	const Gcs__ContainerCreate *m = (const void *)req->msg;

	if (!m->containerconfig)
		return error_set(err, ERR_BAD_JSON, EINVAL, "no ContainerConfig");
	touch_tree(codec_json_tree(m->containerconfig->ocispecification));
	return pend(req, 0, 0, err);
}
HANDLER(MSG_CREATE, SCOPE_CONTAINER, gcs__container_create, stub_create)

static int stub_exec(struct request *req, struct error *err)
{
	const Gcs__ContainerExecuteProcess *m = (const void *)req->msg;
	Gcs__ContainerExecuteProcessResponse resp = GCS__CONTAINER_EXECUTE_PROCESS_RESPONSE__INIT;
	const Gcs__ProcessParameters *p = m->settings ? m->settings->processparameters : NULL;

	if (!p)
		return error_set(err, ERR_BAD_JSON, EINVAL, "no ProcessParameters");
	touch_tree(codec_json_tree(p->ociprocess));
	for (size_t i = 0; i < p->n_environment; i++)
		resp.processid += (uint32_t)strlen(p->environment[i]->key);
	for (size_t i = 0; i < p->n_commandargs; i++)
		resp.processid += (uint32_t)strlen(p->commandargs[i]);
	return request_reply(req, &resp.base);
}
HANDLER(MSG_EXECUTE_PROCESS, SCOPE_ANY, gcs__container_execute_process, stub_exec)

static int stub_wait(struct request *req, struct error *err)
{
	const Gcs__ContainerWaitForProcess *m = (const void *)req->msg;

	if (m->processid == 0)
		return error_set(err, ERR_NOT_FOUND, ESRCH, "process 0 not found");
	return pend(req, m->processid, m->processid % 3, err);
}
HANDLER(MSG_WAIT_FOR_PROCESS, SCOPE_ANY, gcs__container_wait_for_process, stub_wait)

static int stub_signal(struct request *req, struct error *err)
{
	return error_set(err, ERR_NOT_FOUND, ESRCH, "process not found");
}
HANDLER(MSG_SIGNAL_PROCESS, SCOPE_ANY, gcs__container_signal_process, stub_signal)

static int stub_container_properties(struct request *req, struct error *err)
{
	Gcs__ContainerGetPropertiesResponse resp = GCS__CONTAINER_GET_PROPERTIES_RESPONSE__INIT;
	Gcs__Properties props = GCS__PROPERTIES__INIT;
	struct json_object *metrics = json_object_new_object();

	json_object_object_add(metrics, "pids", json_object_new_uint64(UINT64_MAX));
	props.lcowmetrics = codec_json_wrap(req->arena, metrics);
	json_object_put(metrics);
	resp.properties = &props;
	return request_reply(req, &resp.base);
}
HANDLER(MSG_GET_PROPERTIES, SCOPE_CONTAINER, gcs__container_get_properties,
	stub_container_properties)

static int stub_modify(struct request *req, const Gcs__ModificationRequest *mr, struct error *err)
{
	if (mr->settings_case == GCS__MODIFICATION_REQUEST__SETTINGS_CONTAINER_CONSTRAINTS) {
		touch_tree(codec_json_tree(mr->containerconstraints->linux));
		touch_tree(codec_json_tree(mr->containerconstraints->windows));
	}
	return pend(req, 0, mr->settings_case % 2, err);
}
MODIFY_HANDLER("MappedVirtualDisk", SCOPE_UVM, stub_modify)

static int stub_constraints(struct request *req, const Gcs__ModificationRequest *mr,
			    struct error *err)
{
	return stub_modify(req, mr, err);
}
MODIFY_HANDLER("ContainerConstraints", SCOPE_CONTAINER, stub_constraints)

static int stub_modify_fail(struct request *req, const Gcs__ModificationRequest *mr,
			    struct error *err)
{
	return error_set(err, ERR_FAIL, EIO, "mount %s failed", mr->resourcetype);
}
MODIFY_HANDLER("CombinedLayers", SCOPE_UVM, stub_modify_fail)

/* ---- the host's checks --------------------------------------------------- */

struct ids {
	uint64_t id[MAX_IDS];
	int n;
};

static void die(const char *what, const uint8_t *msg, size_t len)
{
	fprintf(stderr, "guest broke a host rule: %s: %.*s\n", what, (int)(len > 400 ? 400 : len),
		(const char *)msg);
	abort();
}

static bool take_id(struct ids *ids, uint64_t id)
{
	for (int i = 0; i < ids->n; i++) {
		if (ids->id[i] == id) {
			ids->id[i] = ids->id[--ids->n];
			return true;
		}
	}
	return false;
}

static bool guid(const char *s)
{
	return wire_guid_valid(s);
}

static void check_message(struct ids *ids, const struct frame *f)
{
	struct json_object *o, *v;
	struct json_tokener *tok;

	if (f->hdr.size > WIRE_MAX_GUEST_MESSAGE)
		die("message over 64 KiB", (const uint8_t *)f->body, f->len);
	tok = json_tokener_new();
	o = json_tokener_parse_ex(tok, f->body, (int)f->len);
	if (!o || json_tokener_get_parse_end(tok) != f->len ||
	    !json_object_is_type(o, json_type_object))
		die("body is not one JSON object", (const uint8_t *)f->body, f->len);
	json_tokener_free(tok);
	if (json_object_object_get_ex(o, "ActivityId", &v) && !guid(json_object_get_string(v)))
		die("ActivityId is not a GUID", (const uint8_t *)f->body, f->len);
	if (f->hdr.type == MSG_CONTAINER_NOTIFICATION) {
		if (f->hdr.id != 0)
			die("notification with an ID", (const uint8_t *)f->body, f->len);
	} else if ((f->hdr.type & WIRE_TYPE_MASK) == WIRE_TYPE_RESPONSE) {
		if (!take_id(ids, f->hdr.id))
			die("response to an unknown or answered ID", (const uint8_t *)f->body,
			    f->len);
		if (!json_object_object_get_ex(o, "Result", &v))
			die("response without Result", (const uint8_t *)f->body, f->len);
	} else {
		die("unexpected message type", (const uint8_t *)f->body, f->len);
	}
	json_object_put(o);
}

/* Reads what the guest wrote and checks each message; true when there was
 * something to read. */
static bool drain(int fd, struct frame_reader *r, struct ids *ids)
{
	static uint8_t buf[65536];
	bool any = false;
	ssize_t n;

	while ((n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
		size_t off = 0;

		any = true;

		while (off < (size_t)n) {
			struct frame f;
			struct error err;
			size_t used;
			int rc = frame_reader_feed(r, buf + off, (size_t)n - off, &used, &f, &err);

			if (rc < 0)
				die("bad Size from the guest", buf, (size_t)n);
			off += used;
			if (rc == 1) {
				check_message(ids, &f);
				free(f.body);
			}
		}
	}
	return any;
}

/* Records the IDs of the whole messages the host sends (each may be
 * answered once). */
static void note_ids(struct frame_reader *r, struct ids *ids, const uint8_t *p, size_t len)
{
	size_t off = 0;

	while (off < len) {
		struct frame f;
		struct error err;
		size_t used;
		int rc = frame_reader_feed(r, p + off, len - off, &used, &f, &err);

		if (rc < 0) {
			frame_reader_reset(r);
			return;
		}
		off += used;
		if (rc == 1) {
			if (ids->n < MAX_IDS)
				ids->id[ids->n++] = f.hdr.id;
			free(f.body);
		}
	}
}

/* Open descriptors, compared before and after each input (libFuzzer opens
 * and closes its own between inputs, so no global baseline). */
static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		abort();
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void init_once(void)
{
	static bool done;
	int null;

	if (done)
		return;
	done = true;
	null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	log_configure(LOG_FORMAT_JSON, getenv("FUZZ_LOG") ? LOG_TRACE : LOG_PANIC,
		      getenv("FUZZ_LOG") ? 2 : null);
	/* VPCIDevice polls a sysfs that has nothing. */
	setenv("LCOW_SYSFS_ROOT", "/nonexistent-lcow-fuzz", 1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct bridge_config cfg = {.v4 = true, .port = BRIDGE_PORT};
	struct frame_reader in, out;
	struct gcs g = {0};
	static struct ids ids_of_input;
	struct ids *ids = &ids_of_input;
	struct error err;
	uint32_t rng = (uint32_t)size * 2654435761u;
	size_t off = 0;
	int sv[2], fds;

	init_once();
	ids->n = 0;
	fds = open_fds();
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0 ||
	    loop_new(&g.loop, &err) < 0)
		abort();
	if (bridge_new(&g, &cfg, &g.bridge, &err) < 0 ||
	    bridge_attach(g.bridge, sv[0], sv[0], &err) < 0)
		abort();
	frame_reader_init(&in, WIRE_MAX_HOST_MESSAGE);
	frame_reader_init(&out, WIRE_MAX_GUEST_MESSAGE);
	while (off < size && !loop_quitting(g.loop)) {
		size_t chunk;
		ssize_t w;

		rng = rng * 1103515245u + 12345u;
		chunk = 1 + (rng >> 16) % 700;
		if (chunk > size - off)
			chunk = size - off;
		w = send(sv[1], data + off, chunk, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (w > 0) {
			note_ids(&in, ids, data + off, (size_t)w);
			off += (size_t)w;
		}
		loop_run_once(g.loop, 0);
		drain(sv[1], &out, ids);
	}
	/* Run the loop until it is idle: deferred completions (0-2 more
	 * iterations), replies waiting for the socket, what they trigger.
	 * Never with a timeout: what waits on the clock (VPCIDevice's sysfs
	 * poll) stays pending and is cancelled by the shutdown, as it would
	 * be when the host goes away. */
	for (int i = 0, idle = 0; i < 256 && idle < 2 && !loop_quitting(g.loop); i++) {
		bool busy = loop_run_once(g.loop, 0) > 0;

		busy |= drain(sv[1], &out, ids);
		idle = busy || outstanding ? 0 : idle + 1;
	}
	bridge_shutdown(g.bridge);
	loop_free(g.loop);
	bridge_free(g.bridge);
	drain(sv[1], &out, ids);
	if (outstanding != 0)
		die("a pending request was neither answered nor cancelled", (const uint8_t *)"", 0);
	frame_reader_reset(&in);
	frame_reader_reset(&out);
	close(sv[1]);
	if (open_fds() != fds)
		die("file descriptor leak", (const uint8_t *)"", 0);
	return 0;
}
