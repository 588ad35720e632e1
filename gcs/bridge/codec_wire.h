/* The wire's special cases, consulted by the generic codec (codec.c) only.
 * The tables and their reasons are in codec_wire.c. */
#ifndef GCS_BRIDGE_CODEC_WIRE_H
#define GCS_BRIDGE_CODEC_WIRE_H

#include <stdbool.h>

#include <protobuf-c/protobuf-c.h>

/* The field holds a JSON document inside a JSON string. */
bool codec_wire_string_wrapped(const ProtobufCMessageDescriptor *m,
			       const ProtobufCFieldDescriptor *f);

/* The field is written even when it holds its zero value. */
bool codec_wire_always_emit(const ProtobufCMessageDescriptor *m, const ProtobufCFieldDescriptor *f);

/* When message m has a polymorphic JSON key, returns that key and sets
 * *discriminator to the name of the string field choosing the oneof member
 * (the member whose name equals the discriminator's value). NULL otherwise. */
const char *codec_wire_polymorphic(const ProtobufCMessageDescriptor *m, const char **discriminator);

/* Messages of this type are free-form JSON values. */
bool codec_wire_is_json(const ProtobufCMessageDescriptor *m);

#endif
