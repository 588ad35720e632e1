#include "cgroups/stats.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "cgroups/stats_internal.h"

struct json_object *mb_obj(struct mb *mb)
{
	struct json_object *o = json_object_new_object();

	if (!o)
		mb->oom = true;
	return o;
}

static void add(struct mb *mb, struct json_object *o, const char *key, struct json_object *v)
{
	if (!o || !v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		mb->oom = true;
	}
}

void mb_u64(struct mb *mb, struct json_object *o, const char *key, uint64_t v)
{
	if (v)
		add(mb, o, key, json_object_new_uint64(v));
}

void mb_put(struct mb *mb, struct json_object *o, const char *key, struct json_object *child)
{
	if (child)
		add(mb, o, key, child);
}

void mb_put_nonempty(struct mb *mb, struct json_object *o, const char *key,
		     struct json_object *child)
{
	if (child && json_object_object_length(child) > 0)
		add(mb, o, key, child);
	else
		json_object_put(child);
}

void mb_blkio(struct mb *mb, struct json_object *o, const char *key, const char *op, uint64_t major,
	      uint64_t minor, uint64_t value)
{
	struct json_object *list, *entry;

	if (!o)
		return;
	if (!json_object_object_get_ex(o, key, &list)) {
		list = json_object_new_array();
		add(mb, o, key, list);
		if (!list)
			return;
	}
	if (json_object_array_length(list) >= STATS_MAX_BLKIO)
		return;
	entry = mb_obj(mb);
	if (!entry)
		return;
	add(mb, entry, "op", json_object_new_string(op));
	mb_u64(mb, entry, "major", major);
	mb_u64(mb, entry, "minor", minor);
	mb_u64(mb, entry, "value", value);
	if (json_object_array_add(list, entry) < 0) {
		json_object_put(entry);
		mb->oom = true;
	}
}

void mb_hugetlb(struct mb *mb, struct json_object *m, const char *dir, const char *suffix,
		mb_hugetlb_fn *fill)
{
	size_t sl = strlen(suffix);
	char size[32];
	struct json_object *list;
	struct dirent *de;
	DIR *d = opendir(dir);

	if (!d)
		return;
	list = json_object_new_array();
	while (list && (de = readdir(d)) && json_object_array_length(list) < STATS_MAX_HUGETLB) {
		size_t n = strlen(de->d_name);
		struct json_object *h;

		if (strncmp(de->d_name, "hugetlb.", 8) || n <= 8 + sl ||
		    strcmp(de->d_name + n - sl, suffix) || n - 8 - sl >= sizeof(size) ||
		    memchr(de->d_name + 8, '.', n - 8 - sl)) /* .rsvd. files */
			continue;
		snprintf(size, sizeof(size), "%.*s", (int)(n - 8 - sl), de->d_name + 8);
		h = mb_obj(mb);
		if (!h)
			break;
		fill(mb, h, dir, size);
		if (json_object_object_add(h, "pagesize", json_object_new_string(size)) < 0 ||
		    json_object_array_add(list, h) < 0)
			mb->oom = true;
	}
	closedir(d);
	if (!list)
		mb->oom = true;
	else if (json_object_array_length(list) > 0)
		mb_put(mb, m, "hugetlb", list);
	else
		json_object_put(list);
}

int stats_read(const struct cgroup_config *cfg, const char *cgroups_path,
	       struct json_object **metrics, struct error *e)
{
	char dir[PATH_MAX];
	struct stat st;
	struct mb mb = {false};
	struct json_object *m;
	int rc;

	*metrics = NULL;
	if (!cgroups_path || cgroups_path[0] != '/' || strstr(cgroups_path, ".."))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "bad cgroups path \"%s\"",
				 cgroups_path ? cgroups_path : "");
	/* The memory cgroup is the one every container has. */
	if (cgroup_dir(cfg, "memory", cgroups_path, dir, sizeof(dir)) < 0)
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "cgroups path too long");
	if (stat(dir, &st) < 0)
		return error_errno(e, errno, "container cgroup %s", dir);
	m = mb_obj(&mb);
	if (!m)
		return error_set(e, ERR_FAIL, ENOMEM, "stats: out of memory");
	rc = cfg->layout == CGROUP_V1 ? stats_v1(cfg, cgroups_path, m, &mb)
				      : stats_v2(cfg, cgroups_path, m, &mb);
	if (rc == 0 && mb.oom)
		rc = -ENOMEM;
	if (rc < 0) {
		json_object_put(m);
		return error_errno(e, -rc, "stats of cgroup %s", cgroups_path);
	}
	*metrics = m;
	return 0;
}
