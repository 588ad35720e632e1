/* The bridge over a socketpair, with this file playing the host: framing,
 * the negotiation rules, HRESULTs, ActivityId, asynchronous completion in
 * completion order, the notification queue, and the 64 KiB reply cap. */
#include "unit.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bridge/bridge.h"
#include "bridge/codec.h"
#include "bridge/framing.h"
#include "bridge/handler.h"
#include "bridge/hresult.h"
#include "core/loop.h"
#include "bridge/reply.h"
#include "core/utf8.h"
#include "bridge/wire.h"

#define GUID "12345678-9abc-def0-1234-56789abcdef0"

struct host {
	struct loop *loop;
	struct gcs gcs;
	struct bridge *bridge;
	int fd;
	uint8_t buf[1 << 17];
	size_t len;
};

struct reply {
	struct frame_header hdr;
	char body[1 << 16];
	struct json_object *json;
};

static void start(struct host *h, bool v4)
{
	struct bridge_config cfg = {.v4 = v4, .port = BRIDGE_PORT};
	struct error err;
	int sv[2];

	memset(h, 0, sizeof(*h));
	CHECK(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) == 0);
	CHECK_OK(loop_new(&h->loop, &err));
	h->gcs.loop = h->loop;
	CHECK_OK(bridge_new(&h->gcs, &cfg, &h->bridge, &err));
	h->gcs.bridge = h->bridge;
	CHECK_OK(bridge_attach(h->bridge, sv[0], sv[0], &err));
	h->fd = sv[1];
}

static void stop(struct host *h)
{
	bridge_shutdown(h->bridge);
	loop_free(h->loop);
	bridge_free(h->bridge);
	close(h->fd);
}

static void send_raw(struct host *h, const void *p, size_t n)
{
	CHECK(write(h->fd, p, n) == (ssize_t)n);
}

static void send_msg(struct host *h, uint32_t type, uint64_t id, const char *body)
{
	uint8_t *buf = frame_encode(type, id, body, strlen(body));

	send_raw(h, buf, WIRE_HEADER_SIZE + strlen(body));
	free(buf);
}

/* Runs the loop until a whole message arrived (1), the guest closed the
 * connection (0), or about timeout_ms passed (-1). */
static int recv_msg(struct host *h, struct reply *r, int timeout_ms)
{
	for (int waited = 0; waited <= timeout_ms; waited += 5) {
		struct pollfd p = {.fd = h->fd, .events = POLLIN};

		if (h->len >= WIRE_HEADER_SIZE) {
			frame_header_decode(h->buf, &r->hdr);
			CHECK(r->hdr.size >= WIRE_HEADER_SIZE &&
			      r->hdr.size <= WIRE_MAX_GUEST_MESSAGE);
			if (h->len >= r->hdr.size) {
				size_t n = r->hdr.size - WIRE_HEADER_SIZE;

				memcpy(r->body, h->buf + WIRE_HEADER_SIZE, n);
				r->body[n] = '\0';
				memmove(h->buf, h->buf + r->hdr.size, h->len - r->hdr.size);
				h->len -= r->hdr.size;
				r->json = json_tokener_parse(r->body);
				CHECK(r->json != NULL);
				return 1;
			}
		}
		loop_run_once(h->loop, 5);
		if (poll(&p, 1, 0) == 1) {
			ssize_t n = read(h->fd, h->buf + h->len, sizeof(h->buf) - h->len);

			if (n == 0)
				return 0;
			CHECK(n > 0);
			h->len += (size_t)n;
		}
	}
	return -1;
}

static void expect(struct host *h, struct reply *r, uint32_t type, uint64_t id)
{
	CHECK_EQ(recv_msg(h, r, 3000), 1);
	CHECK_EQ(r->hdr.type, type);
	CHECK_EQ(r->hdr.id, id);
}

static uint32_t result_of(struct reply *r)
{
	struct json_object *v;

	CHECK(json_object_object_get_ex(r->json, "Result", &v)); /* always present */
	return (uint32_t)json_object_get_int(v);
}

static const char *str_of(struct reply *r, const char *key)
{
	struct json_object *v;

	if (!json_object_object_get_ex(r->json, key, &v))
		return NULL;
	return json_object_get_string(v);
}

static void put(struct reply *r)
{
	json_object_put(r->json);
	r->json = NULL;
}

static const char negotiate_body[] = "{\"ContainerId\":\"\",\"ActivityId\":\"" WIRE_NULL_GUID
				     "\",\"MinimumVersion\":4,\"MaximumVersion\":4}\n";

static void negotiate(struct host *h)
{
	struct reply r;

	send_msg(h, MSG_NEGOTIATE_PROTOCOL, 0, negotiate_body);
	expect(h, &r, 0x20100b01, 0);
	CHECK_EQ(result_of(&r), 0);
	put(&r);
}

TEST(negotiate_reply_is_exactly_the_references)
{
	struct host h;
	struct reply r;

	start(&h, true);
	send_msg(&h, MSG_NEGOTIATE_PROTOCOL, 0, negotiate_body);
	expect(&h, &r, 0x20100b01, 0);
	CHECK_STREQ(r.body,
		    "{\"Result\":0,\"ActivityId\":\"" WIRE_NULL_GUID "\",\"Version\":4,"
		    "\"Capabilities\":{\"SupportedSchemaVersions\":[{\"Major\":2,"
		    "\"Minor\":1}],\"RuntimeOsType\":\"Linux\",\"GuestDefinedCapabilities\":"
		    "{\"NamespaceAddRequestSupported\":true,\"SignalProcessSupported\":true,"
		    "\"DumpStacksSupported\":true,\"DeleteContainerStateSupported\":true}}}");
	CHECK(bridge_negotiated(h.bridge));
	put(&r);
	stop(&h);
}

TEST(only_negotiate_before_negotiation)
{
	struct host h;
	struct reply r;

	start(&h, true);
	send_msg(&h, MSG_START, 5, "{\"ContainerId\":\"c1\",\"ActivityId\":\"" GUID "\"}");
	expect(&h, &r, 0x20100201, 5);
	CHECK_EQ(result_of(&r), HR_E_NOTIMPL);
	CHECK_STREQ(str_of(&r, "ErrorMessage"),
		    "bridge: function not supported, header type: Start (0x10100201)");
	CHECK_STREQ(str_of(&r, "ActivityId"), GUID);
	put(&r);
	stop(&h);
}

TEST(second_negotiate_is_not_implemented)
{
	struct host h;
	struct reply r;

	start(&h, true);
	negotiate(&h);
	send_msg(&h, MSG_NEGOTIATE_PROTOCOL, 1, negotiate_body);
	expect(&h, &r, 0x20100b01, 1);
	CHECK_EQ(result_of(&r), HR_E_NOTIMPL);
	put(&r);
	stop(&h);
}

TEST(negotiate_without_version_4_fails_and_changes_nothing)
{
	const char *ranges[] = {
		"{\"MinimumVersion\":1,\"MaximumVersion\":3}",
		"{\"MinimumVersion\":5,\"MaximumVersion\":9}",
		"{}",
	};
	struct host h;
	struct reply r;

	start(&h, true);
	for (int i = 0; i < 3; i++) {
		send_msg(&h, MSG_NEGOTIATE_PROTOCOL, (uint64_t)i, ranges[i]);
		expect(&h, &r, 0x20100b01, (uint64_t)i);
		CHECK_EQ(result_of(&r), HR_UNSUPPORTED_PROTOCOL);
		put(&r);
	}
	CHECK(!bridge_negotiated(h.bridge));
	send_msg(&h, MSG_NEGOTIATE_PROTOCOL, 9, "{\"MinimumVersion\":1,\"MaximumVersion\":10}");
	expect(&h, &r, 0x20100b01, 9);
	CHECK_EQ(result_of(&r), 0);
	put(&r);
	stop(&h);
}

TEST(invalid_json_is_c037010d)
{
	const char *bad[] = {"{not json", "", "[]", "{\"ContainerId\":1}"};
	struct host h;
	struct reply r;

	start(&h, true);
	negotiate(&h);
	for (int i = 0; i < 4; i++) {
		send_msg(&h, MSG_DUMP_STACKS, (uint64_t)i + 1, bad[i]);
		expect(&h, &r, 0x20100c01, (uint64_t)i + 1);
		CHECK_EQ(result_of(&r), HR_INVALID_JSON);
		CHECK(str_of(&r, "ErrorMessage") != NULL);
		put(&r);
	}
	/* A valid ActivityId is echoed even when the body is wrong. */
	send_msg(&h, MSG_DUMP_STACKS, 7, "{\"ActivityId\":\"" GUID "\",\"ContainerId\":[]}");
	expect(&h, &r, 0x20100c01, 7);
	CHECK_EQ(result_of(&r), HR_INVALID_JSON);
	CHECK_STREQ(str_of(&r, "ActivityId"), GUID);
	put(&r);
	stop(&h);
}

TEST(activity_id_is_echoed_or_omitted_never_empty)
{
	const char *ids[] = {"\"" GUID "\"", "\"\"", "\"not-a-guid\"", NULL, "42"};
	struct host h;
	struct reply r;
	char body[256];

	start(&h, true);
	for (int i = 0; i < 5; i++) {
		snprintf(body, sizeof(body), "{\"ContainerId\":\"x\"%s%s}",
			 ids[i] ? ",\"ActivityId\":" : "", ids[i] ? ids[i] : "");
		send_msg(&h, MSG_START, (uint64_t)i, body);
		expect(&h, &r, 0x20100201, (uint64_t)i);
		if (i == 0)
			CHECK_STREQ(str_of(&r, "ActivityId"), GUID);
		else
			CHECK(str_of(&r, "ActivityId") == NULL);
		put(&r);
	}
	stop(&h);
}

TEST(unknown_and_unsupported_types_are_not_implemented)
{
	const uint32_t types[] = {0x10101001,
				  MSG_UPDATE_CONTAINER,
				  MSG_LIFECYCLE_NOTIFICATION,
				  MSG_MODIFY_SERVICE_SETTINGS,
				  0x20100101,
				  0};
	struct host h;
	struct reply r;

	start(&h, true);
	negotiate(&h);
	for (int i = 0; i < 6; i++) {
		send_msg(&h, types[i], (uint64_t)i + 10, "{}");
		expect(&h, &r, wire_response_type(types[i]), (uint64_t)i + 10);
		CHECK_EQ(result_of(&r), HR_E_NOTIMPL);
		CHECK(strstr(str_of(&r, "ErrorMessage"), "function not supported") != NULL);
		put(&r);
	}
	stop(&h);
}

TEST(without_v4_every_request_is_not_implemented)
{
	struct host h;
	struct reply r;

	start(&h, false);
	send_msg(&h, MSG_NEGOTIATE_PROTOCOL, 0, negotiate_body);
	expect(&h, &r, 0x20100b01, 0);
	CHECK_EQ(result_of(&r), HR_E_NOTIMPL);
	put(&r);
	stop(&h);
}

TEST(a_type_without_handler_is_not_implemented_yet)
{
	struct host h;
	struct reply r;

	start(&h, true);
	negotiate(&h);
	send_msg(&h, MSG_CREATE, 3, "{\"ContainerId\":\"c1\",\"ContainerConfig\":\"{}\"}");
	expect(&h, &r, 0x20100101, 3);
	CHECK_EQ(result_of(&r), HR_E_NOTIMPL);
	CHECK_STREQ(str_of(&r, "ErrorMessage"), "Create for containers: not implemented yet");
	put(&r);
	stop(&h);
}

/* Test handlers (registered by the tests, not by the gcs). */

struct delayed {
	struct request *req;
	struct loop_timer *t;
};

static void reply_now(struct loop *l, void *data)
{
	struct delayed *d = data;
	Gcs__ContainerWaitForProcessResponse resp = GCS__CONTAINER_WAIT_FOR_PROCESS_RESPONSE__INIT;
	const Gcs__ContainerSignalProcess *m = (const void *)d->req->msg;

	resp.exitcode = m->processid;
	request_reply(d->req, &resp.base);
}

static void cancel_delayed(struct request *req, void *data)
{
	loop_timer_cancel(((struct delayed *)data)->t);
}

/* Replies after ProcessId milliseconds. */
static int handle_delayed(struct request *req, struct error *err)
{
	const Gcs__ContainerSignalProcess *m = (const void *)req->msg;
	struct delayed *d = arena_alloc(req->arena, sizeof(*d));

	d->req = req;
	d->t = loop_timer_add(req->gcs->loop, m->processid, reply_now, d);
	request_on_cancel(req, cancel_delayed, d);
	return REQUEST_PENDING;
}

static const struct handler delayed_handler = {
	.type = MSG_SIGNAL_PROCESS,
	.scope = SCOPE_CONTAINER,
	.request = &gcs__container_signal_process__descriptor,
	.fn = handle_delayed,
	.name = "handle_delayed",
};

TEST(replies_go_out_in_completion_order)
{
	const int delays[] = {300, 100, 0, 200};
	const uint64_t want[] = {2, 1, 3, 0};
	struct host h;
	struct reply r;
	char body[128];

	handler_register(&delayed_handler);
	start(&h, true);
	negotiate(&h);
	for (int i = 0; i < 4; i++) {
		snprintf(body, sizeof(body), "{\"ContainerId\":\"c\",\"ProcessId\":%d}", delays[i]);
		send_msg(&h, MSG_SIGNAL_PROCESS, (uint64_t)i, body);
	}
	for (int i = 0; i < 4; i++) {
		expect(&h, &r, 0x20100701, want[i]);
		CHECK_EQ(result_of(&r), 0);
		put(&r);
	}
	stop(&h);
}

TEST(pending_requests_are_cancelled_at_shutdown)
{
	struct host h;
	struct reply r;

	handler_register(&delayed_handler);
	start(&h, true);
	negotiate(&h);
	send_msg(&h, MSG_SIGNAL_PROCESS, 1, "{\"ContainerId\":\"c\",\"ProcessId\":60000}");
	CHECK_EQ(recv_msg(&h, &r, 50), -1);
	stop(&h); /* ASan/LSan would see a leak or a use after free */
}

static int handle_no_reply(struct request *req, struct error *err)
{
	return 0;
}

static int handle_not_found(struct request *req, struct error *err)
{
	return error_set(err, ERR_NOT_FOUND, ESRCH, "process %d not found", 77);
}

TEST(handler_results_become_hresults)
{
	static const struct handler a = {.type = MSG_RESIZE_CONSOLE,
					 .scope = SCOPE_ANY,
					 .request = &gcs__container_resize_console__descriptor,
					 .fn = handle_no_reply,
					 .name = "handle_no_reply"};
	static const struct handler b = {.type = MSG_WAIT_FOR_PROCESS,
					 .scope = SCOPE_CONTAINER,
					 .request = &gcs__container_wait_for_process__descriptor,
					 .fn = handle_not_found,
					 .name = "handle_not_found"};
	struct host h;
	struct reply r;

	handler_register(&a);
	handler_register(&b);
	start(&h, true);
	negotiate(&h);
	send_msg(&h, MSG_RESIZE_CONSOLE, 1, "{\"ContainerId\":\"c\"}");
	expect(&h, &r, 0x20100801, 1);
	CHECK_EQ(result_of(&r), HR_E_FAIL);
	CHECK(strstr(str_of(&r, "ErrorMessage"), "handle_no_reply returned without a reply"));
	put(&r);
	send_msg(&h, MSG_WAIT_FOR_PROCESS, 2, "{\"ContainerId\":\"c\",\"ProcessId\":77}");
	expect(&h, &r, 0x20100601, 2);
	CHECK_EQ(result_of(&r), HR_NOT_FOUND);
	CHECK_STREQ(str_of(&r, "ErrorMessage"), "process 77 not found");
	put(&r);
	/* The scope matters: the UVM id has no WaitForProcess handler here. */
	send_msg(&h, MSG_WAIT_FOR_PROCESS, 3, "{\"ContainerId\":\"" WIRE_NULL_GUID "\"}");
	expect(&h, &r, 0x20100601, 3);
	CHECK_EQ(result_of(&r), HR_E_NOTIMPL);
	put(&r);
	stop(&h);
}

TEST(duplicate_registration_is_refused)
{
	struct error err;

	handler_register(&delayed_handler);
	CHECK_OK(handler_table_check(&err));
	handler_register(&delayed_handler);
	CHECK(handler_table_check(&err) < 0);
	CHECK(strstr(err.msg, "handle_delayed") != NULL);
}

TEST(notification_waits_for_negotiation_and_follows_the_reply)
{
	struct host h;
	struct reply r;
	struct error err;

	start(&h, true);
	CHECK_OK(bridge_notify_container(h.bridge, "c1", GUID, "UnexpectedExit", 0, &err));
	CHECK_EQ(recv_msg(&h, &r, 50), -1); /* nothing before negotiation */
	send_msg(&h, MSG_NEGOTIATE_PROTOCOL, 0, negotiate_body);
	expect(&h, &r, 0x20100b01, 0);
	put(&r);
	expect(&h, &r, MSG_CONTAINER_NOTIFICATION, 0);
	CHECK_STREQ(r.body, "{\"ContainerId\":\"c1\",\"ActivityId\":\"" GUID "\",\"Type\":"
			    "\"UnexpectedExit\",\"Operation\":\"None\",\"Result\":0}");
	put(&r);
	/* once negotiated: at once, with the null GUID when there is no id */
	CHECK_OK(bridge_notify_container(h.bridge, "c2", NULL, "ForcedExit", 0, &err));
	expect(&h, &r, MSG_CONTAINER_NOTIFICATION, 0);
	CHECK_STREQ(str_of(&r, "ActivityId"), WIRE_NULL_GUID);
	put(&r);
	stop(&h);
}

TEST(a_one_mib_request_is_served)
{
	size_t n = 1 << 20;
	char *body = malloc(n + 64);
	struct host h;
	struct reply r;
	static const char pre[] = "{\"ContainerId\":\"x\",\"ProcessId\":0,\"Padding\":\"";

	memcpy(body, pre, sizeof(pre) - 1);
	memset(body + sizeof(pre) - 1, 'a', n);
	strcpy(body + sizeof(pre) - 1 + n, "\"}\n");
	handler_register(&delayed_handler);
	start(&h, true);
	negotiate(&h);
	{
		uint8_t *buf = frame_encode(MSG_SIGNAL_PROCESS, 4, body, strlen(body));
		size_t len = WIRE_HEADER_SIZE + strlen(body), off = 0;

		/* The socket buffer is smaller than 1 MiB: feed it while the
		 * loop reads. */
		while (off < len) {
			ssize_t w = send(h.fd, buf + off, len - off, MSG_DONTWAIT);

			if (w > 0)
				off += (size_t)w;
			loop_run_once(h.loop, 1);
		}
		free(buf);
	}
	expect(&h, &r, 0x20100701, 4);
	CHECK_EQ(result_of(&r), 0);
	put(&r);
	free(body);
	stop(&h);
}

TEST(split_header_and_body_writes_are_reassembled)
{
	uint8_t *buf =
		frame_encode(MSG_NEGOTIATE_PROTOCOL, 0, negotiate_body, strlen(negotiate_body));
	size_t len = WIRE_HEADER_SIZE + strlen(negotiate_body);
	struct host h;
	struct reply r;

	start(&h, true);
	for (size_t i = 0; i < len; i++) {
		send_raw(&h, buf + i, 1);
		loop_run_once(h.loop, 0);
	}
	free(buf);
	expect(&h, &r, 0x20100b01, 0);
	CHECK_EQ(result_of(&r), 0);
	put(&r);
	stop(&h);
}

TEST(size_below_16_drops_the_connection)
{
	struct frame_header hdr = {.type = MSG_START, .size = 8, .id = 1};
	uint8_t raw[16];
	struct host h;
	struct reply r;

	start(&h, true);
	frame_header_encode(&hdr, raw);
	send_raw(&h, raw, sizeof(raw));
	CHECK_EQ(recv_msg(&h, &r, 2000), 0); /* closed, no reply */
	CHECK(loop_quitting(h.loop));	     /* attached: nothing to redial */
	CHECK(!bridge_connected(h.bridge));
	stop(&h);
}

static void check_capped(uint8_t *buf, size_t len)
{
	struct frame_header hdr;
	struct json_object *o, *msg;

	CHECK(len <= WIRE_MAX_GUEST_MESSAGE);
	frame_header_decode(buf, &hdr);
	CHECK_EQ(hdr.size, len);
	{
		struct json_tokener *tok = json_tokener_new();

		o = json_tokener_parse_ex(tok, (char *)buf + 16, (int)len - 16);
		CHECK(o != NULL);
		json_tokener_free(tok);
	}
	CHECK(json_object_object_get_ex(o, "ErrorMessage", &msg));
	CHECK(strstr(json_object_get_string(msg), "[truncated]") != NULL);
	json_object_put(o);
}

TEST(reply_with_huge_error_text_is_cut_to_64k)
{
	size_t n = 300000;
	char *text = malloc(n + 1);
	struct error err;
	uint8_t *buf;
	size_t len;

	memset(text, 'e', n);
	text[n] = '\0';
	CHECK_OK(reply_build(MSG_CREATE, 1, GUID, HR_E_FAIL, text, NULL, &buf, &len, &err));
	check_capped(buf, len);
	CHECK(len > 60000); /* cut, not emptied */
	free(buf);
	/* control bytes: six output bytes each */
	memset(text, '\x01', n);
	CHECK_OK(reply_build(MSG_CREATE, 1, NULL, HR_E_FAIL, text, NULL, &buf, &len, &err));
	check_capped(buf, len);
	free(buf);
	/* bytes that are not UTF-8 (a file name in an error) go out as '?' */
	CHECK_OK(reply_build(MSG_CREATE, 1, NULL, HR_E_FAIL, "bad \xff\xc0 name", NULL, &buf, &len,
			     &err));
	CHECK_EQ(utf8_scrub((char *)buf + 16, len - 16), 0);
	CHECK(strstr((char *)buf + 16, "bad ?? name") != NULL);
	free(buf);
	/* multi-byte UTF-8 is cut on a character boundary */
	for (size_t i = 0; i + 3 <= n; i += 3)
		memcpy(text + i, "\xe2\x82\xac", 3);
	text[n - n % 3] = '\0';
	CHECK_OK(reply_build(MSG_CREATE, 1, NULL, HR_E_FAIL, text, NULL, &buf, &len, &err));
	check_capped(buf, len);
	{
		const char *end = strstr((char *)buf + 16, " [truncated]");

		CHECK(end && (unsigned char)end[-1] == 0xac);
	}
	free(buf);
	free(text);
}

TEST(success_reply_too_large_becomes_an_error)
{
	Gcs__DumpStacksResponse resp = GCS__DUMP_STACKS_RESPONSE__INIT;
	char *text = malloc(100001);
	struct json_object *o, *v;
	struct error err;
	uint8_t *buf;
	size_t len;

	memset(text, 's', 100000);
	text[100000] = '\0';
	resp.gueststacks = text;
	CHECK_OK(reply_build(MSG_DUMP_STACKS, 2, NULL, 0, NULL, &resp.base, &buf, &len, &err));
	CHECK(len <= WIRE_MAX_GUEST_MESSAGE);
	{
		struct json_tokener *tok = json_tokener_new();

		o = json_tokener_parse_ex(tok, (char *)buf + 16, (int)len - 16);
		json_tokener_free(tok);
	}
	CHECK(o && json_object_object_get_ex(o, "Result", &v));
	CHECK_EQ((uint32_t)json_object_get_int(v), HR_E_FAIL);
	CHECK(!json_object_object_get_ex(o, "GuestStacks", &v));
	json_object_put(o);
	free(buf);
	free(text);
}

TEST(notification_that_cannot_fit_is_refused)
{
	Gcs__ContainerNotification n = GCS__CONTAINER_NOTIFICATION__INIT;
	char *id = malloc(70001);
	struct error err;
	uint8_t *buf;
	size_t len;

	memset(id, 'c', 70000);
	id[70000] = '\0';
	n.containerid = id;
	CHECK_EQ(notification_build(&n, &buf, &len, &err), -EMSGSIZE);
	free(id);
}
