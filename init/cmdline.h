/* The kernel command line as /init sees it. hcsshim puts one token for init
 * itself there, before "--": hcsshim.cgroup=v1 (skip the cgroup v2 attempt). */
#ifndef LCOW_INIT_CMDLINE_H
#define LCOW_INIT_CMDLINE_H

#include <stdbool.h>
#include <stddef.h>

/* For tests only: read the command line from this file instead of
 * /proc/cmdline (a PID-namespace test sees the build machine's). */
#define INIT_CMDLINE_ENV "LCOW_INIT_CMDLINE"

/* Reads the command line into buf (NUL-terminated, truncated to fit).
 * Returns 0 or a negative errno. */
int init_cmdline_read(char *buf, size_t len);

/* True when param is one whole kernel parameter of cmdline. Parameters are
 * split on white space except inside double quotes, the quotes themselves
 * are not part of the value (the kernel's own rule), and "--" ends the
 * parameters: what follows is init's argv, not a kernel parameter. */
bool init_cmdline_has(const char *cmdline, const char *param);

#endif
