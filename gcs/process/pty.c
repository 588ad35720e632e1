/* The pty pair of a console process (spec §3.4, EmulateConsole). */
#include "process/process.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include "cleanup.h"

/* The slave through the master (TIOCGPTPEER) needs no /dev/pts path lookup;
 * kernels before 4.13 get the path. */
static int open_slave(int master, struct error *err)
{
	char path[32];
	unsigned n;
	int fd;

	fd = ioctl(master, TIOCGPTPEER, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd >= 0)
		return fd;
	if (ioctl(master, TIOCGPTN, &n) < 0)
		return error_errno(err, errno, "pty: TIOCGPTN");
	snprintf(path, sizeof(path), "/dev/pts/%u", n);
	fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(err, errno, "pty: open %s", path);
	return fd;
}

int process_pty_open(int *master_out, int *slave_out, unsigned rows, unsigned cols,
		     struct error *err)
{
	_cleanup_close_ int master = -1, slave = -1;
	int unlock = 0, rc;

	master = open("/dev/ptmx", O_RDWR | O_NOCTTY | O_CLOEXEC);
	if (master < 0)
		return error_errno(err, errno, "pty: open /dev/ptmx");
	if (ioctl(master, TIOCSPTLCK, &unlock) < 0)
		return error_errno(err, errno, "pty: unlock");
	slave = open_slave(master, err);
	if (slave < 0)
		return slave;
	/* Only root may use the console of a process the host started. */
	if (fchown(slave, 0, 0) < 0 && errno != EPERM)
		return error_errno(err, errno, "pty: chown slave");
	if (fchmod(slave, 0600) < 0)
		return error_errno(err, errno, "pty: chmod slave");
	if (rows && cols) {
		rc = process_pty_resize(master, rows, cols, err);
		if (rc < 0)
			return rc;
	}
	*master_out = TAKE_FD(master);
	*slave_out = TAKE_FD(slave);
	return 0;
}

int process_pty_resize(int master, uint32_t rows, uint32_t cols, struct error *err)
{
	struct winsize ws = {0};

	if (rows > 0xFFFF || cols > 0xFFFF)
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "console size %ux%u does not fit a terminal's 16-bit fields", rows,
				 cols);
	ws.ws_row = (unsigned short)rows;
	ws.ws_col = (unsigned short)cols;
	if (ioctl(master, TIOCSWINSZ, &ws) < 0)
		return error_errno(err, errno, "resize console");
	return 0;
}

int process_console_resize(pid_t pid, bool had_console, int console, uint32_t rows, uint32_t cols,
			   struct error *err)
{
	int rc;

	if (!had_console)
		return error_set(err, ERR_FAIL, ENOTTY, "ResizeConsole: process %d has no console",
				 (int)pid);
	if (console < 0)
		return 0;
	rc = process_pty_resize(console, rows, cols, err);
	if (rc < 0)
		return error_prefix(err, "ResizeConsole");
	return 0;
}
