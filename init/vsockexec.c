/* vsockexec: puts stdin/stdout/stderr on connections to host ports, then
 * execs a program; hcsshim starts the GCS as "vsockexec -e 109 /bin/gcs ..."
 * so that the GCS's stderr is the host's log stream. With -r it stays as
 * the program's parent and relays its output instead (relay.h).
 *
 * The connections are AF_VSOCK to the host (CID 2), or the unix sockets
 * "<prefix>_<port>" with LCOW_TRANSPORT=unix:<prefix> (lib/transport.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "klog.h"
#include "relay.h"
#include "transport.h"
#include "vsockexec_options.h"

/* Dials port, keeping the socket clear of fds 0-2: those are the targets of
 * the dup2() calls, and a socket sitting there would be overwritten. */
static int dial_high(const struct transport *t, uint32_t port)
{
	int fd = transport_dial(t, port), high;

	if (fd < 0 || fd > STDERR_FILENO)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
	close(fd);
	return high < 0 ? -errno : high;
}

/* Closes each distinct socket once (all are above fd 2). */
static void close_shared(const int fds[3])
{
	for (int i = 0; i < 3; i++) {
		bool seen = false;

		for (int j = 0; j < i; j++)
			seen |= fds[j] == fds[i];
		if (fds[i] >= 0 && !seen)
			close(fds[i]);
	}
}

/* One connection per distinct port: streams naming the same port share it
 * (the host accepts one connection per port). */
static int connect_streams(const struct transport *t, const uint32_t port[3])
{
	int fds[3] = {-1, -1, -1};
	char where[128];

	for (int i = 0; i < 3; i++) {
		if (!port[i])
			continue;
		for (int j = 0; j < i && fds[i] < 0; j++)
			if (port[j] == port[i])
				fds[i] = fds[j];
		if (fds[i] >= 0)
			continue;
		fds[i] = dial_high(t, port[i]);
		if (fds[i] < 0) {
			transport_describe(t, port[i], where, sizeof(where));
			klog(KLOG_ERR, "connect %s: %s", where, strerror(-fds[i]));
			return -1;
		}
	}
	for (int i = 0; i < 3; i++)
		if (fds[i] >= 0 && dup2(fds[i], i) < 0)
			return -1;
	close_shared(fds);
	return 0;
}

int main(int argc, char **argv)
{
	struct vx_options o;
	struct transport t;
	char err[160];
	int r;

	klog_set_ident("vsockexec");
	if (vx_options_parse(argc, argv, &o, err, sizeof(err)) < 0) {
		klog(KLOG_ERR, "%s", err);
		fputs("usage: vsockexec [-r] [-i port] [-o port] [-e port] [--] program "
		      "[args...]\n",
		      stderr);
		return 1;
	}
	r = transport_from_env(&t);
	if (r < 0) {
		klog(KLOG_ERR, "bad %s: %s", TRANSPORT_ENV, strerror(-r));
		return 1;
	}
	if (o.relay)
		return vx_relay(&t, vx_relay_port(&o), o.argv);
	if (connect_streams(&t, o.port) < 0)
		return 1;
	execvp(o.argv[0], o.argv);
	klog(KLOG_ERR, "exec %s: %s", o.argv[0], strerror(errno));
	return 127;
}
