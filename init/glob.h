/* Shell-style glob matching, as fnmatch(3) with no flags does it: '*', '?',
 * bracket expressions with ranges and '!' or '^' negation, and '\' quoting
 * the next character outside brackets. Byte-wise, no locale and no character classes
 * ("[[:alpha:]]"): what modules.alias patterns use (file2alias writes
 * '*', '?' and ranges such as "[0-2]").
 *
 * Not fnmatch itself because musl's brings its multibyte and case-mapping
 * tables, about 9 KB of a PID 1 that is to stay under 64 KB (init.mk). The
 * unit tests check this one against fnmatch. */
#ifndef LCOW_INIT_GLOB_H
#define LCOW_INIT_GLOB_H

#include <stdbool.h>

bool glob_match(const char *pattern, const char *s);

#endif
