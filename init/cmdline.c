#include "cmdline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "file.h"

int init_cmdline_read(char *buf, size_t len)
{
	const char *path = getenv(INIT_CMDLINE_ENV);

	if (len == 0)
		return -EINVAL;
	return init_read_text(path && *path ? path : "/proc/cmdline", buf, len);
}

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/* Compares the parameter starting at *p with param and moves *p past it. */
static bool param_matches(const char **p, const char *param)
{
	const char *s = *p, *want = param;
	bool quoted = false, same = true;

	for (; *s && (quoted || !is_space(*s)); s++) {
		if (*s == '"') {
			quoted = !quoted;
			continue;
		}
		if (same && *want == *s)
			want++;
		else
			same = false;
	}
	*p = s;
	return same && *want == '\0';
}

bool init_cmdline_has(const char *cmdline, const char *param)
{
	const char *p = cmdline;

	for (;;) {
		while (is_space(*p))
			p++;
		if (*p == '\0')
			return false;
		if (p[0] == '-' && p[1] == '-' && (p[2] == '\0' || is_space(p[2])))
			return false;
		if (param_matches(&p, param))
			return true;
	}
}
