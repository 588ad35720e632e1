/* What the gcs emits (replies, notifications, log lines) must be UTF-8: the
 * host's Go decoders and log parsers expect it. Requests that are not UTF-8
 * are refused when parsed (bridge/codec.c); text from other sources (file
 * names, tool output) may still carry invalid bytes, which are replaced on
 * the way out. */
#ifndef GCS_CORE_UTF8_H
#define GCS_CORE_UTF8_H

#include <stddef.h>

/* Replaces, in place, every byte that is not part of a well-formed UTF-8
 * sequence (RFC 3629: no overlong forms, no surrogates, at most U+10FFFF)
 * with '?', which keeps the length and any JSON around it valid. Returns
 * how many bytes it replaced. */
size_t utf8_scrub(char *s, size_t len);

/* How many bytes at the start of s are well-formed UTF-8 (len: all). */
size_t utf8_valid_prefix(const char *s, size_t len);

#endif
