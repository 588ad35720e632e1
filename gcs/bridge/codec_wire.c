/* The one documented place for what proto3 cannot express about the bridge's
 * JSON (bridge-protocol.md §2.6, §3). The codec is otherwise generic. */
#include "bridge/codec_wire.h"

#include <string.h>

#include "cleanup.h"
#include "gcs.pb-c.h"

struct field_ref {
	const ProtobufCMessageDescriptor *msg;
	const char *field;
};

static bool field_listed(const struct field_ref *list, size_t n,
			 const ProtobufCMessageDescriptor *m, const ProtobufCFieldDescriptor *f)
{
	for (size_t i = 0; i < n; i++)
		if (list[i].msg == m && strcmp(list[i].field, f->name) == 0)
			return true;
	return false;
}

/* JSON strings whose content is another JSON document (§2.6). The host
 * decodes Properties by JSON-decoding the string, so it must stay a string. */
static const struct field_ref string_wrapped[] = {
	{&gcs__container_create__descriptor, "ContainerConfig"},
	{&gcs__execute_process_settings__descriptor, "ProcessParameters"},
	{&gcs__container_get_properties__descriptor, "Query"},
	{&gcs__container_get_properties_response__descriptor, "Properties"},
};

bool codec_wire_string_wrapped(const ProtobufCMessageDescriptor *m,
			       const ProtobufCFieldDescriptor *f)
{
	return field_listed(string_wrapped, ARRAY_SIZE(string_wrapped), m, f);
}

/* Fields the reference GCS writes without omitempty. Result must always be
 * present (§2.7); the others keep byte-for-byte parity with what the host has
 * been tested against (ExitCode 0, ProcessId, "FileName":"" ...). */
static const struct field_ref always_emit[] = {
	{&gcs__response_base__descriptor, "Result"},
	{&gcs__error_record__descriptor, "Result"},
	{&gcs__error_record__descriptor, "Message"},
	{&gcs__error_record__descriptor, "ModuleName"},
	{&gcs__error_record__descriptor, "FileName"},
	{&gcs__error_record__descriptor, "Line"},
	{&gcs__negotiate_protocol_response__descriptor, "Version"},
	{&gcs__negotiate_protocol_response__descriptor, "Capabilities"},
	{&gcs__gcs_capabilities__descriptor, "GuestDefinedCapabilities"},
	{&gcs__container_create_response__descriptor, "SelectedProtocolVersion"},
	{&gcs__container_execute_process_response__descriptor, "ProcessId"},
	{&gcs__container_wait_for_process_response__descriptor, "ExitCode"},
	{&gcs__container_get_properties_response__descriptor, "Properties"},
	{&gcs__process_details__descriptor, "ProcessId"},
	{&gcs__dump_stacks_response__descriptor, "GuestStacks"},
	{&gcs__container_notification__descriptor, "ContainerId"},
	{&gcs__container_notification__descriptor, "ActivityId"},
	{&gcs__container_notification__descriptor, "Type"},
	{&gcs__container_notification__descriptor, "Operation"},
	{&gcs__container_notification__descriptor, "Result"},
};

bool codec_wire_always_emit(const ProtobufCMessageDescriptor *m, const ProtobufCFieldDescriptor *f)
{
	return field_listed(always_emit, ARRAY_SIZE(always_emit), m, f);
}

/* ModifySettings: Request.Settings takes the shape named by
 * Request.ResourceType (the reference's UnmarshalContainerModifySettings). */
static const struct {
	const ProtobufCMessageDescriptor *msg;
	const char *key, *discriminator;
} polymorphic[] = {
	{&gcs__modification_request__descriptor, "Settings", "ResourceType"},
};

const char *codec_wire_polymorphic(const ProtobufCMessageDescriptor *m, const char **discriminator)
{
	for (size_t i = 0; i < ARRAY_SIZE(polymorphic); i++) {
		if (polymorphic[i].msg == m) {
			*discriminator = polymorphic[i].discriminator;
			return polymorphic[i].key;
		}
	}
	return NULL;
}

/* Free-form values (OCI spec and process, LinuxResources, metrics) stay
 * json-c trees: the guest passes them on (config.json, runc) rather than
 * interpreting every key, and must keep uint64 values exact. */
bool codec_wire_is_json(const ProtobufCMessageDescriptor *m)
{
	return m == &gcs__json__descriptor;
}
