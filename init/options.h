/* The argument contract of /init (guest-image.md §2.2): what hcsshim puts
 * after "--" on the kernel command line. */
#ifndef LCOW_INIT_OPTIONS_H
#define LCOW_INIT_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct init_options {
	char *const *child_argv; /* NULL-terminated; NULL when only -d runs */
	const char *debug_shell; /* -d: launched last, becomes the primary child */
	uint32_t entropy_port;	 /* -e: 0 when absent */
	bool overlays;		 /* -w: writable /etc and /var */
};

/* Fills o from argv. No arguments at all selects the LCOWv1 default
 * (/bin/gcs with a log file, plus /bin/sh as the primary child). Returns 0,
 * or -EINVAL with a one-line reason in err. */
int init_options_parse(int argc, char **argv, struct init_options *o, char *err, size_t errlen);

#endif
