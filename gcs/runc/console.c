/* runc's --console-socket: runc connects to a unix socket we listen on and
 * sends the container's pty master with SCM_RIGHTS. */
#include "runc/runc.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cleanup.h"

/* Room for more fds than we accept, to notice a sender passing several. */
#define CONSOLE_MAX_FDS 8

int runc_console_listen(const char *path, struct error *e)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;

	if (strlen(path) >= sizeof(sa.sun_path))
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "console socket path too long: %s",
				 path);
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return error_errno(e, errno, "console socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return error_errno(e, errno, "bind console socket %s", path);
	if (listen(fd, 1) < 0)
		return error_errno(e, errno, "listen on console socket %s", path);
	return TAKE_FD(fd);
}

static void close_received(struct msghdr *mh)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		int *fds = (int *)CMSG_DATA(c);

		for (size_t i = 0; i < n; i++)
			close(fds[i]);
	}
}

/* The fds of one message: exactly one is wanted. */
static int take_one_fd(struct msghdr *mh, int *master, struct error *e)
{
	size_t total = 0;
	int fd = -1;

	if (mh->msg_flags & MSG_CTRUNC) {
		close_received(mh);
		return error_set(e, ERR_FAIL, EPROTO, "console socket: control data truncated");
	}
	for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
		if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS)
			continue;
		size_t n = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

		if (n > 0)
			memcpy(&fd, CMSG_DATA(c), sizeof(fd));
		total += n;
	}
	if (total != 1) {
		close_received(mh);
		return error_set(e, ERR_FAIL, EPROTO,
				 "console socket: expected exactly one fd from runc, got %zu",
				 total);
	}
	*master = fd;
	return 0;
}

int runc_console_recv(int listen_fd, int timeout_ms, int *master, struct error *e)
{
	struct pollfd pfd = {.fd = listen_fd, .events = POLLIN};
	union {
		char buf[CMSG_SPACE(CONSOLE_MAX_FDS * sizeof(int))];
		struct cmsghdr align;
	} ctl;
	char name[256];
	struct iovec iov = {.iov_base = name, .iov_len = sizeof(name)};
	struct msghdr mh = {
		.msg_iov = &iov,
		.msg_iovlen = 1,
		.msg_control = ctl.buf,
		.msg_controllen = sizeof(ctl.buf),
	};
	_cleanup_close_ int conn = -1;
	int n;
	ssize_t got;

	*master = -1;
	do
		n = poll(&pfd, 1, timeout_ms);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return error_errno(e, errno, "console socket: poll");
	if (n == 0)
		return error_set(e, ERR_FAIL, ETIMEDOUT, "console socket: runc did not connect");
	conn = accept4(listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (conn < 0)
		return error_errno(e, errno, "console socket: accept");
	do
		got = recvmsg(conn, &mh, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	if (got < 0)
		return error_errno(e, errno, "console socket: recvmsg");
	return take_one_fd(&mh, master, e);
}
