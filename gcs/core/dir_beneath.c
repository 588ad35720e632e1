#include "core/dir_beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

static int open_component(int dirfd, const char *name)
{
	return openat(dirfd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Opens (making it first when missing, unless NO_CREATE) one component
 * below dirfd. */
static int step(int dirfd, const char *name, mode_t mode, unsigned flags, bool *made)
{
	char at[DIR_FD_PATH_MAX];
	int fd;

	*made = false;
	if (!(flags & DIR_BENEATH_NO_CREATE)) {
		if (mkdirat(dirfd, name, mode) == 0)
			*made = true;
		else if (errno != EEXIST)
			return -errno;
	}
	fd = open_component(dirfd, name);
	if (fd < 0)
		return -errno;
	/* fchmod() refuses O_PATH fds; the magic link reaches the same inode. */
	if (*made && chmod(dir_fd_path(fd, at), mode) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

static const char *describe(int err)
{
	/* What O_NOFOLLOW and O_DIRECTORY report for a planted link. */
	if (err == ELOOP || err == ENOTDIR)
		return "a symlink or not a directory, which is not followed";
	return strerror(err);
}

/* An existing last component that is neither a directory nor a symlink,
 * held open as it is; -ENOTDIR for anything else. */
static int open_plain_file(int dirfd, const char *name)
{
	int fd = openat(dirfd, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return -ENOTDIR;
	if (fstat(fd, &st) == 0 && !S_ISDIR(st.st_mode) && !S_ISLNK(st.st_mode))
		return fd;
	close(fd);
	return -ENOTDIR;
}

const char *dir_fd_path(int fd, char *buf)
{
	snprintf(buf, DIR_FD_PATH_MAX, "/proc/self/fd/%d", fd);
	return buf;
}

int dir_openat_beneath(int rootfd, const char *root, const char *rel, mode_t mode, unsigned flags,
		       bool *created, struct error *e)
{
	_cleanup_close_ int dirfd = fcntl(rootfd, F_DUPFD_CLOEXEC, 3);
	char name[NAME_MAX + 1];
	const char *p = rel;
	bool made = false;

	if (created)
		*created = false;
	if (dirfd < 0)
		return error_errno(e, errno, "open %s", root);
	while (*(p += strspn(p, "/"))) {
		size_t len = strcspn(p, "/");
		bool last = !p[len + strspn(p + len, "/")];
		int fd;

		if (len > NAME_MAX)
			return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "%s/%s: name too long",
					 root, rel);
		memcpy(name, p, len);
		name[len] = '\0';
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			return error_set(e, ERR_INVALID_ARG, EINVAL, "\"%s\" in path %s/%s", name,
					 root, rel);
		fd = step(dirfd, name, mode, flags, &made);
		if (fd == -ENOTDIR && last && (flags & DIR_BENEATH_FILE_OK))
			fd = open_plain_file(dirfd, name);
		if (fd < 0)
			return error_set(e, ERR_FAIL, -fd, "%s/%.*s: %s", root,
					 (int)(p + len - rel), rel, describe(-fd));
		close(dirfd);
		dirfd = fd;
		p += len;
	}
	if (created)
		*created = made;
	return TAKE_FD(dirfd);
}

int dir_open_beneath(const char *root, const char *rel, mode_t mode, unsigned flags, bool *created,
		     struct error *e)
{
	_cleanup_close_ int rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);

	if (created)
		*created = false;
	if (rootfd < 0)
		return error_errno(e, errno, "open %s", root);
	return dir_openat_beneath(rootfd, root, rel, mode, flags, created, e);
}

int dir_mkdirs_beneath(const char *root, const char *rel, mode_t mode, unsigned flags,
		       bool *created, struct error *e)
{
	int fd = dir_open_beneath(root, rel, mode, flags, created, e);

	if (fd < 0)
		return fd;
	close(fd);
	return 0;
}
