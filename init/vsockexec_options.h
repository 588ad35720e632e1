/* The argument contract of vsockexec (guest-image.md §2.6):
 *   vsockexec [-r] [-i port] [-o port] [-e port] [--] program [args...] */
#ifndef LCOW_INIT_VSOCKEXEC_OPTIONS_H
#define LCOW_INIT_VSOCKEXEC_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct vx_options {
	uint32_t port[3]; /* for fds 0, 1, 2; 0 leaves the fd alone */
	bool relay;	  /* -r */
	char **argv;	  /* the program and its arguments */
};

/* Returns 0, or -EINVAL with a one-line reason in err. */
int vx_options_parse(int argc, char **argv, struct vx_options *o, char *err, size_t errlen);

/* The port -r relays to: stderr's, else stdout's (0 if neither). */
uint32_t vx_relay_port(const struct vx_options *o);

#endif
