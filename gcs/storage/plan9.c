/* MappedDirectory: dial the host's 9P server on a fresh connection and let
 * the kernel speak 9P over that fd (trans=fd). */
#include "storage/plan9.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <unistd.h>

#include "cleanup.h"
#include "storage/guest_path.h"
#include "storage/storage.h"
#include "storage/mount.h"

#define PLAN9_DATA_MAX 256

static bool share_name_ok(const char *share)
{
	for (; *share; share++)
		if (*share == ',' || (unsigned char)*share <= ' ' || *share == 0x7f)
			return false;
	return true;
}

int plan9_mount_data(char *buf, size_t size, int fd, const char *share, bool read_only,
		     struct error *e)
{
	int n;

	if (share && !share_name_ok(share))
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "ShareName \"%s\" may not contain commas, spaces or control "
				 "characters",
				 share);
	n = snprintf(buf, size, "trans=fd,rfdno=%d,wfdno=%d,msize=%d%s%s%s", fd, fd, PLAN9_MSIZE,
		     read_only ? ",noload" : "", share && *share ? ",aname=" : "",
		     share && *share ? share : "");
	if (n < 0 || (size_t)n >= size)
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "ShareName \"%s\" is too long",
				 share);
	return 0;
}

static int dial(const struct storage_config *cfg, uint32_t port, struct error *e)
{
	struct transport vsock = {.is_unix = false};
	const struct transport *t = cfg->transport ? cfg->transport : &vsock;
	int size = PLAN9_MSIZE;
	char where[128];
	_cleanup_close_ int fd = transport_dial(t, port);

	transport_describe(t, port, where, sizeof(where));
	if (fd < 0)
		return error_errno(e, -fd, "connect to the 9P server at %s", where);
	/* As large as one 9P message, for throughput. */
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &size, sizeof(size)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &size, sizeof(size)) < 0)
		return error_errno(e, errno, "socket buffers for %s", where);
	return TAKE_FD(fd);
}

int storage_plan9_mount(const struct storage_config *cfg, const struct plan9_mount_req *req,
			struct error *e)
{
	uint32_t port = req->port ? (uint32_t)req->port : PLAN9_DEFAULT_PORT;
	char data[PLAN9_DATA_MAX];
	struct guest_hold h = GUEST_HOLD_INIT;
	_cleanup_close_ int fd = -1;
	struct guest_path gp;
	bool created = false;
	int r;

	if (req->port < 0) {
		r = error_set(e, ERR_INVALID_ARG, EINVAL, "Port %d is negative", (int)req->port);
		goto fail;
	}
	/* Validate the share before dialling: a refused name costs nothing. */
	if ((r = guest_path_check(cfg, "MountPath", req->mount_path, 0, &gp, e)) < 0 ||
	    (r = plan9_mount_data(data, sizeof(data), 0, req->share_name, req->read_only, e)) < 0)
		goto fail;
	if ((r = guest_path_hold_dir(&gp, true, 0700, &created, &h, e)) < 0)
		goto fail;
	if ((fd = dial(cfg, port, e)) < 0) {
		r = fd;
		goto undo_dir;
	}
	if ((r = plan9_mount_data(data, sizeof(data), fd, req->share_name, req->read_only, e)) < 0)
		goto undo_dir;
	/* The kernel takes its own reference to fd; ours closes on return. */
	r = storage_mount_held(gp.path, &h, gp.path, "9p", req->read_only ? MS_RDONLY : 0, data, e);
	if (r == 0) {
		guest_hold_release(&h);
		return 0;
	}
undo_dir:
	if (created)
		unlinkat(h.parent_fd, h.name, AT_REMOVEDIR);
	guest_hold_release(&h);
fail:
	return error_prefix(e, "Plan 9 share \"%s\"", req->share_name ? req->share_name : "");
}

int storage_plan9_unmount(const struct storage_config *cfg, const struct plan9_mount_req *req,
			  struct error *e)
{
	struct guest_path gp;
	int r;

	if ((r = guest_path_check(cfg, "MountPath", req->mount_path, 0, &gp, e)) < 0 ||
	    (r = storage_unmount_and_remove(&gp, e)) < 0)
		return error_prefix(e, "Plan 9 share \"%s\"",
				    req->share_name ? req->share_name : "");
	return 0;
}
