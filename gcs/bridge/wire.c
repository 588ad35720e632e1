#include "bridge/wire.h"

#include <ctype.h>
#include <string.h>

#include "cleanup.h"

static const struct {
	uint32_t type;
	const char *name;
} msg_names[] = {
	{MSG_CREATE, "Create"},
	{MSG_START, "Start"},
	{MSG_SHUTDOWN_GRACEFUL, "ShutdownGraceful"},
	{MSG_SHUTDOWN_FORCED, "ShutdownForced"},
	{MSG_EXECUTE_PROCESS, "ExecuteProcess"},
	{MSG_WAIT_FOR_PROCESS, "WaitForProcess"},
	{MSG_SIGNAL_PROCESS, "SignalProcess"},
	{MSG_RESIZE_CONSOLE, "ResizeConsole"},
	{MSG_GET_PROPERTIES, "GetProperties"},
	{MSG_MODIFY_SETTINGS, "ModifySettings"},
	{MSG_NEGOTIATE_PROTOCOL, "NegotiateProtocol"},
	{MSG_DUMP_STACKS, "DumpStacks"},
	{MSG_DELETE_CONTAINER_STATE, "DeleteContainerState"},
	{MSG_UPDATE_CONTAINER, "UpdateContainer"},
	{MSG_LIFECYCLE_NOTIFICATION, "LifecycleNotification"},
	{MSG_MODIFY_SERVICE_SETTINGS, "ModifyServiceSettings"},
	{MSG_CONTAINER_NOTIFICATION, "ContainerNotification"},
};

const char *wire_msg_name(uint32_t type)
{
	for (size_t i = 0; i < ARRAY_SIZE(msg_names); i++)
		if (msg_names[i].type == type)
			return msg_names[i].name;
	return NULL;
}

bool wire_guid_valid(const char *s)
{
	if (!s || strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

bool wire_is_uvm_id(const char *id)
{
	return id && strcmp(id, WIRE_NULL_GUID) == 0;
}
