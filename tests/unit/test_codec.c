/* The generic JSON <-> message codec and the wire's special cases
 * (gcs/bridge/codec_wire.c). */
#include "unit.h"

#include <errno.h>
#include <stdint.h>

#include "bridge/codec.h"
#include "gcs.pb-c.h"

static struct json_object *parse(const char *s)
{
	struct json_object *o;
	struct error err;

	if (codec_parse(s, strlen(s), &o, &err) < 0)
		unit_fail(__FILE__, __LINE__, "parse %s: %s", s, err.msg);
	return o;
}

static void put_json(void *o)
{
	json_object_put(o);
}

/* Decodes `json` as desc; returns the rc and leaves the message in *out. */
static int decode(const ProtobufCMessageDescriptor *desc, const char *json, struct arena *a,
		  void *out, struct error *err)
{
	struct json_object *o = parse(json);
	int rc = codec_decode(desc, o, a, out, err);

	arena_defer(a, put_json, o);
	return rc;
}

static char *encode(const ProtobufCMessage *m)
{
	struct json_object *o = json_object_new_object();
	struct error err;
	char *s;

	CHECK_OK(codec_encode(m, o, &err));
	s = strdup(json_object_to_json_string_ext(o, CODEC_JSON_FLAGS));
	json_object_put(o);
	return s;
}

TEST(parse_accepts_the_hosts_trailing_newline)
{
	struct json_object *o = parse("{\"a\":1}\n");

	json_object_put(o);
	o = parse("  {\"a\":1} \r\n\t ");
	json_object_put(o);
}

TEST(parse_rejects_what_is_not_one_json_object)
{
	const char *bad[] = {"",	"{",	      "{\"a\":1} x", "{\"a\":1}{}", "[1]",
			     "\"str\"", "{\"a\":1,}", "{\"a\":'x'}", "nul",	    "{\"a\":01}"};
	struct json_object *o;
	struct error err;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_EQ(codec_parse(bad[i], strlen(bad[i]), &o, &err), -EINVAL);
		CHECK_EQ(err.kind, ERR_BAD_JSON);
		CHECK(o == NULL);
	}
	/* a NUL byte inside the body */
	CHECK_EQ(codec_parse("{\"a\":1}\0", 8, &o, &err), -EINVAL);
	/* strings that are not UTF-8: the gcs could not echo them as UTF-8 */
	CHECK_EQ(codec_parse("{\"a\":\"\xff\"}", 9, &o, &err), -EINVAL);
	CHECK_EQ(err.kind, ERR_BAD_JSON);
	CHECK(strstr(err.msg, "utf-8") != NULL);
	CHECK_EQ(codec_parse("{\"\xc0\xaf\":1}", 8, &o, &err), -EINVAL);
	CHECK_OK(codec_parse("{\"a\":\"\xe2\x82\xac\"}", 11, &o, &err));
	json_object_put(o);
}

TEST(decode_negotiate_fields_by_their_wire_names)
{
	struct arena *a = arena_new();
	Gcs__NegotiateProtocolRequest *m;
	struct error err;

	CHECK_OK(decode(
		&gcs__negotiate_protocol_request__descriptor,
		"{\"ContainerId\":\"\",\"ActivityId\":\"00000000-0000-0000-0000-000000000000\","
		"\"MinimumVersion\":4,\"MaximumVersion\":4,\"otsc\":{\"traceparent\":\"x\"}}",
		a, &m, &err));
	CHECK_STREQ(m->containerid, "");
	CHECK_STREQ(m->activityid, "00000000-0000-0000-0000-000000000000");
	CHECK_EQ(m->minimumversion, 4);
	CHECK_EQ(m->maximumversion, 4);
	arena_free(a);
}

TEST(decode_matches_keys_case_insensitively_like_go)
{
	struct arena *a = arena_new();
	Gcs__ContainerWaitForProcess *m;
	struct error err;

	CHECK_OK(decode(&gcs__container_wait_for_process__descriptor,
			"{\"containerid\":\"c1\",\"PROCESSID\":12,\"TimeoutInMs\":4294967295}", a,
			&m, &err));
	CHECK_STREQ(m->containerid, "c1");
	CHECK_EQ(m->processid, 12);
	CHECK_EQ(m->timeoutinms, 4294967295u);
	arena_free(a);
}

TEST(decode_null_leaves_the_zero_value)
{
	struct arena *a = arena_new();
	Gcs__ContainerSignalProcess *m;
	struct error err;

	CHECK_OK(decode(&gcs__container_signal_process__descriptor,
			"{\"ContainerId\":null,\"ProcessId\":null,\"Options\":null}", a, &m, &err));
	CHECK_STREQ(m->containerid, "");
	CHECK_EQ(m->processid, 0);
	CHECK(m->options == NULL);
	arena_free(a);
}

TEST(decode_wrong_types_and_ranges_are_invalid_json)
{
	const char *bad[] = {
		"{\"ProcessId\":\"12\"}",
		"{\"ProcessId\":1.5}",
		"{\"ProcessId\":-1}",
		"{\"ProcessId\":4294967296}",
		"{\"ContainerId\":5}",
		"{\"ContainerId\":true}",
		"{\"Options\":[]}",
		"{\"Options\":{\"Signal\":2147483648}}",
		"{\"Options\":{\"Signal\":\"9\"}}",
		"{\"ProcessId\":1e3}",
	};
	struct arena *a = arena_new();
	struct error err;
	void *m;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK(decode(&gcs__container_signal_process__descriptor, bad[i], a, &m, &err) < 0);
		CHECK_EQ(err.kind, ERR_BAD_JSON);
	}
	CHECK(decode(&gcs__container_signal_process__descriptor,
		     "{\"Options\":{\"Signal\":-2147483648}}", a, &m, &err) == 0);
	arena_free(a);
}

TEST(decode_error_names_the_field)
{
	struct arena *a = arena_new();
	struct error err;
	void *m;

	CHECK(decode(&gcs__container_execute_process__descriptor,
		     "{\"Settings\":{\"VsockStdioRelaySettings\":{\"StdOut\":\"x\"}}}", a, &m,
		     &err) < 0);
	CHECK(strstr(err.msg, "Settings.VsockStdioRelaySettings.StdOut") != NULL);
	arena_free(a);
}

TEST(decode_string_with_nul_is_invalid_argument)
{
	struct arena *a = arena_new();
	struct error err;
	void *m;

	CHECK(decode(&gcs__message_base__descriptor, "{\"ContainerId\":\"a\\u0000b\"}", a, &m,
		     &err) < 0);
	CHECK_EQ(err.kind, ERR_INVALID_ARG);
	arena_free(a);
}

TEST(decode_container_config_is_json_inside_a_string)
{
	struct arena *a = arena_new();
	Gcs__ContainerCreate *m;
	struct json_object *spec, *v;
	struct error err;

	CHECK_OK(decode(
		&gcs__container_create__descriptor,
		"{\"ContainerId\":\"c1\",\"ContainerConfig\":\"{\\\"SchemaVersion\\\":"
		"{\\\"Major\\\":2,\\\"Minor\\\":1},\\\"OciBundlePath\\\":\\\"/run/gcs/c/c1\\\","
		"\\\"OciSpecification\\\":{\\\"process\\\":{\\\"rlimits\\\":[{\\\"hard\\\":"
		"18446744073709551615}]},\\\"root\\\":{\\\"path\\\":\\\"/r\\\"}}}\"}",
		a, &m, &err));
	CHECK(m->containerconfig != NULL);
	CHECK_EQ(m->containerconfig->schemaversion->major, 2);
	CHECK_EQ(m->containerconfig->schemaversion->minor, 1);
	CHECK_STREQ(m->containerconfig->ocibundlepath, "/run/gcs/c/c1");
	spec = codec_json_tree(m->containerconfig->ocispecification);
	CHECK(spec != NULL);
	CHECK(json_object_object_get_ex(spec, "root", &v));
	/* The free-form tree keeps uint64 exact. */
	CHECK(strstr(json_object_to_json_string_ext(spec, CODEC_JSON_FLAGS),
		     "18446744073709551615") != NULL);
	arena_free(a);
}

TEST(decode_invalid_nested_json_is_invalid_json)
{
	struct arena *a = arena_new();
	struct error err;
	void *m;

	CHECK(decode(&gcs__container_create__descriptor, "{\"ContainerConfig\":\"{not json\"}", a,
		     &m, &err) < 0);
	CHECK_EQ(err.kind, ERR_BAD_JSON);
	CHECK(strstr(err.msg, "ContainerConfig") != NULL);
	CHECK(decode(&gcs__container_create__descriptor, "{\"ContainerConfig\":{}}", a, &m, &err) <
	      0);
	CHECK_EQ(err.kind, ERR_BAD_JSON);
	arena_free(a);
}

TEST(decode_empty_query_string_is_absent)
{
	struct arena *a = arena_new();
	Gcs__ContainerGetProperties *m;
	struct error err;

	CHECK_OK(decode(&gcs__container_get_properties__descriptor, "{\"Query\":\"\"}", a, &m,
			&err));
	CHECK(m->query == NULL);
	CHECK_OK(decode(
		&gcs__container_get_properties__descriptor,
		"{\"Query\":\"{\\\"PropertyTypes\\\":[\\\"ProcessList\\\",\\\"Statistics\\\"]}\"}",
		a, &m, &err));
	CHECK_EQ(m->query->n_propertytypes, 2);
	CHECK_STREQ(m->query->propertytypes[1], "Statistics");
	arena_free(a);
}

TEST(decode_process_parameters_map_and_arrays)
{
	struct arena *a = arena_new();
	Gcs__ContainerExecuteProcess *m;
	Gcs__ProcessParameters *p;
	struct error err;

	CHECK_OK(decode(
		&gcs__container_execute_process__descriptor,
		"{\"Settings\":{\"ProcessParameters\":\"{\\\"CommandArgs\\\":[\\\"sh\\\","
		"\\\"-c\\\",null],\\\"Environment\\\":{\\\"PATH\\\":\\\"/bin\\\",\\\"A\\\":"
		"\\\"b=c\\\"},\\\"CreateStdOutPipe\\\":true,\\\"OciProcess\\\":{\\\"args\\\":"
		"[\\\"x\\\"]}}\",\"VsockStdioRelaySettings\":{\"StdOut\":1073741825}}}",
		a, &m, &err));
	p = m->settings->processparameters;
	CHECK_EQ(p->n_commandargs, 3);
	CHECK_STREQ(p->commandargs[0], "sh");
	CHECK_STREQ(p->commandargs[2], "");
	CHECK_EQ(p->n_environment, 2);
	for (size_t i = 0; i < p->n_environment; i++)
		if (strcmp(p->environment[i]->key, "A") == 0)
			CHECK_STREQ(p->environment[i]->value, "b=c");
	CHECK(p->createstdoutpipe);
	CHECK(codec_json_tree(p->ociprocess) != NULL);
	/* musl defines stdout as "(stdout)": reach the member through its
	 * descriptor. */
	CHECK_EQ(*(uint32_t *)((char *)m->settings->vsockstdiorelaysettings +
			       protobuf_c_message_descriptor_get_field_by_name(
				       &gcs__execute_process_vsock_stdio_relay_settings__descriptor,
				       "StdOut")
				       ->offset),
		 1073741825u);
	arena_free(a);
}

TEST(decode_modify_settings_by_resource_type)
{
	struct arena *a = arena_new();
	Gcs__ContainerModifySettings *m;
	struct error err;

	CHECK_OK(decode(&gcs__container_modify_settings__descriptor,
			"{\"Request\":{\"Settings\":{\"MountPath\":\"/run/gcs/c/c1\",\"Lun\":1,"
			"\"EnsureFilesystem\":true,\"Filesystem\":\"ext4\"},\"ResourceType\":"
			"\"MappedVirtualDisk\",\"RequestType\":\"Add\"}}",
			a, &m, &err));
	CHECK_EQ(m->request->settings_case,
		 GCS__MODIFICATION_REQUEST__SETTINGS_MAPPED_VIRTUAL_DISK);
	CHECK_STREQ(m->request->mappedvirtualdisk->mountpath, "/run/gcs/c/c1");
	CHECK_EQ(m->request->mappedvirtualdisk->lun, 1);
	CHECK(m->request->mappedvirtualdisk->ensurefilesystem);

	CHECK_OK(decode(&gcs__container_modify_settings__descriptor,
			"{\"Request\":{\"ResourceType\":\"ContainerConstraints\",\"Settings\":"
			"{\"Linux\":{\"memory\":{\"limit\":536870912}}}}}",
			a, &m, &err));
	CHECK(codec_json_tree(m->request->containerconstraints->linux) != NULL);
	CHECK(m->request->containerconstraints->windows == NULL);

	/* no Settings at all */
	CHECK_OK(decode(&gcs__container_modify_settings__descriptor,
			"{\"Request\":{\"ResourceType\":\"PodCgroupMemoryLimit\",\"RequestType\":"
			"\"Update\"}}",
			a, &m, &err));
	CHECK_EQ(m->request->settings_case, GCS__MODIFICATION_REQUEST__SETTINGS__NOT_SET);
	arena_free(a);
}

TEST(decode_unknown_resource_type_fails_like_the_reference)
{
	struct arena *a = arena_new();
	struct error err;
	void *m;

	CHECK(decode(&gcs__container_modify_settings__descriptor,
		     "{\"Request\":{\"ResourceType\":\"HvSocket\",\"Settings\":{}}}", a, &m,
		     &err) < 0);
	CHECK_EQ(err.kind, ERR_FAIL);
	CHECK_STREQ(err.msg, "invalid ResourceType 'HvSocket'");
	/* a member name given as a key is not a way in */
	CHECK(decode(&gcs__container_modify_settings__descriptor,
		     "{\"Request\":{\"ResourceType\":\"Settings\",\"MappedVirtualDisk\":{}}}", a,
		     &m, &err) < 0);
	arena_free(a);
}

TEST(encode_omits_zero_values_but_keeps_result)
{
	Gcs__ResponseBase base = GCS__RESPONSE_BASE__INIT;
	char *s = encode(&base.base);

	CHECK_STREQ(s, "{\"Result\":0}");
	free(s);
	base.result = (int32_t)0x80004005u;
	base.activityid = "00000000-0000-0000-0000-000000000000";
	s = encode(&base.base);
	CHECK_STREQ(
		s,
		"{\"Result\":-2147467259,\"ActivityId\":\"00000000-0000-0000-0000-000000000000\"}");
	free(s);
}

TEST(encode_wait_response_always_has_exit_code)
{
	Gcs__ContainerWaitForProcessResponse r = GCS__CONTAINER_WAIT_FOR_PROCESS_RESPONSE__INIT;
	char *s = encode(&r.base);

	CHECK_STREQ(s, "{\"ExitCode\":0}");
	free(s);
	r.exitcode = UINT32_MAX;
	s = encode(&r.base);
	CHECK_STREQ(s, "{\"ExitCode\":4294967295}");
	free(s);
}

TEST(encode_properties_as_a_json_string)
{
	Gcs__ContainerGetPropertiesResponse r = GCS__CONTAINER_GET_PROPERTIES_RESPONSE__INIT;
	Gcs__Properties p = GCS__PROPERTIES__INIT;
	Gcs__ProcessDetails d1 = GCS__PROCESS_DETAILS__INIT, d2 = GCS__PROCESS_DETAILS__INIT;
	Gcs__ProcessDetails *list[] = {&d1, &d2};
	struct arena *a = arena_new();
	struct json_object *metrics = parse("{\"pids\":{\"current\":3}}");
	char *s;

	s = encode(&r.base); /* nothing asked: still a string */
	CHECK_STREQ(s, "{\"Properties\":\"{}\"}");
	free(s);
	d1.processid = 1234;
	d2.processid = 0;
	p.processlist = list;
	p.n_processlist = 2;
	p.lcowmetrics = codec_json_wrap(a, metrics);
	r.properties = &p;
	s = encode(&r.base);
	CHECK_STREQ(s, "{\"Properties\":\"{\\\"ProcessList\\\":[{\\\"ProcessId\\\":1234},"
		       "{\\\"ProcessId\\\":0}],\\\"LCOWMetrics\\\":{\\\"pids\\\":{\\\"current\\\":"
		       "3}}}\"}");
	free(s);
	json_object_put(metrics);
	arena_free(a);
}

TEST(encode_negotiate_capabilities_object_always_present)
{
	Gcs__NegotiateProtocolResponse r = GCS__NEGOTIATE_PROTOCOL_RESPONSE__INIT;
	Gcs__GcsCapabilities caps = GCS__GCS_CAPABILITIES__INIT;
	Gcs__GcsGuestCapabilities g = GCS__GCS_GUEST_CAPABILITIES__INIT;
	char *s;

	caps.runtimeostype = "Linux";
	caps.guestdefinedcapabilities = &g;
	r.version = 4;
	r.capabilities = &caps;
	s = encode(&r.base);
	CHECK_STREQ(s, "{\"Version\":4,\"Capabilities\":{\"RuntimeOsType\":\"Linux\","
		       "\"GuestDefinedCapabilities\":{}}}");
	free(s);
}

TEST(encode_map_and_uint64)
{
	Gcs__ProcessParameters p = GCS__PROCESS_PARAMETERS__INIT;
	Gcs__ProcessParameters__EnvironmentEntry e =
		GCS__PROCESS_PARAMETERS__ENVIRONMENT_ENTRY__INIT;
	Gcs__ProcessParameters__EnvironmentEntry *env[] = {&e};
	Gcs__LCOWVPMemMappingInfo mi = GCS__LCOWVPMEM_MAPPING_INFO__INIT;
	char *s;

	e.key = "K";
	e.value = "v";
	p.environment = env;
	p.n_environment = 1;
	s = encode(&p.base);
	CHECK_STREQ(s, "{\"Environment\":{\"K\":\"v\"}}");
	free(s);
	mi.devicesizeinbytes = UINT64_MAX;
	s = encode(&mi.base);
	CHECK_STREQ(s, "{\"DeviceSizeInBytes\":18446744073709551615}");
	free(s);
}

TEST(decode_then_encode_round_trips_a_notification)
{
	const char *in = "{\"ContainerId\":\"c1\",\"ActivityId\":\"00000000-0000-0000-0000-"
			 "000000000000\",\"Type\":\"UnexpectedExit\",\"Operation\":\"None\","
			 "\"Result\":0}";
	struct arena *a = arena_new();
	Gcs__ContainerNotification *n;
	struct error err;
	char *s;

	CHECK_OK(decode(&gcs__container_notification__descriptor, in, a, &n, &err));
	s = encode(&n->base);
	CHECK_STREQ(s, in);
	free(s);
	arena_free(a);
}
