/* Standard base64 (RFC 4648 §4, with padding), as the host encodes security
 * policies and UVM references (Go's base64.StdEncoding). */
#ifndef GCS_CORE_BASE64_H
#define GCS_CORE_BASE64_H

#include <stddef.h>

/* Decodes src into a new NUL-terminated buffer (*out, length *n; free it).
 * CR and LF are skipped, as Go's decoder does. -EINVAL on anything else
 * outside the alphabet, bad padding or a truncated group; -ENOMEM. */
int base64_decode(const char *src, char **out, size_t *n);

#endif
