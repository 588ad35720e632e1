/* Building guest -> host messages: header + JSON body in one buffer, never
 * larger than WIRE_MAX_GUEST_MESSAGE (the host kills the bridge on anything
 * bigger). Pure functions: no I/O, no bridge state. */
#ifndef GCS_BRIDGE_REPLY_H
#define GCS_BRIDGE_REPLY_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

#include "error.h"
#include "gcs.pb-c.h"

/* A response to request_type/id: {"Result":hresult, "ActivityId" (omitted
 * when NULL), "ErrorMessage"+"ErrorRecords" (when hresult != 0), then the
 * fields of resp (success only; resp may be NULL)}. When it would not fit,
 * the error text is cut; a success response that cannot fit becomes an
 * E_FAIL error saying so. *out is malloc'ed. */
int reply_build(uint32_t request_type, uint64_t id, const char *activity_id, uint32_t hresult,
		const char *errmsg, const ProtobufCMessage *resp, uint8_t **out, size_t *len,
		struct error *err);

/* A container notification (type 0x30100101, ID 0). -EMSGSIZE when it
 * cannot fit (nothing can be cut: a changed ContainerId would name a
 * container the host does not know). */
int notification_build(const Gcs__ContainerNotification *n, uint8_t **out, size_t *len,
		       struct error *err);

#endif
