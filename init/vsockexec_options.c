#include "vsockexec_options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "opt.h"

static int __attribute__((format(printf, 3, 4)))
vx_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int vx_options_parse(int argc, char **argv, struct vx_options *o, char *err, size_t errlen)
{
	static const char streams[] = "ioe";
	struct init_opt it;
	int c;

	memset(o, 0, sizeof(*o));
	init_opt_start(&it, argc, argv, "i:o:e:r");
	while ((c = init_opt_next(&it)) != -1) {
		const char *s = strchr(streams, c);

		if (c == 'r') {
			o->relay = true;
		} else if (c == ':') {
			return vx_fail(err, errlen, "option -%c needs a port", it.bad);
		} else if (c == '?' || !s) {
			return vx_fail(err, errlen, "unknown option -%c", it.bad);
		} else if (init_parse_port(it.arg, &o->port[s - streams]) < 0) {
			return vx_fail(err, errlen, "invalid port for -%c: '%s'", c, it.arg);
		}
	}
	if (it.ind >= argc || !argv[it.ind])
		return vx_fail(err, errlen, "missing program argument");
	o->argv = argv + it.ind;
	if (o->relay && !vx_relay_port(o))
		return vx_fail(err, errlen, "-r needs -o or -e to relay to");
	return 0;
}

uint32_t vx_relay_port(const struct vx_options *o)
{
	return o->port[2] ? o->port[2] : o->port[1];
}
