/* Where the guest's "vsock port P" connections go.
 *
 * In the utility VM every connection is an AF_VSOCK stream dialled to the host
 * (CID 2). Off-VM (tests, the build machine) the same code dials the unix
 * socket "<prefix>_<P>" instead; a host-side test library or the vhost-user
 * vsock backend listens there. The spec string is "vsock" or "unix:<prefix>",
 * given by gcs's -transport flag or, for init and vsockexec, by the
 * LCOW_TRANSPORT environment variable. */
#ifndef LCOW_TRANSPORT_H
#define LCOW_TRANSPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/un.h>

#define TRANSPORT_ENV "LCOW_TRANSPORT"
/* Set by the test harness: refuse AF_VSOCK so that no test can ever reach
 * the build machine's own vsock. */
#define TRANSPORT_FORBID_VSOCK_ENV "LCOW_FORBID_VSOCK"
#define VSOCK_HOST_CID 2u

struct transport {
	bool is_unix;
	char unix_prefix[sizeof(((struct sockaddr_un *)0)->sun_path) - 12];
};

/* Parses "vsock" or "unix:<prefix>". Returns 0 or -EINVAL / -ENAMETOOLONG. */
int transport_parse(const char *spec, struct transport *t);

/* Reads TRANSPORT_ENV (default: vsock). Returns 0 or a negative errno. */
int transport_from_env(struct transport *t);

/* Connects a stream socket to the host's port. Returns a CLOEXEC fd or a
 * negative errno (-EPERM when vsock is forbidden by the environment). */
int transport_dial(const struct transport *t, uint32_t port);

/* Writes "<prefix>_<port>" (unix) or "vsock:2:<port>" into buf, for messages. */
void transport_describe(const struct transport *t, uint32_t port, char *buf, size_t len);

#endif
