#include "steps.h"

#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

/* The kernel opens /dev/console as fds 0-2 of init only when the root has
 * that node when init starts; an initramfs without it leaves them closed.
 * Children inherit init's stdio as their console, so fill any hole from the
 * freshly mounted devtmpfs (or /dev/null when there is no console). */
int init_console_stdio(const struct init_options *o)
{
	bool missing[3];
	int fd, any = 0;

	(void)o;
	for (int i = 0; i < 3; i++) {
		missing[i] = fcntl(i, F_GETFD) < 0 && errno == EBADF;
		any |= missing[i];
	}
	if (!any)
		return 0;
	fd = open("/dev/console", O_RDWR | O_NOCTTY);
	if (fd < 0)
		fd = open("/dev/null", O_RDWR);
	if (fd < 0)
		return -errno;
	for (int i = 0; i < 3; i++)
		if (missing[i] && i != fd && dup2(fd, i) < 0)
			return -errno;
	if (fd > 2)
		close(fd);
	return 0;
}
