#include "containers/user_lookup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* Opens <rootfs>/<rel> for reading with every path component resolved as if
 * rootfs were "/": an absolute symlink such as etc/passwd -> /x/passwd stays
 * inside the image. Falls back to plain openat where openat2 is missing. */
static int open_in_root(const char *rootfs, const char *rel)
{
	_cleanup_close_ int dirfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	struct open_how how = {
		.flags = O_RDONLY | O_CLOEXEC | O_NOCTTY,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	int fd;

	if (dirfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, rel, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	return fd < 0 ? -errno : fd;
}

/* A decimal id that fits in 32 bits (4294967295 is "no id" in the kernel). */
static bool parse_id(const char *s, uint32_t *out)
{
	unsigned long long v = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		v = v * 10 + (unsigned)(*s - '0');
		if (v >= UINT32_MAX)
			return false;
	}
	*out = (uint32_t)v;
	return true;
}

/* Splits a colon-separated database line in place into at most max fields;
 * returns the number of fields. */
static int split_fields(char *line, char **fields, int max)
{
	int n = 0;

	line[strcspn(line, "\n")] = '\0';
	while (n < max) {
		fields[n++] = line;
		line = strchr(line, ':');
		if (!line)
			break;
		*line++ = '\0';
	}
	return n;
}

struct passwd_entry {
	bool found;
	uint32_t uid;
	uint32_t gid;
	char name[256];
};

/* Finds the first passwd entry whose name (by_name) or uid matches. */
static int passwd_find(FILE *f, const char *name, const uint32_t *uid, struct passwd_entry *out)
{
	char *line = NULL, *fld[7];
	size_t cap = 0;

	out->found = false;
	while (getline(&line, &cap, f) >= 0) {
		uint32_t u, g;

		if (line[0] == '#' || split_fields(line, fld, 7) < 4)
			continue;
		if (!parse_id(fld[2], &u) || !parse_id(fld[3], &g))
			continue;
		if (name ? strcmp(fld[0], name) != 0 : u != *uid)
			continue;
		out->found = true;
		out->uid = u;
		out->gid = g;
		snprintf(out->name, sizeof(out->name), "%s", fld[0]);
		break;
	}
	free(line);
	return ferror(f) ? -EIO : 0;
}

static bool member_of(char *members, const char *user)
{
	for (char *save = NULL, *m = strtok_r(members, ",", &save); m;
	     m = strtok_r(NULL, ",", &save))
		if (strcmp(m, user) == 0)
			return true;
	return false;
}

static int add_gid(struct user_ids *ids, uint32_t gid)
{
	size_t i = 0;
	uint32_t *n;

	while (i < ids->n_additional && ids->additional_gids[i] < gid)
		i++;
	if (i < ids->n_additional && ids->additional_gids[i] == gid)
		return 0;
	n = realloc(ids->additional_gids, (ids->n_additional + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	memmove(n + i + 1, n + i, (ids->n_additional - i) * sizeof(*n));
	n[i] = gid;
	ids->additional_gids = n;
	ids->n_additional++;
	return 0;
}

/* One pass over /etc/group: the gid of `group_name` (when given) and the
 * supplementary groups of `user` (when given). */
static int group_scan(FILE *f, const char *group_name, uint32_t *group_gid, bool *group_found,
		      const char *user, struct user_ids *ids)
{
	char *line = NULL, *fld[4];
	size_t cap = 0;
	int rc = 0;

	*group_found = false;
	while (rc == 0 && getline(&line, &cap, f) >= 0) {
		uint32_t g;
		int n;

		if (line[0] == '#')
			continue;
		n = split_fields(line, fld, 4);
		if (n < 3 || !parse_id(fld[2], &g))
			continue;
		if (group_name && !*group_found && strcmp(fld[0], group_name) == 0) {
			*group_found = true;
			*group_gid = g;
		}
		if (user && n == 4 && g != ids->gid && member_of(fld[3], user))
			rc = add_gid(ids, g);
	}
	free(line);
	if (rc == 0 && ferror(f))
		rc = -EIO;
	return rc;
}

static FILE *fopen_in_root(const char *rootfs, const char *rel, int *err)
{
	int fd = open_in_root(rootfs, rel);
	FILE *f;

	if (fd < 0) {
		*err = -fd;
		return NULL;
	}
	f = fdopen(fd, "r");
	if (!f) {
		*err = errno;
		close(fd);
	}
	return f;
}

static int lookup_passwd(const char *rootfs, const char *name, const uint32_t *uid,
			 struct passwd_entry *pw, struct error *e)
{
	int err = 0, rc;
	FILE *f = fopen_in_root(rootfs, "etc/passwd", &err);

	pw->found = false;
	if (!f) {
		/* Without a passwd file a numeric uid is still a valid user. */
		if (err == ENOENT && !name)
			return 0;
		return error_set(e, ERR_INVALID_ARG, err, "cannot open %s/etc/passwd: %s", rootfs,
				 strerror(err));
	}
	rc = passwd_find(f, name, uid, pw);
	fclose(f);
	if (rc < 0)
		return error_errno(e, -rc, "read %s/etc/passwd", rootfs);
	if (name && !pw->found)
		return error_set(e, ERR_INVALID_ARG, ENOENT,
				 "user \"%s\" not found in %s/etc/passwd", name, rootfs);
	return 0;
}

int user_lookup(const char *rootfs, const char *user, struct user_ids *out, struct error *e)
{
	char ubuf[256], *gpart;
	const char *uname = NULL, *gname = NULL;
	uint32_t uid = 0, gid = 0;
	struct passwd_entry pw;
	bool gfound = false;
	FILE *f;
	int rc, err = 0;

	memset(out, 0, sizeof(*out));
	if (!user || !*user || strlen(user) >= sizeof(ubuf))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid user \"%s\"",
				 user ? user : "");
	strcpy(ubuf, user);
	gpart = strchr(ubuf, ':');
	if (gpart) {
		*gpart++ = '\0';
		if (strchr(gpart, ':') || !*gpart || !*ubuf)
			return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid user \"%s\"", user);
		if (!parse_id(gpart, &gid))
			gname = gpart;
	}
	if (!parse_id(ubuf, &uid))
		uname = ubuf;

	rc = lookup_passwd(rootfs, uname, &uid, &pw, e);
	if (rc < 0)
		return rc;
	out->uid = pw.found ? pw.uid : uid;
	out->gid = gpart ? gid : (pw.found ? pw.gid : 0);

	/* /etc/group is needed for a group name, and for the supplementary
	 * groups of a user that passwd knows by name. */
	if (!gname && !pw.found)
		return 0;
	f = fopen_in_root(rootfs, "etc/group", &err);
	if (!f) {
		if (err == ENOENT && !gname)
			return 0;
		return error_set(e, ERR_INVALID_ARG, err, "cannot open %s/etc/group: %s", rootfs,
				 strerror(err));
	}
	/* The primary group is only known once a named group is resolved, so
	 * that one is found first and supplementary groups in a second pass. */
	if (gname) {
		rc = group_scan(f, gname, &out->gid, &gfound, NULL, out);
		if (rc == 0 && !gfound)
			rc = error_set(e, ERR_INVALID_ARG, ENOENT,
				       "group \"%s\" not found in %s/etc/group", gname, rootfs);
		else if (rc < 0)
			rc = error_errno(e, -rc, "read %s/etc/group", rootfs);
		if (rc < 0)
			goto out;
		rewind(f);
	}
	if (pw.found) {
		rc = group_scan(f, NULL, NULL, &gfound, pw.name, out);
		if (rc < 0)
			error_errno(e, -rc, "read %s/etc/group", rootfs);
	}
out:
	fclose(f);
	if (rc < 0)
		user_ids_free(out);
	return rc;
}

void user_ids_free(struct user_ids *ids)
{
	free(ids->additional_gids);
	ids->additional_gids = NULL;
	ids->n_additional = 0;
}
