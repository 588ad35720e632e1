#include "core/base64.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

int base64_decode(const char *src, char **out, size_t *n)
{
	size_t len = strlen(src), o = 0;
	unsigned int acc = 0;
	int have = 0, pad = 0;
	char *buf = malloc(len / 4 * 3 + 4);

	if (!buf)
		return -ENOMEM;
	for (const char *p = src; *p; p++) {
		int v;

		if (*p == '\r' || *p == '\n')
			continue;
		if (*p == '=') {
			pad++;
			v = 0;
		} else {
			v = sextet(*p);
			/* Nothing but padding may follow padding. */
			if (v < 0 || pad)
				goto bad;
		}
		acc = acc << 6 | (unsigned int)v;
		if (++have < 4)
			continue;
		if (pad > 2)
			goto bad;
		buf[o++] = (char)(acc >> 16);
		if (pad < 2)
			buf[o++] = (char)(acc >> 8);
		if (pad < 1)
			buf[o++] = (char)acc;
		acc = 0;
		have = 0;
	}
	if (have)
		goto bad;
	buf[o] = '\0';
	*out = buf;
	*n = o;
	return 0;
bad:
	free(buf);
	return -EINVAL;
}
