/* The pod cgroup of a CRI sandbox: <prefix>/<parent>/<sbid> with the sandbox
 * spec's resources. runc creates the containers' own cgroups below it. */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "cgroups/cgroup.h"

/* The resource values a pod cgroup takes; 0 means "not set". */
struct pod_limits {
	int64_t memory; /* bytes, -1 unlimited */
	int64_t shares;
	int64_t quota; /* µs per period, -1 unlimited */
	int64_t period;
	int64_t pids; /* -1 unlimited */
};

static int64_t res_int(struct json_object *res, const char *group, const char *key)
{
	struct json_object *g, *v;

	if (!res || !json_object_object_get_ex(res, group, &g) ||
	    !json_object_object_get_ex(g, key, &v) || !json_object_is_type(v, json_type_int))
		return 0;
	return json_object_get_int64(v);
}

static void read_limits(struct json_object *res, struct pod_limits *l)
{
	l->memory = res_int(res, "memory", "limit");
	l->shares = res_int(res, "cpu", "shares");
	l->quota = res_int(res, "cpu", "quota");
	l->period = res_int(res, "cpu", "period");
	l->pids = res_int(res, "pids", "limit");
}

/* mkdir -p of `path` below the existing directory `base`. */
static int make_below(const char *base, const char *path, struct error *e)
{
	char dir[PATH_MAX];
	size_t len = strlen(base);

	if (len + strlen(path) >= sizeof(dir))
		return error_set(e, ERR_FAIL, ENAMETOOLONG, "cgroup path too long");
	memcpy(dir, base, len + 1);
	for (const char *p = path; *p;) {
		size_t seg = strcspn(p + 1, "/") + 1;

		memcpy(dir + len, p, seg);
		len += seg;
		dir[len] = '\0';
		p += seg;
		if (mkdir(dir, 0755) < 0 && errno != EEXIST)
			return error_errno(e, errno, "create cgroup %s", dir);
	}
	return 0;
}

static int put(const char *dir, const char *file, const char *value, struct error *e)
{
	int rc = cgroup_write(dir, file, value);

	if (rc < 0)
		return error_errno(e, -rc, "write %s to %s/%s", value, dir, file);
	return 0;
}

static int put_int(const char *dir, const char *file, int64_t v, struct error *e)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%" PRId64, v);
	return put(dir, file, buf, e);
}

/* v1: each limit goes to its controller's hierarchy; a limit whose
 * controller is not mounted is an error, not silently dropped. */
static int v1_controller(const struct cgroup_config *cfg, const char *ctrl, const char *pod,
			 char *dir, size_t size, struct error *e)
{
	char base[PATH_MAX];

	snprintf(base, sizeof(base), "%s/%s", cfg->root, ctrl);
	if (access(base, F_OK) < 0)
		return error_set(e, ERR_FAIL, ENOENT, "pod limit needs the %s controller", ctrl);
	if (make_below(base, pod, e) < 0)
		return -EIO;
	snprintf(dir, size, "%s%s", base, pod);
	return 0;
}

static int v1_apply(const struct cgroup_config *cfg, const char *pod, const struct pod_limits *l,
		    struct error *e)
{
	char dir[PATH_MAX];

	if (v1_controller(cfg, "memory", pod, dir, sizeof(dir), e) < 0 ||
	    (l->memory && put_int(dir, "memory.limit_in_bytes", l->memory, e) < 0))
		return -EIO;
	if (l->shares || l->quota || l->period) {
		if (v1_controller(cfg, "cpu", pod, dir, sizeof(dir), e) < 0 ||
		    (l->shares && put_int(dir, "cpu.shares", l->shares, e) < 0) ||
		    /* The period first: the quota is checked against it. */
		    (l->period && put_int(dir, "cpu.cfs_period_us", l->period, e) < 0) ||
		    (l->quota && put_int(dir, "cpu.cfs_quota_us", l->quota, e) < 0))
			return -EIO;
	}
	if (l->pids) {
		if (v1_controller(cfg, "pids", pod, dir, sizeof(dir), e) < 0)
			return -EIO;
		if (l->pids < 0 ? put(dir, "pids.max", "max", e) < 0
				: put_int(dir, "pids.max", l->pids, e) < 0)
			return -EIO;
	}
	return 0;
}

/* Is `word` one of the space-separated words of list? */
static bool word_in(const char *list, const char *word)
{
	size_t wl = strlen(word);

	for (const char *a = list; (a = strstr(a, word)); a += wl)
		if ((a == list || a[-1] == ' ') && strchr(" \n", a[wl]))
			return true;
	return false;
}

/* v2: a child only has the controllers its parent's subtree_control
 * enables, so enable memory, cpu and pids (where offered) on the way down. */
static int v2_enable_down_to(const struct cgroup_config *cfg, const char *path, struct error *e)
{
	static const char *const ctrls[] = {"memory", "cpu", "pids"};
	char dir[PATH_MAX], avail[512];
	size_t len = strlen(cfg->root);
	ssize_t n;

	memcpy(dir, cfg->root, len + 1);
	for (const char *p = path;;) {
		char words[64] = "";

		n = cgroup_read(dir, "cgroup.controllers", avail, sizeof(avail));
		if (n < 0)
			return error_errno(e, (int)-n, "read %s/cgroup.controllers", dir);
		for (size_t i = 0; i < sizeof(ctrls) / sizeof(ctrls[0]); i++)
			if (word_in(avail, ctrls[i])) {
				strcat(words, *words ? " +" : "+");
				strcat(words, ctrls[i]);
			}
		/* One write: the kernel takes a space-separated list. */
		if (*words && put(dir, "cgroup.subtree_control", words, e) < 0)
			return -EIO;
		if (!*p)
			return 0;
		size_t seg = strcspn(p + 1, "/") + 1;

		if (len + seg >= sizeof(dir))
			return error_set(e, ERR_FAIL, ENAMETOOLONG, "cgroup path too long");
		memcpy(dir + len, p, seg);
		len += seg;
		dir[len] = '\0';
		p += seg;
	}
}

static int v2_apply(const struct cgroup_config *cfg, const char *pod, const struct pod_limits *l,
		    struct error *e)
{
	char parent[PATH_MAX], dir[PATH_MAX], val[64];

	snprintf(parent, sizeof(parent), "%s/%s", cfg->prefix, cfg->parent);
	if (v2_enable_down_to(cfg, parent, e) < 0 || make_below(cfg->root, pod, e) < 0)
		return -EIO;
	snprintf(dir, sizeof(dir), "%s%s", cfg->root, pod);
	if (l->memory && (l->memory < 0 ? put(dir, "memory.max", "max", e)
					: put_int(dir, "memory.max", l->memory, e)) < 0)
		return -EIO;
	if (l->shares) {
		/* cpu.shares 2..262144 onto cpu.weight 1..10000, as runc does. */
		int64_t s = l->shares < 2 ? 2 : l->shares > 262144 ? 262144 : l->shares;

		if (put_int(dir, "cpu.weight", 1 + ((s - 2) * 9999) / 262142, e) < 0)
			return -EIO;
	}
	if (l->quota || l->period) {
		if (l->quota > 0)
			snprintf(val, sizeof(val), "%" PRId64 " %" PRId64, l->quota,
				 l->period ? l->period : 100000);
		else
			snprintf(val, sizeof(val), "max %" PRId64, l->period ? l->period : 100000);
		if (put(dir, "cpu.max", val, e) < 0)
			return -EIO;
	}
	if (l->pids && (l->pids < 0 ? put(dir, "pids.max", "max", e)
				    : put_int(dir, "pids.max", l->pids, e)) < 0)
		return -EIO;
	return 0;
}

static int pod_path(const struct cgroup_config *cfg, const char *sbid, char *buf, size_t size,
		    struct error *e)
{
	if (!sbid || !*sbid || strchr(sbid, '/') || !strcmp(sbid, ".") || !strcmp(sbid, ".."))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid sandbox id \"%s\"",
				 sbid ? sbid : "");
	if (snprintf(buf, size, "%s/%s/%s", cfg->prefix, cfg->parent, sbid) >= (int)size)
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "cgroup path too long");
	return 0;
}

int cgroup_pod_create(const struct cgroup_config *cfg, const char *sbid,
		      struct json_object *resources, struct error *e)
{
	struct pod_limits l;
	char pod[PATH_MAX];
	int rc;

	if (pod_path(cfg, sbid, pod, sizeof(pod), e) < 0)
		return -EINVAL;
	read_limits(resources, &l);
	rc = cfg->layout == CGROUP_V1 ? v1_apply(cfg, pod, &l, e) : v2_apply(cfg, pod, &l, e);
	if (rc < 0)
		return error_prefix(e, "pod cgroup %s", pod);
	return 0;
}

int cgroup_pod_remove(const struct cgroup_config *cfg, const char *sbid, struct error *e)
{
	char pod[PATH_MAX];

	if (pod_path(cfg, sbid, pod, sizeof(pod), e) < 0)
		return -EINVAL;
	return cgroup_remove(cfg, pod, e);
}
