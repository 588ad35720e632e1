#include "storage/mount.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define REMOVE_MAX_DEPTH 256

static int mount_shown(const char *source, const char *target, const char *shown,
		       const char *fstype, unsigned long flags, const char *data, struct error *e)
{
	if (mount(source, target, fstype, flags, data) == 0)
		return 0;
	if (errno == ENODEV)
		return error_errno(e, errno, "mount %s on %s: the kernel has no %s filesystem",
				   source, shown, fstype);
	return error_errno(e, errno, "mount %s on %s (type %s%s, data \"%s\")", source, shown,
			   fstype, flags & MS_RDONLY ? ", read-only" : "", data ? data : "");
}

int storage_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
		  const char *data, struct error *e)
{
	return mount_shown(source, target, target, fstype, flags, data, e);
}

int storage_mount_held(const char *source, const struct guest_hold *target, const char *shown,
		       const char *fstype, unsigned long flags, const char *data, struct error *e)
{
	return mount_shown(source, target->at, shown, fstype, flags, data, e);
}

unsigned long storage_propagation_flag(const char *opt)
{
	static const struct {
		const char *name;
		unsigned long flag;
	} table[] = {
		{"shared", MS_SHARED},	       {"rshared", MS_SHARED | MS_REC},
		{"private", MS_PRIVATE},       {"rprivate", MS_PRIVATE | MS_REC},
		{"slave", MS_SLAVE},	       {"rslave", MS_SLAVE | MS_REC},
		{"unbindable", MS_UNBINDABLE}, {"runbindable", MS_UNBINDABLE | MS_REC},
	};

	for (size_t i = 0; opt && i < ARRAY_SIZE(table); i++)
		if (strcmp(opt, table[i].name) == 0)
			return table[i].flag;
	return 0;
}

int storage_apply_propagation(const char *target, const char *const *options, size_t n,
			      struct error *e)
{
	for (size_t i = 0; i < n; i++) {
		unsigned long flag = storage_propagation_flag(options[i]);

		if (flag && mount(NULL, target, NULL, flag, NULL) < 0)
			return error_errno(e, errno, "make %s %s", target, options[i]);
	}
	return 0;
}

static int unmount_all(const char *path, const char *shown, struct error *e)
{
	/* One more attempt than the limit: it must say "not a mount". */
	for (int i = 0; i <= STORAGE_UNMOUNT_MAX; i++) {
		if (umount2(path, UMOUNT_NOFOLLOW) == 0)
			continue;
		if (errno == EINVAL || errno == ENOENT)
			return 0;
		return error_errno(e, errno, "unmount %s", shown);
	}
	return error_set(e, ERR_FAIL, EBUSY, "unmount %s: still mounted after %d unmounts", shown,
			 STORAGE_UNMOUNT_MAX + 1);
}

int storage_unmount_all(const char *path, struct error *e)
{
	return unmount_all(path, path, e);
}

/* Undoes mountinfo's octal escapes (\040 for a space, ...). */
static void unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + (s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

/* Calls fn with every mount point of /proc/self/mountinfo (field 5,
 * unescaped) until it returns non-zero, which is returned. 0 without /proc. */
static int each_mount_point(int (*fn)(const char *mp, void *ctx), void *ctx)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char *line = NULL;
	size_t cap = 0;
	int r = 0;

	if (!f)
		return 0;
	while (!r && getline(&line, &cap, f) > 0) {
		char *mp = line;

		for (int field = 0; field < 4 && mp; field++) {
			mp = strchr(mp, ' ');
			if (mp)
				mp++;
		}
		if (!mp)
			continue;
		mp[strcspn(mp, " ")] = '\0';
		unescape(mp);
		r = fn(mp, ctx);
	}
	free(line);
	fclose(f);
	return r;
}

static bool is_below(const char *mp, const char *path)
{
	size_t len = strlen(path);

	return strncmp(mp, path, len) == 0 && mp[len] == '/';
}

struct below_ctx {
	const char *path;
	char *found;
	size_t size;
};

static int note_below(const char *mp, void *data)
{
	struct below_ctx *c = data;

	if (!is_below(mp, c->path))
		return 0;
	snprintf(c->found, c->size, "%s", mp);
	return 1;
}

/* A mount point strictly below path. Without /proc the st_dev and mount id
 * checks in remove_tree still guard. */
static int find_mount_below(const char *path, char *found, size_t size)
{
	struct below_ctx c = {path, found, size};

	return each_mount_point(note_below, &c);
}

struct deepest_ctx {
	const char *path;
	char found[PATH_MAX];
};

static int note_deepest(const char *mp, void *data)
{
	struct deepest_ctx *c = data;

	if ((strcmp(mp, c->path) == 0 || is_below(mp, c->path)) && strlen(mp) >= strlen(c->found))
		snprintf(c->found, sizeof(c->found), "%s", mp);
	return 0;
}

int storage_unmount_tree(const char *path, struct error *e)
{
	/* Deepest first, one at a time: mountinfo changes with each unmount. */
	for (int i = 0; i < STORAGE_UNMOUNT_TREE_MAX; i++) {
		struct deepest_ctx c = {.path = path};

		each_mount_point(note_deepest, &c);
		if (!c.found[0])
			return 0;
		if (umount2(c.found, MNT_DETACH | UMOUNT_NOFOLLOW) < 0)
			return error_errno(e, errno, "unmount %s", c.found);
	}
	return error_set(e, ERR_FAIL, EBUSY, "unmount below %s: more than %d mounts", path,
			 STORAGE_UNMOUNT_TREE_MAX);
}

struct remove_ctx {
	char path[PATH_MAX]; /* the entry being removed, for messages */
	dev_t dev;
	int mnt_id; /* -1: the filesystem gives none; st_dev alone guards */
	struct error *e;
};

/* The mount an entry lives on: a bind mount of the same filesystem has the
 * same st_dev, only its mount id tells it apart. -1 when the filesystem
 * cannot say (no file handles). */
static int mount_id_at(int dirfd, const char *name)
{
	union {
		struct file_handle fh;
		char buf[sizeof(struct file_handle) + MAX_HANDLE_SZ];
	} h = {.fh.handle_bytes = MAX_HANDLE_SZ};
	int id;

	if (name_to_handle_at(dirfd, name, &h.fh, &id, 0) < 0)
		return -1;
	return id;
}

static int remove_entry(struct remove_ctx *c, int dirfd, const char *name, int depth);

static int remove_children(struct remove_ctx *c, int fd, int depth)
{
	size_t len = strlen(c->path);
	DIR *d = fdopendir(fd);
	struct dirent *de;
	int r = 0;

	if (!d) {
		close(fd);
		return error_errno(c->e, errno, "remove %s: opendir", c->path);
	}
	while (r == 0 && (errno = 0, de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (len + 1 + strlen(de->d_name) >= sizeof(c->path)) {
			r = error_set(c->e, ERR_FAIL, ENAMETOOLONG, "remove %s: name too long",
				      c->path);
			break;
		}
		c->path[len] = '/';
		strcpy(c->path + len + 1, de->d_name);
		r = remove_entry(c, dirfd(d), de->d_name, depth + 1);
		c->path[len] = '\0';
	}
	if (r == 0 && errno)
		r = error_errno(c->e, errno, "remove %s: readdir", c->path);
	closedir(d);
	return r;
}

static int remove_entry(struct remove_ctx *c, int dirfd, const char *name, int depth)
{
	struct stat st;
	int fd, r;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_errno(c->e, errno, "remove %s: stat", c->path);
	if (!S_ISDIR(st.st_mode)) {
		if (unlinkat(dirfd, name, 0) < 0 && errno != ENOENT)
			return error_errno(c->e, errno, "remove %s", c->path);
		return 0;
	}
	if (st.st_dev != c->dev || (c->mnt_id >= 0 && mount_id_at(dirfd, name) != c->mnt_id))
		return error_set(c->e, ERR_FAIL, EBUSY,
				 "remove %s: another filesystem is mounted there", c->path);
	if (depth > REMOVE_MAX_DEPTH)
		return error_set(c->e, ERR_FAIL, ELOOP, "remove %s: tree too deep", c->path);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : error_errno(c->e, errno, "remove %s: open", c->path);
	r = remove_children(c, fd, depth);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return error_errno(c->e, errno, "remove %s", c->path);
	return 0;
}

int storage_remove_tree_at(int dirfd, const char *name, const char *shown, struct error *e)
{
	struct remove_ctx c = {.e = e};
	struct stat st;

	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : error_errno(e, errno, "remove %s: stat", shown);
	if (strlen(shown) >= sizeof(c.path))
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "remove %s: bad path", shown);
	snprintf(c.path, sizeof(c.path), "%s", shown);
	c.dev = st.st_dev;
	c.mnt_id = S_ISDIR(st.st_mode) ? mount_id_at(dirfd, name) : -1;
	return remove_entry(&c, dirfd, name, 0);
}

int storage_remove_tree(const char *path, struct error *e)
{
	_cleanup_close_ int parent = -1;
	char dir[PATH_MAX];
	const char *base = strrchr(path, '/');

	if (!base || !base[1] || strlen(path) >= sizeof(dir))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "remove %s: bad path", path);
	memcpy(dir, path, (size_t)(base - path));
	dir[base - path] = '\0';
	parent = open(*dir ? dir : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (parent < 0)
		return errno == ENOENT ? 0
				       : error_errno(e, errno, "remove %s: open %s", path,
						     *dir ? dir : "/");
	return storage_remove_tree_at(parent, base + 1, path, e);
}

int storage_unmount_and_remove(const struct guest_path *gp, struct error *e)
{
	struct guest_hold h = GUEST_HOLD_INIT;
	char below[PATH_MAX];
	int r = guest_path_hold_parent(gp, false, &h, e);

	if (r == -ENOENT)
		return 0; /* nothing there: nothing to remove */
	if (r < 0)
		return r;
	r = unmount_all(h.top, gp->path, e);
	if (r == 0 && find_mount_below(gp->path, below, sizeof(below)))
		r = error_set(e, ERR_FAIL, EBUSY, "remove %s: %s is still mounted below it",
			      gp->path, below);
	if (r == 0)
		r = storage_remove_tree_at(h.parent_fd, h.name, gp->path, e);
	guest_hold_release(&h);
	return r;
}
