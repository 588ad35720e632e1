/* Constants and small helpers of the bridge wire format
 * (bridge-protocol.md §2): message identifiers, limits, GUIDs. */
#ifndef GCS_BRIDGE_WIRE_H
#define GCS_BRIDGE_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Message identifier: | type:4 | category:8 | id:12 | version:8 | */
#define WIRE_TYPE_MASK 0xF0000000u
#define WIRE_TYPE_REQUEST 0x10000000u
#define WIRE_TYPE_RESPONSE 0x20000000u
#define WIRE_TYPE_NOTIFICATION 0x30000000u

enum wire_msg {
	MSG_CREATE = 0x10100101u,
	MSG_START = 0x10100201u,
	MSG_SHUTDOWN_GRACEFUL = 0x10100301u,
	MSG_SHUTDOWN_FORCED = 0x10100401u,
	MSG_EXECUTE_PROCESS = 0x10100501u,
	MSG_WAIT_FOR_PROCESS = 0x10100601u,
	MSG_SIGNAL_PROCESS = 0x10100701u,
	MSG_RESIZE_CONSOLE = 0x10100801u,
	MSG_GET_PROPERTIES = 0x10100901u,
	MSG_MODIFY_SETTINGS = 0x10100a01u,
	MSG_NEGOTIATE_PROTOCOL = 0x10100b01u,
	MSG_DUMP_STACKS = 0x10100c01u,
	MSG_DELETE_CONTAINER_STATE = 0x10100d01u,
	MSG_UPDATE_CONTAINER = 0x10100e01u,
	MSG_LIFECYCLE_NOTIFICATION = 0x10100f01u,
	MSG_MODIFY_SERVICE_SETTINGS = 0x10200101u,
	MSG_CONTAINER_NOTIFICATION = 0x30100101u,
};

#define WIRE_HEADER_SIZE 16u
/* The host kills the bridge on any guest message larger than this. */
#define WIRE_MAX_GUEST_MESSAGE 65536u
/* Cap on host messages. The reference guest has none; the largest a real
 * host sends are a Create with a big OCI spec (Kubernetes caps an object at
 * 1.5 MiB) and security policies (tens to hundreds of KiB), so 8 MiB leaves
 * room while a parsed message (codec.c bounds its elements) stays within
 * 64 MiB of memory. */
#define WIRE_MAX_HOST_MESSAGE (8u << 20)

#define WIRE_PROTOCOL_VERSION 4u
#define WIRE_NULL_GUID "00000000-0000-0000-0000-000000000000"

/* The response identifier of a request identifier. */
static inline uint32_t wire_response_type(uint32_t request_type)
{
	return WIRE_TYPE_RESPONSE | (request_type & ~WIRE_TYPE_MASK);
}

/* "Create", "ExecuteProcess", ... or NULL for an unknown identifier. */
const char *wire_msg_name(uint32_t type);

/* True for "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx" (hex digits, any case): the
 * only ActivityId shape the host accepts back. */
bool wire_guid_valid(const char *s);

/* True when id addresses the utility VM itself (the null GUID). */
bool wire_is_uvm_id(const char *id);

#endif
