#include "bridge/hresult.h"

uint32_t hresult_of(enum error_kind kind)
{
	switch (kind) {
	case ERR_INVALID_ARG:
		return HR_INVALID_ARG;
	case ERR_BAD_JSON:
		return HR_INVALID_JSON;
	case ERR_NOT_FOUND:
		return HR_NOT_FOUND;
	case ERR_NO_CONTAINER:
		return HR_SYSTEM_NOT_FOUND;
	case ERR_EXISTS:
		return HR_SYSTEM_EXISTS;
	case ERR_INVALID_STATE:
		return HR_INVALID_STATE;
	case ERR_ALREADY_STOPPED:
		return HR_SYSTEM_STOPPED;
	case ERR_TIMEOUT:
		return HR_WAIT_TIMEOUT;
	case ERR_NOT_IMPLEMENTED:
		return HR_E_NOTIMPL;
	case ERR_PROTOCOL_VERSION:
		return HR_UNSUPPORTED_PROTOCOL;
	case ERR_FAIL:
		break;
	}
	return HR_E_FAIL;
}
