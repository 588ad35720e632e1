/* The stdio of a container process (spec §3.4, §6.3): which streams the
 * host wants, dialling their ports, and the pipes of an exec'd process. The
 * init's pipes (or console) are made at create time (create.c).
 *
 * No <stdio.h> here: its stdin/stdout/stderr macros clash with the fields of
 * VsockStdioRelaySettings. */
#include "containers/container.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/dial.h"

static const char *const stream_names[] = {"stdin", "stdout", "stderr"};

int cstdio_request(const Gcs__ExecuteProcessSettings *s, struct cstdio_req *r, struct error *err)
{
	static const char *const keys[] = {"StdIn", "StdOut", "StdErr"};
	const Gcs__ExecuteProcessVsockStdioRelaySettings *v = s->vsockstdiorelaysettings;
	const Gcs__ProcessParameters *p = s->processparameters;

	*r = (struct cstdio_req){0};
	if (!p)
		return error_set(err, ERR_BAD_JSON, EINVAL, "ProcessParameters is missing");
	r->want[0] = p->createstdinpipe;
	r->want[1] = p->createstdoutpipe;
	r->want[2] = p->createstderrpipe;
	if (v) {
		r->port[0] = v->stdin;
		r->port[1] = v->stdout;
		r->port[2] = v->stderr;
	}
	for (int i = 0; i < 3; i++)
		if (r->want[i] && !r->port[i])
			return error_set(err, ERR_INVALID_ARG, EINVAL,
					 "CreateStd%sPipe is set but VsockStdioRelaySettings.%s "
					 "gives no port",
					 keys[i] + 3, keys[i]);
	return 0;
}

void cstdio_close_fds(int *fds, int n)
{
	for (int i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

void cstdio_close(struct cstdio *io)
{
	cstdio_close_fds(io->conn, 3);
	cstdio_close_fds(&io->in_dst, 1);
	cstdio_close_fds(io->out_src, 2);
	cstdio_close_fds(&io->console, 1);
}

int cstdio_dial(struct gcs *g, const struct cstdio_req *r, int conn[3], struct error *err)
{
	for (int i = 0; i < 3; i++) {
		if (!r->want[i])
			continue;
		conn[i] = gcs_dial(&g->transport, r->port[i], err);
		if (conn[i] < 0) {
			cstdio_close_fds(conn, 3);
			return error_prefix(err, "%s", stream_names[i]);
		}
	}
	return 0;
}

int cstdio_pipes(struct cstdio *io, int child[3], struct error *err)
{
	int p[2];

	for (int i = 0; i < 3; i++) {
		child[i] = -1;
		if (io->conn[i] < 0)
			continue;
		if (pipe2(p, O_CLOEXEC) < 0) {
			int e = errno;

			cstdio_close_fds(child, i);
			return error_errno(err, e, "%s pipe", stream_names[i]);
		}
		/* stdin: the child reads; stdout/stderr: the child writes. */
		child[i] = p[i == 0 ? 0 : 1];
		if (i == 0)
			io->in_dst = p[1];
		else
			io->out_src[i - 1] = p[0];
	}
	return 0;
}
