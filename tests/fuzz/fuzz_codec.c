/* libFuzzer target: the JSON <-> message codec (gcs/bridge/codec.c) on
 * every message of proto/gcs.proto.
 *
 * Input: byte 0 picks the message type (index into `types`, modulo its
 * size: every request the host sends, the settings documents it wraps in
 * strings or puts in ModifySettings, and the guest's own replies and
 * notification, whose decoder the host-side tests use); the rest is the
 * message body as the host would send it. It goes through codec_parse() and
 * codec_decode() with the real descriptors and codec_wire.c's special cases
 * (string-wrapped JSON, the polymorphic ModifySettings Settings, free-form
 * trees).
 *
 * Asserted (abort on violation), for every input the decoder accepts:
 * - codec_encode() of the decoded message succeeds, and its serialisation
 *   (CODEC_JSON_FLAGS, what the guest writes) is valid UTF-8 and parses
 *   again with codec_parse() as one JSON object;
 * - that output decodes again with the same descriptor, and encoding the
 *   second message gives the same bytes (decode o encode is stable: what
 *   the guest writes, it reads back the same way). Not for messages that
 *   hold a polymorphic key (codec_wire_polymorphic(): ModifySettings'
 *   Settings): the encoder writes a oneof under its member's name, as
 *   proto3 JSON does, and the guest never writes those messages.
 * Plus ASan/UBSan on the whole path, and no leak (the arena owns the
 * message). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bridge/codec.h"
#include "bridge/codec_wire.h"
#include "core/arena.h"
#include "core/utf8.h"

static const ProtobufCMessageDescriptor *const types[] = {
	/* requests (bridge-protocol.md §3) */
	&gcs__message_base__descriptor, /* Start, Shutdown*, DumpStacks, DeleteContainerState */
	&gcs__negotiate_protocol_request__descriptor,
	&gcs__container_create__descriptor,
	&gcs__container_execute_process__descriptor,
	&gcs__container_wait_for_process__descriptor,
	&gcs__container_signal_process__descriptor,
	&gcs__container_resize_console__descriptor,
	&gcs__container_get_properties__descriptor,
	&gcs__container_modify_settings__descriptor,
	/* documents inside them */
	&gcs__vmhosted_container_settings_v2__descriptor,
	&gcs__process_parameters__descriptor,
	&gcs__execute_process_settings__descriptor,
	&gcs__execute_process_vsock_stdio_relay_settings__descriptor,
	&gcs__signal_process_options__descriptor,
	&gcs__property_query__descriptor,
	&gcs__modification_request__descriptor,
	&gcs__lcowmapped_virtual_disk__descriptor,
	&gcs__scsidevice__descriptor,
	&gcs__lcowmapped_directory__descriptor,
	&gcs__lcowmapped_vpmem_device__descriptor,
	&gcs__lcowvpmem_mapping_info__descriptor,
	&gcs__lcowcombined_layers__descriptor,
	&gcs__layer__descriptor,
	&gcs__device_verity_info__descriptor,
	&gcs__lcownetwork_adapter__descriptor,
	&gcs__lcowipconfig__descriptor,
	&gcs__lcowroute__descriptor,
	&gcs__lcowmapped_vpcidevice__descriptor,
	&gcs__lcowcontainer_constraints__descriptor,
	&gcs__confidential_options__descriptor,
	&gcs__security_policy_fragment__descriptor,
	&gcs__schema_version__descriptor,
	&gcs__protocol_support__descriptor,
	/* what the guest writes */
	&gcs__response_base__descriptor,
	&gcs__error_record__descriptor,
	&gcs__negotiate_protocol_response__descriptor,
	&gcs__gcs_capabilities__descriptor,
	&gcs__gcs_guest_capabilities__descriptor,
	&gcs__container_create_response__descriptor,
	&gcs__container_execute_process_response__descriptor,
	&gcs__container_wait_for_process_response__descriptor,
	&gcs__container_get_properties_response__descriptor,
	&gcs__properties__descriptor,
	&gcs__process_details__descriptor,
	&gcs__dump_stacks_response__descriptor,
	&gcs__container_notification__descriptor,
	&gcs__empty__descriptor,
};

#define N_TYPES (sizeof(types) / sizeof(types[0]))

static void die(const char *what, const ProtobufCMessageDescriptor *d, const char *a, const char *b)
{
	fprintf(stderr, "codec: %s (%s)\n  first:  %.2000s\n  second: %.2000s\n", what, d->name,
		a ? a : "", b ? b : "");
	abort();
}

/* Whether d or a message below it has a polymorphic key. */
static bool polymorphic(const ProtobufCMessageDescriptor *d, int depth)
{
	const char *disc;

	if (codec_wire_polymorphic(d, &disc))
		return true;
	for (unsigned i = 0; depth < 8 && i < d->n_fields; i++)
		if (d->fields[i].type == PROTOBUF_C_TYPE_MESSAGE &&
		    polymorphic(d->fields[i].descriptor, depth + 1))
			return true;
	return false;
}

/* Encodes msg into a new string (malloc'ed), checking it is valid UTF-8 and
 * one JSON object the codec parses; *tree gets that parse. */
static char *encode_checked(const ProtobufCMessageDescriptor *d, const ProtobufCMessage *msg,
			    struct json_object **tree)
{
	struct json_object *o = json_object_new_object();
	struct error err;
	const char *s;
	size_t len;
	char *copy;

	if (!o || codec_encode(msg, o, &err) < 0)
		die("codec_encode failed", d, err.msg, NULL);
	s = json_object_to_json_string_length(o, CODEC_JSON_FLAGS, &len);
	if (!s || strlen(s) != len)
		die("serialisation failed or holds a NUL", d, s, NULL);
	if (utf8_valid_prefix(s, len) != len)
		die("encoded output is not UTF-8", d, s, NULL);
	copy = strdup(s);
	json_object_put(o);
	if (!copy)
		abort();
	if (codec_parse(copy, len, tree, &err) < 0)
		die("encoded output does not parse", d, copy, err.msg);
	return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const ProtobufCMessageDescriptor *d;
	struct json_object *obj = NULL, *tree1 = NULL, *tree2 = NULL;
	ProtobufCMessage *msg, *msg2;
	struct arena *a;
	struct error err;
	char *out1, *out2;

	if (size < 1)
		return 0;
	d = types[data[0] % N_TYPES];
	if (codec_parse((const char *)data + 1, size - 1, &obj, &err) < 0)
		return 0;
	if (!json_object_is_type(obj, json_type_object))
		die("codec_parse accepted a document that is not an object", d,
		    json_object_to_json_string(obj), NULL);
	a = arena_new();
	if (!a)
		abort();
	if (codec_decode(d, obj, a, &msg, &err) < 0) {
		if (err.kind != ERR_BAD_JSON && err.kind != ERR_FAIL && err.kind != ERR_INVALID_ARG)
			die("decoding error of an unexpected kind", d, err.msg, NULL);
		goto out;
	}
	out1 = encode_checked(d, msg, &tree1);
	if (polymorphic(d, 0)) {
		free(out1);
		json_object_put(tree1);
		goto out;
	}
	if (codec_decode(d, tree1, a, &msg2, &err) < 0)
		die("the encoded message does not decode again", d, out1, err.msg);
	out2 = encode_checked(d, msg2, &tree2);
	if (strcmp(out1, out2) != 0)
		die("decode o encode is not stable", d, out1, out2);
	free(out1);
	free(out2);
	json_object_put(tree1);
	json_object_put(tree2);
out:
	arena_free(a);
	json_object_put(obj);
	return 0;
}
