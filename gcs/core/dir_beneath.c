#include "core/dir_beneath.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

static int open_component(int dirfd, const char *name)
{
	return openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

/* Opens (making it first when missing) one component below dirfd. */
static int step(int dirfd, const char *name, mode_t mode, bool *made)
{
	int fd;

	*made = false;
	if (mkdirat(dirfd, name, mode) == 0)
		*made = true;
	else if (errno != EEXIST)
		return -errno;
	fd = open_component(dirfd, name);
	if (fd < 0)
		return -errno;
	if (*made && fchmod(fd, mode) < 0) {
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

/* An existing last component that is neither a directory nor a symlink. */
static bool plain_file(int dirfd, const char *name)
{
	struct stat st;

	return fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISDIR(st.st_mode) &&
	       !S_ISLNK(st.st_mode);
}

int dir_mkdirs_beneath(const char *root, const char *rel, mode_t mode, unsigned flags,
		       bool *created, struct error *e)
{
	_cleanup_close_ int dirfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	char name[NAME_MAX + 1];
	const char *p = rel;
	bool made = false;

	if (created)
		*created = false;
	if (dirfd < 0)
		return error_errno(e, errno, "open %s", root);
	while (*(p += strspn(p, "/"))) {
		size_t len = strcspn(p, "/");
		int fd;

		if (len > NAME_MAX)
			return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "%s/%s: name too long",
					 root, rel);
		memcpy(name, p, len);
		name[len] = '\0';
		if (!strcmp(name, ".") || !strcmp(name, ".."))
			return error_set(e, ERR_INVALID_ARG, EINVAL, "\"%s\" in path %s/%s", name,
					 root, rel);
		fd = step(dirfd, name, mode, &made);
		if (fd == -ENOTDIR && !p[len + strspn(p + len, "/")] &&
		    (flags & DIR_BENEATH_FILE_OK) && plain_file(dirfd, name))
			return 0;
		if (fd < 0)
			return error_set(e, ERR_FAIL, -fd, "%s/%.*s: %s", root,
					 (int)(p + len - rel), rel, describe(-fd));
		close(dirfd);
		dirfd = fd;
		p += len;
	}
	if (created)
		*created = made;
	return 0;
}
