/* Command-line flags with the syntax of Go's flag package, which hcsshim's
 * command lines assume: -name value, -name=value, --name, --name=value;
 * boolean flags take no separate value (-x, -x=true, -x=false); parsing stops
 * at the first argument that is not a flag, or after "--". */
#ifndef GCS_FLAGS_H
#define GCS_FLAGS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

enum flag_type {
	FLAG_BOOL,
	FLAG_STRING,
	FLAG_UINT64
};

struct flag {
	const char *name;
	enum flag_type type;
	void *value; /* bool *, const char **, uint64_t * */
	const char *usage;
};

/* Parses argv[1..]. Returns the index (>= 1) of the first positional
 * argument, -EAGAIN for -h/-help (when not defined as flags), or -EINVAL with
 * err holding Go's message ("flag provided but not defined: -x"). */
int flags_parse(struct flag *flags, size_t n, int argc, char *const argv[], struct error *err);

/* Go's strconv.ParseBool / ParseUint(s, 0, 64). */
int flags_parse_bool(const char *s, bool *out);
int flags_parse_uint64(const char *s, uint64_t *out);

/* Usage text ("  -name value\n    \tusage\n" per flag), malloc'ed. */
char *flags_usage(const struct flag *flags, size_t n, const char *prog);

#endif
