#include "storage/guest_path.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/dir_beneath.h"

/* Lexical clean-up: collapses "//" and "/./", refuses "..". */
static int normalise(const char *in, char *out, size_t size)
{
	size_t n = 0;

	if (in[0] != '/')
		return -EINVAL;
	while (*in) {
		const char *end;
		size_t len;

		while (*in == '/')
			in++;
		end = strchrnul(in, '/');
		len = (size_t)(end - in);
		if (len == 0 || (len == 1 && in[0] == '.')) {
			in = end;
			continue;
		}
		if (len == 2 && in[0] == '.' && in[1] == '.')
			return -EPERM;
		if (n + 1 + len >= size)
			return -ENAMETOOLONG;
		out[n++] = '/';
		memcpy(out + n, in, len);
		n += len;
		in = end;
	}
	out[n] = '\0';
	return 0;
}

static bool has_control_chars(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/* Length of the root path lies strictly below, or -1. "/" counts as 0. */
static ssize_t root_match(const char *path, const char *root)
{
	char norm[PATH_MAX];
	size_t len;

	if (normalise(root, norm, sizeof(norm)) < 0)
		return -1;
	len = strlen(norm);
	if (strncmp(path, norm, len) != 0 || path[len] != '/' || path[len + 1] == '\0')
		return -1;
	return (ssize_t)len;
}

static const char *const *roots_of(const struct storage_config *cfg)
{
	return cfg->allowed_roots ? cfg->allowed_roots : storage_default_roots;
}

/* lstat()s every existing component below the root; the first missing one
 * ends the walk (nothing below it exists either). */
static int check_symlinks(const char *what, const struct guest_path *gp, unsigned flags,
			  struct error *e)
{
	size_t len = strlen(gp->path);
	char prefix[PATH_MAX];

	for (size_t i = gp->root_len + 1; i <= len; i++) {
		bool last = i == len;
		struct stat st;

		if (!last && gp->path[i] != '/')
			continue;
		memcpy(prefix, gp->path, i);
		prefix[i] = '\0';
		if (lstat(prefix, &st) < 0) {
			if (errno == ENOENT)
				return 0;
			return error_errno(e, errno, "%s %s: lstat %s", what, gp->path, prefix);
		}
		if (S_ISLNK(st.st_mode) && !(last && (flags & GUEST_PATH_FINAL_SYMLINK)))
			return error_set(e, ERR_INVALID_ARG, ELOOP,
					 "%s %s: %s is a symlink; guest paths may not pass "
					 "through symlinks",
					 what, gp->path, prefix);
		if (!last && !S_ISDIR(st.st_mode))
			return error_set(e, ERR_INVALID_ARG, ENOTDIR,
					 "%s %s: %s is not a directory", what, gp->path, prefix);
	}
	return 0;
}

int guest_path_check(const struct storage_config *cfg, const char *what, const char *path,
		     unsigned flags, struct guest_path *out, struct error *e)
{
	const char *const *root;
	int r;

	if (!path || !*path)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "%s is empty", what);
	if (has_control_chars(path))
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "%s \"%s\" contains control characters", what, path);
	r = normalise(path, out->path, sizeof(out->path));
	if (r == -EINVAL)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "%s \"%s\" is not absolute", what,
				 path);
	if (r == -EPERM)
		return error_set(e, ERR_INVALID_ARG, EPERM, "%s \"%s\": \"..\" is not allowed",
				 what, path);
	if (r < 0)
		return error_set(e, ERR_INVALID_ARG, -r, "%s \"%s\" is too long", what, path);

	for (root = roots_of(cfg); *root; root++) {
		ssize_t len = root_match(out->path, *root);

		if (len >= 0) {
			out->root_len = (size_t)len;
			return check_symlinks(what, out, flags, e);
		}
	}
	return error_set(e, ERR_INVALID_ARG, EPERM, "%s \"%s\" is outside the allowed guest roots",
			 what, path);
}

int guest_path_join(const struct guest_path *gp, const char *name, struct guest_path *out,
		    struct error *e)
{
	size_t len = strlen(gp->path);

	if (!*name || strchr(name, '/') || strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "%s: bad path component \"%s\"",
				 gp->path, name);
	if (len + 1 + strlen(name) >= sizeof(out->path))
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "%s/%s is too long", gp->path,
				 name);
	if (out != gp)
		memcpy(out, gp, sizeof(*out));
	out->path[len] = '/';
	strcpy(out->path + len + 1, name);
	return check_symlinks("path", out, 0, e);
}

int guest_path_parent(const struct guest_path *gp, struct guest_path *out, struct error *e)
{
	const char *slash = strrchr(gp->path, '/');
	size_t len = (size_t)(slash - gp->path);

	if (len < gp->root_len)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "%s has no parent below its root",
				 gp->path);
	memmove(out->path, gp->path, len);
	out->path[len] = '\0';
	out->root_len = gp->root_len;
	return 0;
}

/* The root is configuration: create it the plain way (symlinks allowed). */
static int mkdirs_trusted(const char *path, mode_t mode, struct error *e)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	memcpy(buf, path, len + 1);
	for (size_t i = 1; i <= len; i++) {
		if (i != len && buf[i] != '/')
			continue;
		buf[i] = '\0';
		if (mkdir(buf, mode) < 0 && errno != EEXIST)
			return error_errno(e, errno, "mkdir %s", buf);
		buf[i] = i == len ? '\0' : '/';
	}
	return 0;
}

/* Directories made on the way get mode. */
static int hold_parent(const struct guest_path *gp, bool make, mode_t mode, struct guest_hold *out,
		       struct error *e)
{
	size_t slash = (size_t)(strrchr(gp->path, '/') - gp->path);
	char root[PATH_MAX], rel[PATH_MAX], at[DIR_FD_PATH_MAX];
	int r, fd;

	/* gp lies strictly below its root: its parent is the root or below. */
	memcpy(root, gp->path, gp->root_len);
	root[gp->root_len] = '\0';
	memcpy(rel, gp->path + gp->root_len, slash - gp->root_len);
	rel[slash - gp->root_len] = '\0';
	if (make && gp->root_len && (r = mkdirs_trusted(root, mode, e)) < 0)
		return r;
	fd = dir_open_beneath(gp->root_len ? root : "/", rel, mode,
			      make ? 0 : DIR_BENEATH_NO_CREATE, NULL, e);
	if (fd < 0)
		return fd;
	out->parent_fd = fd;
	out->fd = -1;
	out->name = gp->path + slash + 1;
	out->at[0] = '\0';
	snprintf(out->top, sizeof(out->top), "%s/%s", dir_fd_path(fd, at), out->name);
	return 0;
}

int guest_path_hold_parent(const struct guest_path *gp, bool make, struct guest_hold *out,
			   struct error *e)
{
	return hold_parent(gp, make, 0700, out, e);
}

int guest_path_hold_dir(const struct guest_path *gp, bool make, mode_t mode, bool *created,
			struct guest_hold *out, struct error *e)
{
	int r = hold_parent(gp, make, mode, out, e);
	char parent[PATH_MAX];
	int fd;

	if (created)
		*created = false;
	if (r < 0)
		return r;
	snprintf(parent, sizeof(parent), "%.*s", (int)(out->name - 1 - gp->path), gp->path);
	fd = dir_openat_beneath(out->parent_fd, *parent ? parent : "/", out->name, mode,
				make ? 0 : DIR_BENEATH_NO_CREATE, created, e);
	if (fd < 0) {
		guest_hold_release(out);
		return fd;
	}
	out->fd = fd;
	dir_fd_path(fd, out->at);
	return 0;
}

void guest_hold_release(struct guest_hold *h)
{
	if (h->fd >= 0)
		close(h->fd);
	if (h->parent_fd >= 0)
		close(h->parent_fd);
	h->fd = h->parent_fd = -1;
}
