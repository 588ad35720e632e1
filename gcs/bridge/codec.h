/* The JSON <-> message codec: one generic codec for every bridge message,
 * driven by the protobuf-c descriptors of proto/gcs.proto. Field names are
 * the JSON keys; the wire's special cases (string-wrapped JSON, the
 * polymorphic ModifySettings Settings, free-form trees, always-emitted
 * fields) are declared in gcs/bridge/codec_wire.c and nowhere else.
 *
 * Decoding follows Go's encoding/json as the reference GCS uses it: unknown
 * keys are ignored, keys match exactly or else case-insensitively, null
 * leaves a field at its zero value, a value of the wrong JSON type or out of
 * the field's range is an error. Every decoding error is ERR_BAD_JSON
 * (0xC037010D) except an unknown ResourceType (ERR_FAIL, as the reference
 * answers) and a string holding a NUL character (ERR_INVALID_ARG).
 *
 * Encoding follows proto3's JSON mapping (zero values omitted, i.e. Go's
 * omitempty) except for the fields codec_wire.c lists as always emitted. */
#ifndef GCS_BRIDGE_CODEC_H
#define GCS_BRIDGE_CODEC_H

#include <stddef.h>

#include <json-c/json.h>
#include <protobuf-c/protobuf-c.h>

#include "core/arena.h"
#include "error.h"
#include "gcs.pb-c.h"

/* Serialisation flags for everything the guest writes (no "\/" escapes). */
#define CODEC_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* Parses exactly one JSON object from buf[0..len) (trailing whitespace, such
 * as the host's '\n', is accepted). *out gets a new reference. */
int codec_parse(const char *buf, size_t len, struct json_object **out, struct error *err);

/* Decodes a JSON object into a new message of type desc. Everything the
 * message points to lives in (or is kept alive by) the arena. */
int codec_decode(const ProtobufCMessageDescriptor *desc, struct json_object *obj, struct arena *a,
		 ProtobufCMessage **out, struct error *err);

/* Adds the fields of msg to the JSON object `into` (keys already there are
 * replaced). Fails only when out of memory. */
int codec_encode(const ProtobufCMessage *msg, struct json_object *into, struct error *err);

/* Free-form values (fields of type gcs.Json). A decoded Json field is never
 * NULL-valued: a JSON null leaves the field pointer NULL. */
struct json_object *codec_json_tree(const Gcs__Json *j);
/* A Json field value holding a new reference to tree (released with the
 * arena). NULL when out of memory. */
Gcs__Json *codec_json_wrap(struct arena *a, struct json_object *tree);

#endif
