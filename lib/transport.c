#include "transport.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <linux/vm_sockets.h>

#include "cleanup.h"

int transport_parse(const char *spec, struct transport *t)
{
	memset(t, 0, sizeof(*t));
	if (strcmp(spec, "vsock") == 0)
		return 0;
	if (strncmp(spec, "unix:", 5) != 0 || spec[5] == '\0')
		return -EINVAL;
	if (strlen(spec + 5) >= sizeof(t->unix_prefix))
		return -ENAMETOOLONG;
	t->is_unix = true;
	strcpy(t->unix_prefix, spec + 5);
	return 0;
}

int transport_from_env(struct transport *t)
{
	const char *spec = getenv(TRANSPORT_ENV);

	return transport_parse(spec && *spec ? spec : "vsock", t);
}

static int dial_unix(const char *prefix, uint32_t port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	_cleanup_close_ int fd = -1;

	if ((size_t)snprintf(sa.sun_path, sizeof(sa.sun_path), "%s_%u", prefix, port) >=
	    sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

static int dial_vsock(uint32_t port)
{
	struct sockaddr_vm sa = {
		.svm_family = AF_VSOCK,
		.svm_cid = VSOCK_HOST_CID,
		.svm_port = port,
	};
	_cleanup_close_ int fd = -1;
	const char *forbid = getenv(TRANSPORT_FORBID_VSOCK_ENV);

	if (forbid && *forbid && strcmp(forbid, "0") != 0)
		return -EPERM;
	fd = socket(AF_VSOCK, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return -errno;
	return TAKE_FD(fd);
}

int transport_dial(const struct transport *t, uint32_t port)
{
	return t->is_unix ? dial_unix(t->unix_prefix, port) : dial_vsock(port);
}

void transport_describe(const struct transport *t, uint32_t port, char *buf, size_t len)
{
	if (t->is_unix)
		snprintf(buf, len, "%s_%u", t->unix_prefix, port);
	else
		snprintf(buf, len, "vsock:%u:%u", VSOCK_HOST_CID, port);
}
