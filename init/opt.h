/* A re-entrant getopt for /init and vsockexec.
 *
 * hcsshim parses both command lines with getopt("+...") and the kernel
 * command line it writes depends on that grammar: options may be clustered
 * ("-wd sh"), an argument may be attached ("-e1") or separate ("-e 1"), "--"
 * ends the options and the first non-option ends them too (the leading "+"),
 * so the child command line after it is never touched. This iterator has the
 * same grammar without getopt's global state, so the parsers are unit-testable
 * and behave the same with musl and glibc. */
#ifndef LCOW_INIT_OPT_H
#define LCOW_INIT_OPT_H

#include <stdint.h>

struct init_opt {
	int argc;
	char **argv;
	const char *spec; /* option letters; ':' after one that takes an argument */
	int ind;	  /* next argv element to look at */
	int pos;	  /* offset inside a cluster such as "-wd" (0: none) */
	const char *arg;  /* argument of the option just returned */
	char bad;	  /* offending letter after '?' or ':' */
};

void init_opt_start(struct init_opt *it, int argc, char **argv, const char *spec);

/* Returns the next option letter, -1 when the options end (it->ind is then
 * the first operand), '?' for an unknown letter, ':' for a missing argument. */
int init_opt_next(struct init_opt *it);

/* Parses a vsock port: decimal, 1 .. 0xfffffffe (0 means "none" to hcsshim
 * and 0xffffffff is VMADDR_PORT_ANY). Returns 0 or -EINVAL / -ERANGE. */
int init_parse_port(const char *s, uint32_t *port);

#endif
