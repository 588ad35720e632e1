/* Requests about the utility VM itself: Start (a no-op for Linux guests),
 * DumpStacks (a diagnostic dump) and GetProperties on the null GUID. */
#include <ctype.h>
#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/printbuf.h>

#include "bridge/bridge.h"
#include "bridge/codec.h"
#include "bridge/handler.h"
#include "core/loop.h"
#include "handlers/props.h"

/* The dump is a JSON string: keep it well under the 64 KiB message cap even
 * when every byte is escaped as \n or \" (control bytes are replaced). */
#define DUMP_MAX 30000

/* Spec §3.3: the container starts when its init process is executed. */
static int handle_start(struct request *req, struct error *err)
{
	return request_reply(req, NULL);
}
HANDLER(MSG_START, SCOPE_ANY, gcs__message_base, handle_start)

static void dump_header(struct printbuf *pb)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	sprintbuf(pb, "gcs pid %d, system up %lld s\n", (int)getpid(), (long long)ts.tv_sec);
}

static char *dump_text(struct gcs *g, struct arena *a)
{
	struct printbuf *pb = printbuf_new();
	char *text;
	int n;

	if (!pb)
		return NULL;
	dump_header(pb);
	loop_describe(g->loop, pb);
	bridge_describe(g->bridge, pb);
	handler_dump_sections(g, pb);
	n = printbuf_length(pb);
	if (n > DUMP_MAX) {
		static const char cut[] = "\n... (truncated)\n";

		memcpy(pb->buf + DUMP_MAX - sizeof(cut), cut, sizeof(cut));
		n = DUMP_MAX - 1;
	}
	text = arena_strndup(a, pb->buf, (size_t)n);
	printbuf_free(pb);
	for (char *p = text; p && *p; p++)
		if (*p != '\n' && !isprint((unsigned char)*p))
			*p = '?';
	return text;
}

static int handle_dump_stacks(struct request *req, struct error *err)
{
	Gcs__DumpStacksResponse resp = GCS__DUMP_STACKS_RESPONSE__INIT;

	resp.gueststacks = dump_text(req->gcs, req->arena);
	if (!resp.gueststacks)
		return error_set(err, ERR_FAIL, ENOMEM, "DumpStacks: out of memory");
	return request_reply(req, &resp.base);
}
HANDLER(MSG_DUMP_STACKS, SCOPE_ANY, gcs__message_base, handle_dump_stacks)

static int uvm_process_list(struct request *req, Gcs__Properties *props, struct error *err)
{
	uvm_process_list_fn list = handler_uvm_process_list();
	uint32_t *pids = NULL;
	size_t n = 0;
	int rc;

	/* Until process tracking registers a list, the UVM runs none. */
	if (!list)
		return 0;
	rc = list(req->gcs, req->arena, &pids, &n, err);
	if (rc < 0)
		return rc;
	return props_process_list(req->arena, pids, n, props, err);
}

/* Properties is string-wrapped JSON; "{}" when nothing was asked for. */
static int handle_uvm_properties(struct request *req, struct error *err)
{
	const Gcs__ContainerGetProperties *m = (const void *)req->msg;
	Gcs__ContainerGetPropertiesResponse resp = GCS__CONTAINER_GET_PROPERTIES_RESPONSE__INIT;
	Gcs__Properties props = GCS__PROPERTIES__INIT;
	int rc;

	if (props_query_wants(m->query, "ProcessList")) {
		rc = uvm_process_list(req, &props, err);
		if (rc < 0)
			return error_prefix(err, "GetProperties ProcessList");
	}
	resp.properties = &props;
	return request_reply(req, &resp.base);
}
HANDLER(MSG_GET_PROPERTIES, SCOPE_UVM, gcs__container_get_properties, handle_uvm_properties)
