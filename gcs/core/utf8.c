/* UTF-8 on the way out (gcs/core/utf8.h). */
#include "core/utf8.h"

#include <stdbool.h>
#include <stdint.h>

/* Length of the well-formed sequence at s (at most n bytes), 0 if none. */
static size_t sequence_len(const unsigned char *s, size_t n)
{
	unsigned char c = s[0];
	size_t len;
	uint32_t cp, min;

	if (c < 0x80)
		return 1;
	if (c >= 0xC2 && c <= 0xDF)
		len = 2, cp = c & 0x1F, min = 0x80;
	else if (c >= 0xE0 && c <= 0xEF)
		len = 3, cp = c & 0x0F, min = 0x800;
	else if (c >= 0xF0 && c <= 0xF4)
		len = 4, cp = c & 0x07, min = 0x10000;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

size_t utf8_scrub(char *s, size_t len)
{
	unsigned char *p = (unsigned char *)s;
	size_t replaced = 0;

	for (size_t i = 0; i < len;) {
		size_t n = sequence_len(p + i, len - i);

		if (n) {
			i += n;
			continue;
		}
		p[i++] = '?';
		replaced++;
	}
	return replaced;
}

size_t utf8_valid_prefix(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, n;

	while (i < len && (n = sequence_len(p + i, len - i)))
		i += n;
	return i;
}
