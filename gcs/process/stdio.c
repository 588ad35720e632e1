/* The stdio of a UVM process: the host connections and what sits between
 * them and the child.
 *
 * The reference GCS hands the sockets themselves to a non-console child as
 * fds 0-2. This gcs relays through pipes instead, for every process:
 *   - WaitForProcess must answer only once the output has reached the host
 *     (spec §6.3): with a relay the gcs knows that moment (pipe EOF, all
 *     bytes written, SHUT_WR) rather than guessing from the exit alone;
 *   - the child sees the same kind of stdio as a container process (pipes),
 *     and EPIPE/SIGPIPE still reach it when the host closes early: the
 *     relay then closes the pipe's read end;
 *   - one relay engine (gcs/process/relay.h) serves UVM and container processes.
 * The cost is one splice(2) per chunk (no copy through user space). */
#include "process/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "core/dial.h"
#include "process/process.h"

static const char *const stream_names[] = {"stdin", "stdout", "stderr"};

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

void uvm_stdio_close_child(struct uvm_stdio *io)
{
	for (int i = 0; i < 3; i++)
		if (io->child[i] == io->slave)
			io->child[i] = -1;
	for (int i = 0; i < 3; i++)
		close_fd(&io->child[i]);
	close_fd(&io->slave);
}

void uvm_stdio_close(struct uvm_stdio *io)
{
	uvm_stdio_close_child(io);
	for (int i = 0; i < 3; i++)
		close_fd(&io->conn[i]);
	close_fd(&io->in_dst);
	close_fd(&io->out_src[0]);
	close_fd(&io->out_src[1]);
	close_fd(&io->master);
}

static int dial_streams(const struct transport *t, const struct uvm_command *c,
			struct uvm_stdio *io, struct error *err)
{
	for (int i = 0; i < 3; i++) {
		if (!c->want[i])
			continue;
		io->conn[i] = gcs_dial(t, c->port[i], err);
		if (io->conn[i] < 0)
			return error_prefix(err, "%s", stream_names[i]);
	}
	return 0;
}

/* fds[0] goes to the reader, fds[1] to the writer. */
static int make_pipe(int fds[2], const char *name, struct error *err)
{
	if (pipe2(fds, O_CLOEXEC) < 0)
		return error_errno(err, errno, "%s pipe", name);
	return 0;
}

static int open_pipes(struct uvm_stdio *io, struct error *err)
{
	int p[2], rc;

	if (io->conn[STDIO_IN] >= 0) {
		rc = make_pipe(p, "stdin", err);
		if (rc < 0)
			return rc;
		io->child[STDIO_IN] = p[0];
		io->in_dst = p[1];
	}
	for (int i = STDIO_OUT; i <= STDIO_ERR; i++) {
		if (io->conn[i] < 0)
			continue;
		rc = make_pipe(p, stream_names[i], err);
		if (rc < 0)
			return rc;
		io->out_src[i - 1] = p[0];
		io->child[i] = p[1];
	}
	return 0;
}

/* The output is read from the master even when nobody receives it: a
 * console whose buffer fills would block the child for good. */
static int open_console(const struct uvm_command *c, struct uvm_stdio *io, struct error *err)
{
	int rc = process_pty_open(&io->master, &io->slave, c->rows, c->cols, err);

	if (rc < 0)
		return rc;
	for (int i = 0; i < 3; i++)
		io->child[i] = io->slave;
	io->out_src[0] = fcntl(io->master, F_DUPFD_CLOEXEC, 3);
	if (io->out_src[0] < 0)
		return error_errno(err, errno, "dup pty master");
	if (io->conn[STDIO_IN] < 0)
		return 0;
	io->in_dst = fcntl(io->master, F_DUPFD_CLOEXEC, 3);
	if (io->in_dst < 0)
		return error_errno(err, errno, "dup pty master");
	return 0;
}

int uvm_stdio_open(const struct transport *t, const struct uvm_command *c, struct uvm_stdio *io,
		   struct error *err)
{
	int rc;

	*io = (struct uvm_stdio)UVM_STDIO_INIT;
	rc = dial_streams(t, c, io, err);
	if (rc == 0)
		rc = c->console ? open_console(c, io, err) : open_pipes(io, err);
	if (rc < 0)
		uvm_stdio_close(io);
	return rc;
}
