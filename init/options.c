#include "options.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "opt.h"

/* LCOWv1 hosts start the UVM with no init arguments at all. */
static char *const lcow_v1_child[] = {
	"/bin/gcs", "-loglevel", "debug", "-logfile=/run/gcs/gcs.log", NULL,
};

static int __attribute__((format(printf, 3, 4)))
parse_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int init_options_parse(int argc, char **argv, struct init_options *o, char *err, size_t errlen)
{
	struct init_opt it;
	int c;

	memset(o, 0, sizeof(*o));
	if (argc <= 1) {
		o->child_argv = lcow_v1_child;
		o->debug_shell = "/bin/sh";
		return 0;
	}
	init_opt_start(&it, argc, argv, "d:e:w");
	while ((c = init_opt_next(&it)) != -1) {
		switch (c) {
		case 'd':
			if (it.arg[0] == '\0')
				return parse_fail(err, errlen, "-d needs a shell path");
			o->debug_shell = it.arg;
			break;
		case 'e':
			if (init_parse_port(it.arg, &o->entropy_port) < 0)
				return parse_fail(err, errlen, "invalid entropy port '%s'", it.arg);
			break;
		case 'w':
			o->overlays = true;
			break;
		case ':':
			return parse_fail(err, errlen, "option -%c needs an argument", it.bad);
		default:
			return parse_fail(err, errlen, "unknown option -%c", it.bad);
		}
	}
	if (it.ind < argc && argv[it.ind])
		o->child_argv = argv + it.ind;
	else if (!o->debug_shell)
		return parse_fail(err, errlen, "no child command given");
	return 0;
}
