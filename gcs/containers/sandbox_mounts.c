#include "containers/sandbox_mounts.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "core/dir_beneath.h"
#include "storage/mount.h"

#define HUGETLBFS_MAGIC_NUMBER 0x958458f6

struct shared_dir {
	const char *name;
	const char *fstype; /* NULL: a bind of itself */
};

static const struct shared_dir shared_dirs[] = {
	{SANDBOX_MOUNTS_DIR, NULL},
	{SANDBOX_TMPFS_DIR, "tmpfs"},
	{SANDBOX_HUGEPAGES_DIR, NULL},
};

/* mount(2) propagates only between shared mounts: the directory must be a
 * mount point of its own first. */
static int make_shared(const char *path, const char *fstype, struct error *e)
{
	int r = fstype ? storage_mount(fstype, path, fstype, MS_NOSUID | MS_NODEV, "mode=0755", e)
		       : storage_mount(path, path, NULL, MS_BIND, NULL, e);

	if (r < 0)
		return r;
	if (mount(NULL, path, NULL, MS_SHARED | MS_REC, NULL) < 0) {
		r = error_errno(e, errno, "make %s rshared", path);
		umount2(path, MNT_DETACH);
	}
	return r;
}

int sandbox_mounts_setup(const char *bundle, struct error *e)
{
	char path[PATH_MAX];
	size_t i;
	int r = 0;

	for (i = 0; i < sizeof(shared_dirs) / sizeof(shared_dirs[0]) && r == 0; i++) {
		if (snprintf(path, sizeof(path), "%s/%s", bundle, shared_dirs[i].name) >=
		    (int)sizeof(path))
			r = error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "path too long: %s",
				      bundle);
		else if (mkdir(path, 0755) < 0 && errno != EEXIST)
			r = error_errno(e, errno, "create %s", path);
		else
			r = make_shared(path, shared_dirs[i].fstype, e);
	}
	if (r == 0) {
		snprintf(path, sizeof(path), "%s/logs", bundle);
		if (mkdir(path, 0755) < 0 && errno != EEXIST)
			r = error_errno(e, errno, "create %s", path);
	}
	if (r < 0) {
		struct error ignored;

		sandbox_mounts_teardown(bundle, &ignored);
	}
	return r;
}

int sandbox_mounts_teardown(const char *bundle, struct error *e)
{
	char path[PATH_MAX];
	int rc = 0;

	for (size_t i = 0; i < sizeof(shared_dirs) / sizeof(shared_dirs[0]); i++) {
		int r;

		snprintf(path, sizeof(path), "%s/%s", bundle, shared_dirs[i].name);
		r = storage_unmount_tree(path, e);
		if (r < 0 && rc == 0)
			rc = r;
	}
	return rc;
}

bool sandbox_page_size_valid(const char *size)
{
	size_t digits = strspn(size, "0123456789");

	return digits > 0 && digits < 12 && strchr("KMG", size[digits]) && size[digits] &&
	       !size[digits + 1];
}

int sandbox_hugetlbfs_mount(int dirfd, const char *size, const char *shown, struct error *e)
{
	char at[DIR_FD_PATH_MAX], opts[32];
	struct statfs sf;

	if (!sandbox_page_size_valid(size))
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "hugepages page size \"%s\" is not a size such as 2M", size);
	if (fstatfs(dirfd, &sf) == 0 && (unsigned long)sf.f_type == HUGETLBFS_MAGIC_NUMBER)
		return 0; /* mounted by an earlier workload */
	snprintf(opts, sizeof(opts), "pagesize=%s", size);
	if (mount("none", dir_fd_path(dirfd, at), "hugetlbfs", MS_NOSUID | MS_NODEV, opts) < 0)
		return error_errno(e, errno, "mount hugetlbfs (%s) on %s", opts, shown);
	return 0;
}
