/* HRESULTs of the bridge (bridge-protocol.md §2.7). Only the bridge turns an
 * error kind (lib/error.h) into one of these. */
#ifndef GCS_BRIDGE_HRESULT_H
#define GCS_BRIDGE_HRESULT_H

#include <stdint.h>

#include "error.h"

#define HR_E_NOTIMPL 0x80004001u
#define HR_E_FAIL 0x80004005u
#define HR_NOT_FOUND 0x80070490u
#define HR_INVALID_ARG 0x80070057u
#define HR_WAIT_TIMEOUT 0xC0370109u
#define HR_UNSUPPORTED_PROTOCOL 0xC037010Cu
#define HR_INVALID_JSON 0xC037010Du
#define HR_SYSTEM_NOT_FOUND 0xC037010Eu
#define HR_SYSTEM_EXISTS 0xC037010Fu
#define HR_SYSTEM_STOPPED 0xC0370110u
#define HR_INVALID_STATE 0x80370105u

/* The HRESULT the host should see for an error of this kind. */
uint32_t hresult_of(enum error_kind kind);

#endif
