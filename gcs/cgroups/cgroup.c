#include "cgroups/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <linux/magic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysinfo.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"

/* ---- files ---------------------------------------------------------------- */

ssize_t cgroup_read(const char *dir, const char *file, char *buf, size_t size)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t off = 0;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (off + 1 < size) {
		ssize_t n = read(fd, buf + off, size - 1 - off);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if (n == 0)
			break;
		off += (size_t)n;
	}
	buf[off] = '\0';
	return (ssize_t)off;
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	*out = strtoull(s, &end, 10);
	if (errno)
		return -errno;
	return *end == '\0' || *end == '\n' || *end == ' ' ? 0 : -EINVAL;
}

int cgroup_read_u64(const char *dir, const char *file, uint64_t max_value, uint64_t *out)
{
	char buf[64];
	ssize_t n = cgroup_read(dir, file, buf, sizeof(buf));

	if (n < 0)
		return (int)n;
	if (!strcmp(buf, "max\n") || !strcmp(buf, "max")) {
		*out = max_value;
		return 0;
	}
	return parse_u64(buf, out);
}

bool cgroup_kv(const char *text, const char *key, uint64_t *out)
{
	size_t kl = strlen(key);

	for (const char *p = text; p && *p; p = strchr(p, '\n'), p = p ? p + 1 : NULL)
		if (!strncmp(p, key, kl) && p[kl] == ' ' && parse_u64(p + kl + 1, out) == 0)
			return true;
	return false;
}

int cgroup_write(const char *dir, const char *file, const char *value)
{
	char path[PATH_MAX];
	_cleanup_close_ int fd = -1;
	size_t len = strlen(value);
	ssize_t n;

	if (snprintf(path, sizeof(path), "%s/%s", dir, file) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	/* O_TRUNC as `echo v > file`: harmless on cgroupfs, exact on copies. */
	fd = open(path, O_WRONLY | O_TRUNC | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	do
		n = write(fd, value, len);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* ---- layout and paths ------------------------------------------------------ */

int cgroup_config_init(struct cgroup_config *cfg, const char *root, const char *prefix,
		       const char *parent, struct error *e)
{
	struct statfs sfs;
	char mem[PATH_MAX];

	memset(cfg, 0, sizeof(*cfg));
	if (prefix && *prefix && (prefix[0] != '/' || strstr(prefix, "..")))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "cgroup prefix must be absolute: %s",
				 prefix);
	if (!parent || !*parent || strchr(parent, '/'))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "bad cgroup parent \"%s\"",
				 parent ? parent : "");
	if (snprintf(cfg->root, sizeof(cfg->root), "%s", root) >= (int)sizeof(cfg->root) ||
	    snprintf(cfg->prefix, sizeof(cfg->prefix), "%s", prefix ? prefix : "") >=
		    (int)sizeof(cfg->prefix) ||
	    snprintf(cfg->parent, sizeof(cfg->parent), "%s", parent) >= (int)sizeof(cfg->parent))
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "cgroup path too long");
	if (statfs(root, &sfs) < 0)
		return error_errno(e, errno, "statfs %s", root);
	if (sfs.f_type == CGROUP2_SUPER_MAGIC) {
		cfg->layout = CGROUP_V2;
		return 0;
	}
	snprintf(mem, sizeof(mem), "%s/memory", root);
	if (statfs(mem, &sfs) == 0 && sfs.f_type == CGROUP_SUPER_MAGIC) {
		cfg->layout = CGROUP_V1;
		return 0;
	}
	return error_set(e, ERR_FAIL, ENOENT,
			 "%s is neither a cgroup2 mount nor holds a cgroup v1 memory hierarchy",
			 root);
}

int cgroup_parent_path(const struct cgroup_config *cfg, char *buf, size_t size)
{
	int n = snprintf(buf, size, "%s/%s", cfg->prefix, cfg->parent);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int cgroup_dir(const struct cgroup_config *cfg, const char *controller, const char *path, char *buf,
	       size_t size)
{
	int n;

	if (cfg->layout == CGROUP_V1)
		n = snprintf(buf, size, "%s/%s%s", cfg->root, controller, path);
	else
		n = snprintf(buf, size, "%s%s", cfg->root, path);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* ---- setup ----------------------------------------------------------------- */

int cgroup_parent_limit(uint64_t total_ram, uint64_t reserve, uint64_t *limit, struct error *e)
{
	if (total_ram <= reserve)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "%" PRIu64 " bytes of RAM leave nothing above the %" PRIu64
				 " byte reserve",
				 total_ram, reserve);
	*limit = total_ram - reserve;
	return 0;
}

int cgroup_total_ram(uint64_t *bytes, struct error *e)
{
	struct sysinfo si;

	if (sysinfo(&si) < 0)
		return error_errno(e, errno, "sysinfo");
	*bytes = (uint64_t)si.totalram * si.mem_unit;
	return 0;
}

static int make_dir(const char *dir, struct error *e)
{
	if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		return error_errno(e, errno, "create cgroup %s", dir);
	return 0;
}

/* The base directory of our cgroups: v1 in the memory hierarchy. */
static int base_dir(const struct cgroup_config *cfg, char *buf, size_t size)
{
	return cgroup_dir(cfg, "memory", cfg->prefix, buf, size);
}

static int v2_enable_memory(const char *dir, struct error *e)
{
	int rc = cgroup_write(dir, "cgroup.subtree_control", "+memory");

	if (rc < 0)
		return error_errno(e, -rc, "enable the memory controller below %s", dir);
	return 0;
}

/* Creates every directory of the prefix; on v2 each one passes the memory
 * controller on to its children. */
static int make_prefix(const struct cgroup_config *cfg, struct error *e)
{
	char dir[PATH_MAX];
	size_t len;

	if (cgroup_dir(cfg, "memory", "", dir, sizeof(dir)) < 0)
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "cgroup path too long");
	if (cfg->layout == CGROUP_V2 && v2_enable_memory(dir, e) < 0)
		return -EIO;
	len = strlen(dir);
	for (const char *p = cfg->prefix; *p;) {
		size_t seg = strcspn(p + 1, "/") + 1;

		if (len + seg >= sizeof(dir))
			return error_set(e, ERR_FAIL, ENAMETOOLONG, "cgroup path too long");
		memcpy(dir + len, p, seg);
		len += seg;
		dir[len] = '\0';
		p += seg;
		if (make_dir(dir, e) < 0)
			return -EIO;
		if (cfg->layout == CGROUP_V2 && v2_enable_memory(dir, e) < 0)
			return -EIO;
	}
	return 0;
}

/* v1: children only count toward a parent's limit with use_hierarchy, which
 * must be set before children exist (modern kernels force it to 1). */
static int v1_use_hierarchy(const char *dir, struct error *e)
{
	uint64_t v = 0;
	int rc = cgroup_write(dir, "memory.use_hierarchy", "1");

	if (rc < 0 && (cgroup_read_u64(dir, "memory.use_hierarchy", 0, &v) < 0 || v != 1))
		return error_errno(e, -rc, "set memory.use_hierarchy in %s", dir);
	return 0;
}

int cgroup_set_parent_limit(const struct cgroup_config *cfg, uint64_t limit, struct error *e)
{
	char dir[PATH_MAX], val[32];
	const char *file = cfg->layout == CGROUP_V1 ? "memory.limit_in_bytes" : "memory.max";
	int rc;

	if (base_dir(cfg, dir, sizeof(dir)) < 0 ||
	    strlen(dir) + strlen(cfg->parent) + 2 > sizeof(dir))
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "cgroup path too long");
	strcat(dir, "/");
	strcat(dir, cfg->parent);
	snprintf(val, sizeof(val), "%" PRIu64, limit);
	rc = cgroup_write(dir, file, val);
	if (rc < 0)
		return error_errno(e, -rc, "write %s/%s", dir, file);
	return 0;
}

int cgroup_setup(const struct cgroup_config *cfg, uint64_t total_ram, uint64_t reserve,
		 struct error *e)
{
	char base[PATH_MAX], dir[PATH_MAX + 64];
	const char *children[] = {"gcs", cfg->parent};
	uint64_t limit = 0;

	if (cgroup_parent_limit(total_ram, reserve, &limit, e) < 0)
		return -EINVAL;
	if (make_prefix(cfg, e) < 0)
		return error_prefix(e, "cgroup setup");
	if (base_dir(cfg, base, sizeof(base)) < 0)
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "cgroup path too long");
	if (cfg->layout == CGROUP_V1 && v1_use_hierarchy(base, e) < 0)
		return -EIO;
	for (size_t i = 0; i < ARRAY_SIZE(children); i++) {
		snprintf(dir, sizeof(dir), "%s/%s", base, children[i]);
		if (make_dir(dir, e) < 0)
			return -EIO;
	}
	return cgroup_set_parent_limit(cfg, limit, e);
}

int cgroup_refresh_parent_limit(const struct cgroup_config *cfg, uint64_t reserve, struct error *e)
{
	uint64_t total = 0, limit = 0;

	if (cgroup_total_ram(&total, e) < 0 || cgroup_parent_limit(total, reserve, &limit, e) < 0)
		return -EINVAL;
	return cgroup_set_parent_limit(cfg, limit, e);
}

int cgroup_move_to_gcs(const struct cgroup_config *cfg, pid_t pid, struct error *e)
{
	char dir[PATH_MAX], val[24];
	int rc;

	if (base_dir(cfg, dir, sizeof(dir)) < 0 || strlen(dir) + 5 > sizeof(dir))
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "cgroup path too long");
	strcat(dir, "/gcs");
	snprintf(val, sizeof(val), "%d", (int)pid);
	rc = cgroup_write(dir, "cgroup.procs", val);
	if (rc < 0)
		return error_errno(e, -rc, "move pid %d into %s", (int)pid, dir);
	return 0;
}

/* ---- removal --------------------------------------------------------------- */

/* rmdir, retrying EBUSY briefly: a cgroup whose last process was just
 * killed stays busy until the process has been reaped. */
static int rmdir_settled(const char *dir)
{
	for (int i = 0; i < 50; i++) {
		struct timespec ts = {0, 20 * 1000 * 1000};

		if (rmdir(dir) == 0 || errno == ENOENT)
			return 0;
		if (errno != EBUSY)
			return -errno;
		nanosleep(&ts, NULL);
	}
	return -EBUSY;
}

static bool is_dir(int dirfd, struct dirent *de)
{
	struct stat st;

	if (de->d_type != DT_UNKNOWN)
		return de->d_type == DT_DIR;
	return fstatat(dirfd, de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode);
}

static int remove_tree(const char *dir, int depth, struct error *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char sub[PATH_MAX];
	int rc = 0;

	if (!d)
		return errno == ENOENT ? 0 : error_errno(e, errno, "open cgroup %s", dir);
	while (rc == 0 && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") || !is_dir(dirfd(d), de))
			continue;
		if (depth > 32 ||
		    snprintf(sub, sizeof(sub), "%s/%s", dir, de->d_name) >= (int)sizeof(sub)) {
			rc = error_set(e, ERR_FAIL, ENAMETOOLONG, "cgroup tree too deep: %s", dir);
			break;
		}
		rc = remove_tree(sub, depth + 1, e);
	}
	closedir(d);
	if (rc < 0)
		return rc;
	rc = rmdir_settled(dir);
	return rc < 0 ? error_errno(e, -rc, "remove cgroup %s", dir) : 0;
}

int cgroup_remove(const struct cgroup_config *cfg, const char *path, struct error *e)
{
	char dir[PATH_MAX];
	struct dirent *de;
	int rc = 0;
	DIR *d;

	if (!path[0] || !strcmp(path, "/") || strstr(path, ".."))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "refusing to remove cgroup \"%s\"",
				 path);
	if (cfg->layout == CGROUP_V2) {
		if (cgroup_dir(cfg, NULL, path, dir, sizeof(dir)) < 0)
			return error_set(e, ERR_FAIL, ENAMETOOLONG, "cgroup path too long");
		return remove_tree(dir, 0, e);
	}
	/* v1: runc creates the path in every hierarchy (named ones and the
	 * hybrid unified one included), so look at each. */
	d = opendir(cfg->root);
	if (!d)
		return error_errno(e, errno, "open %s", cfg->root);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || !is_dir(dirfd(d), de))
			continue;
		if (snprintf(dir, sizeof(dir), "%s/%s%s", cfg->root, de->d_name, path) >=
		    (int)sizeof(dir))
			continue;
		int r = remove_tree(dir, 0, e);

		if (r < 0 && rc == 0)
			rc = r;
	}
	closedir(d);
	return rc;
}

int cgroup_teardown(const struct cgroup_config *cfg, struct error *e)
{
	char path[PATH_MAX];
	int rc;

	snprintf(path, sizeof(path), "%s/gcs", cfg->prefix);
	rc = cgroup_remove(cfg, path, e);
	if (rc == 0) {
		snprintf(path, sizeof(path), "%s/%s", cfg->prefix, cfg->parent);
		rc = cgroup_remove(cfg, path, e);
	}
	/* The prefix's own ancestors are not ours; only its last directory is. */
	if (rc == 0 && cfg->prefix[0])
		rc = cgroup_remove(cfg, cfg->prefix, e);
	return rc;
}
