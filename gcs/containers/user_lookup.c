#include "containers/user_lookup.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cleanup.h"

/* The files are the image's, written by whoever runs in the container: a
 * line longer than this, or a file larger, is refused rather than read
 * (glibc's own NSS lines are far shorter; a real /etc/group with thousands
 * of members stays well below both). */
#define DB_LINE_MAX (64 * 1024)
#define DB_FILE_MAX (16 * 1024 * 1024)

/* Opens <rootfs>/<rel> for reading with every path component resolved as if
 * rootfs were "/": an absolute symlink such as etc/passwd -> /x/passwd stays
 * inside the image. Falls back to plain openat where openat2 is missing.
 * O_NONBLOCK: a FIFO planted there must not block the worker in open(). */
static int open_in_root(const char *rootfs, const char *rel)
{
	_cleanup_close_ int dirfd = open(rootfs, O_PATH | O_DIRECTORY | O_CLOEXEC);
	const int flags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK;
	struct open_how how = {
		.flags = flags,
		.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS,
	};
	struct stat st;
	int fd;

	if (dirfd < 0)
		return -errno;
	fd = (int)syscall(SYS_openat2, dirfd, rel, &how, sizeof(how));
	if (fd < 0 && errno == ENOSYS)
		fd = openat(dirfd, rel, flags);
	if (fd < 0)
		return -errno;
	/* Only a regular file has an end: a FIFO, /dev/zero or a socket would
	 * stall or feed the reader forever. */
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return -EBADFD;
	}
	if (st.st_size > DB_FILE_MAX) {
		close(fd);
		return -EFBIG;
	}
	return fd;
}

/* Reads the next line, without its newline, into buf (DB_LINE_MAX + 1
 * bytes): 1 a line, 0 the end, -E2BIG a line too long, -EFBIG more than
 * DB_FILE_MAX read (the file grew), -EIO a read error. Byte by byte: NULs
 * count like any other byte (fgets would hide them from strlen). */
static int next_line(FILE *f, char *buf, size_t *total)
{
	size_t len = 0;
	int c;

	while ((c = getc_unlocked(f)) != EOF) {
		if (++*total > DB_FILE_MAX)
			return -EFBIG;
		if (c == '\n')
			break;
		if (len == DB_LINE_MAX)
			return -E2BIG;
		buf[len++] = (char)c;
	}
	if (c == EOF && ferror(f))
		return -EIO;
	if (c == EOF && len == 0)
		return 0;
	buf[len] = '\0';
	return 1;
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
	_cleanup_free_ char *line = malloc(DB_LINE_MAX + 1);
	size_t total = 0;
	char *fld[7];
	int rc;

	out->found = false;
	if (!line)
		return -ENOMEM;
	while ((rc = next_line(f, line, &total)) > 0) {
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
	return rc < 0 ? rc : 0;
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
	_cleanup_free_ char *line = malloc(DB_LINE_MAX + 1);
	size_t total = 0;
	char *fld[4];
	int rc;

	*group_found = false;
	if (!line)
		return -ENOMEM;
	while ((rc = next_line(f, line, &total)) > 0) {
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
		if (user && n == 4 && g != ids->gid && member_of(fld[3], user)) {
			rc = add_gid(ids, g);
			if (rc < 0)
				break;
		}
	}
	return rc < 0 ? rc : 0;
}

/* The error for a database that cannot be opened or read. */
static int db_error(struct error *e, int rc, const char *rootfs, const char *rel)
{
	switch (-rc) {
	case EBADFD:
		return error_set(e, ERR_INVALID_ARG, EINVAL, "%s/%s is not a regular file", rootfs,
				 rel);
	case EFBIG:
		return error_set(e, ERR_INVALID_ARG, EFBIG, "%s/%s is larger than %d MiB", rootfs,
				 rel, DB_FILE_MAX >> 20);
	case E2BIG:
		return error_set(e, ERR_INVALID_ARG, E2BIG, "%s/%s has a line longer than %d KiB",
				 rootfs, rel, DB_LINE_MAX >> 10);
	case ENOMEM:
		return error_set(e, ERR_FAIL, ENOMEM, "read %s/%s: out of memory", rootfs, rel);
	}
	return error_set(e, ERR_INVALID_ARG, -rc, "cannot read %s/%s: %s", rootfs, rel,
			 strerror(-rc));
}

/* The error for a database that cannot be opened (errno err). */
static int open_error(struct error *e, int err, const char *rootfs, const char *rel)
{
	if (err == EBADFD || err == EFBIG)
		return db_error(e, -err, rootfs, rel);
	return error_set(e, ERR_INVALID_ARG, err, "cannot open %s/%s: %s", rootfs, rel,
			 strerror(err));
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
		return open_error(e, err, rootfs, "etc/passwd");
	}
	rc = passwd_find(f, name, uid, pw);
	fclose(f);
	if (rc < 0)
		return db_error(e, rc, rootfs, "etc/passwd");
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
		return open_error(e, err, rootfs, "etc/group");
	}
	/* The primary group is only known once a named group is resolved, so
	 * that one is found first and supplementary groups in a second pass. */
	if (gname) {
		rc = group_scan(f, gname, &out->gid, &gfound, NULL, out);
		if (rc == 0 && !gfound)
			rc = error_set(e, ERR_INVALID_ARG, ENOENT,
				       "group \"%s\" not found in %s/etc/group", gname, rootfs);
		else if (rc < 0)
			rc = db_error(e, rc, rootfs, "etc/group");
		if (rc < 0)
			goto out;
		rewind(f);
	}
	if (pw.found) {
		rc = group_scan(f, NULL, NULL, &gfound, pw.name, out);
		if (rc < 0)
			db_error(e, rc, rootfs, "etc/group");
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
