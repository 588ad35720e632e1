/* vsockexec -r: the program writes its stdout and stderr into a pipe and
 * vsockexec relays the pipe to one host port, redialling every 100 ms while
 * the host side is absent or after it drops, so that a missing log listener
 * (live migration) never stops the program. */
#ifndef LCOW_INIT_RELAY_H
#define LCOW_INIT_RELAY_H

#include <stdint.h>

struct transport;

#define VX_REDIAL_MS 100

/* Runs argv under the relay; returns its exit code (128 + signal when it
 * was killed), or 1 when it could not be started. */
int vx_relay(const struct transport *t, uint32_t port, char *const argv[]);

#endif
