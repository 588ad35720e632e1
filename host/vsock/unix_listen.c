#include "unix_listen.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

static int fill_addr(struct sockaddr_un *sa, const char *path)
{
	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (strlen(path) >= sizeof(sa->sun_path))
		return -ENAMETOOLONG;
	strcpy(sa->sun_path, path);
	return 0;
}

/* Whether something accepts connections at path right now. */
static bool is_live(const char *path)
{
	struct sockaddr_un sa;
	_cleanup_close_ int fd = -1;

	if (fill_addr(&sa, path) < 0)
		return false;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return false;
	/* A full backlog (EAGAIN) still means a live listener. */
	return connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN;
}

int unix_listen(const char *path, int backlog)
{
	struct sockaddr_un sa, tmp;
	_cleanup_close_ int fd = -1;
	char tmp_path[sizeof(sa.sun_path) + 16];
	int r;

	r = fill_addr(&sa, path);
	if (r < 0)
		return r;
	snprintf(tmp_path, sizeof(tmp_path), "%s.%d", path, (int)getpid());
	r = fill_addr(&tmp, tmp_path);
	if (r < 0)
		return r;
	if (is_live(path))
		return -EADDRINUSE;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(tmp_path);
	if (bind(fd, (struct sockaddr *)&tmp, sizeof(tmp)) < 0)
		return -errno;
	if (listen(fd, backlog) < 0 || rename(tmp_path, path) < 0) {
		r = -errno;
		unlink(tmp_path);
		return r;
	}
	return TAKE_FD(fd);
}
