/* The stdio of a UVM process: the host connections and what sits between
 * them and the child.
 *
 * Without a console the child gets the connections themselves as fds 0-2,
 * as the reference GCS and spec §6.3 do: it writes into the socket with no
 * copy in between. Relaying through pipes costs two more copies and, for a
 * vsock socket, splice(2) sends one page per packet; under a hypervisor
 * that ran at a third of the socket's speed. The output counts as
 * delivered once no process of the child's group holds the sockets
 * (holders.h): every byte is then in the socket, and the last close has
 * ended the stream, so WaitForProcess still answers after the drain.
 *
 * A console is a pty: its master is relayed (gcs/process/relay.h) to and
 * from the connections. */
#include "process/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
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

/* The child's stdio is the connections: the gcs keeps no copy (its close
 * after the spawn leaves the child's as the only ones). */
static int give_connections(struct uvm_stdio *io, struct error *err)
{
	for (int i = 0; i < 3; i++) {
		struct stat st;

		if (io->conn[i] < 0)
			continue;
		if (i != STDIO_IN) {
			if (fstat(io->conn[i], &st) < 0)
				return error_errno(err, errno, "%s connection", stream_names[i]);
			io->out_ino[i - 1] = st.st_ino;
		}
		io->child[i] = io->conn[i];
		io->conn[i] = -1;
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
		rc = c->console ? open_console(c, io, err) : give_connections(io, err);
	if (rc < 0)
		uvm_stdio_close(io);
	return rc;
}
