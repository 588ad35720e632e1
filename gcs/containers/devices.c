#include "containers/devices.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "containers/spec_json.h"

/* What runc leaves out of a walk of /dev: pseudo-terminal and shm mounts,
 * descriptors, mqueue, and container managers' private directories. */
static const char *const skipped_dirs[] = {"pts",  "shm",	  "fd",	  "mqueue",
					   ".lxc", ".lxd-mounts", ".udev"};
#define DEV_WALK_MAX_DEPTH 8

/* {"path","type","major","minor","fileMode","uid","gid"} of the node. */
static struct json_object *device_entry(const char *path, const struct stat *st, struct error *e)
{
	struct json_object *d = json_object_new_object();

	if (!d || spec_set_member(d, "path", json_object_new_string(path), e) < 0 ||
	    spec_set_member(d, "type", json_object_new_string(S_ISBLK(st->st_mode) ? "b" : "c"),
			    e) < 0 ||
	    spec_set_member(d, "major", json_object_new_int64(major(st->st_rdev)), e) < 0 ||
	    spec_set_member(d, "minor", json_object_new_int64(minor(st->st_rdev)), e) < 0 ||
	    spec_set_member(d, "fileMode", json_object_new_int64(st->st_mode & 07777), e) < 0 ||
	    spec_set_member(d, "uid", json_object_new_int64(st->st_uid), e) < 0 ||
	    spec_set_member(d, "gid", json_object_new_int64(st->st_gid), e) < 0) {
		json_object_put(d);
		error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
		return NULL;
	}
	return d;
}

static int allow_rule(struct json_object *rules, const struct stat *st, const char *access,
		      struct error *e)
{
	struct json_object *r = json_object_new_object();

	if (!r || spec_set_member(r, "allow", json_object_new_boolean(1), e) < 0 ||
	    spec_set_member(r, "type", json_object_new_string(S_ISBLK(st->st_mode) ? "b" : "c"),
			    e) < 0 ||
	    spec_set_member(r, "major", json_object_new_int64(major(st->st_rdev)), e) < 0 ||
	    spec_set_member(r, "minor", json_object_new_int64(minor(st->st_rdev)), e) < 0 ||
	    spec_set_member(r, "access", json_object_new_string(access), e) < 0) {
		json_object_put(r);
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	}
	return spec_array_push(rules, r, e);
}

/* Replaces the entry with the same path, or appends. */
static int put_device(struct json_object *devices, struct json_object *d, struct error *e)
{
	const char *path = spec_member_str(d, "path");

	for (size_t i = 0; i < json_object_array_length(devices); i++) {
		const char *p = spec_member_str(json_object_array_get_idx(devices, i), "path");

		if (p && !strcmp(p, path))
			return json_object_array_put_idx(devices, i, d) < 0
				       ? error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory")
				       : 0;
	}
	return spec_array_push(devices, d, e);
}

static bool skipped_dir(const char *name)
{
	for (size_t i = 0; i < sizeof(skipped_dirs) / sizeof(skipped_dirs[0]); i++)
		if (!strcmp(name, skipped_dirs[i]))
			return true;
	return false;
}

/* Adds every char and block node below dir (symlinks and fifos are not
 * devices; "console" is the container's own). in_spec is the path the
 * container sees: /dev/... whatever dev_root is. */
static int walk_devices(const char *dir, const char *in_spec, int depth,
			struct json_object *devices, struct error *e)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int r = 0;

	if (!d)
		return error_errno(e, errno, "privileged container: read %s", dir);
	while (r == 0 && (de = readdir(d))) {
		char path[PATH_MAX], spec_path[PATH_MAX];
		struct stat st;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, de->d_name) >= (int)sizeof(path) ||
		    snprintf(spec_path, sizeof(spec_path), "%s/%s", in_spec, de->d_name) >=
			    (int)sizeof(spec_path) ||
		    lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (!skipped_dir(de->d_name) && depth < DEV_WALK_MAX_DEPTH)
				r = walk_devices(path, spec_path, depth + 1, devices, e);
			continue;
		}
		if ((!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) ||
		    !strcmp(de->d_name, "console") || st.st_rdev == 0)
			continue;
		struct json_object *entry = device_entry(spec_path, &st, e);

		r = entry ? put_device(devices, entry, e) : -ENOMEM;
	}
	closedir(d);
	return r;
}

static int privileged_devices(struct json_object *devices, struct json_object *res,
			      const char *dev_root, struct error *e)
{
	struct json_object *rules = json_object_new_array(), *all = json_object_new_object();
	int r = walk_devices(dev_root, "/dev", 0, devices, e);

	if (r < 0) {
		json_object_put(rules);
		json_object_put(all);
		return r;
	}
	/* Allow everything, replacing whatever rules the host sent. */
	if (!rules || !all || spec_set_member(all, "allow", json_object_new_boolean(1), e) < 0 ||
	    spec_set_member(all, "access", json_object_new_string("rwm"), e) < 0) {
		json_object_put(rules);
		json_object_put(all);
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	}
	if (spec_array_push(rules, all, e) < 0) {
		json_object_put(rules);
		return -ENOMEM;
	}
	return spec_set_member(res, "devices", rules, e);
}

/* The node at the container path `path`, found below dev_root. */
static int resolve(const char *path, const char *dev_root, struct stat *st, struct error *e)
{
	char uvm_path[PATH_MAX];

	if (!path || strncmp(path, "/dev/", 5) != 0 || strstr(path, "/../") ||
	    !strcmp(path + strlen(path) - 3, "/.."))
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "linux.devices: \"%s\" is not a path below /dev",
				 path ? path : "");
	if (snprintf(uvm_path, sizeof(uvm_path), "%s/%s", dev_root, path + 5) >=
	    (int)sizeof(uvm_path))
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "linux.devices: %s: too long",
				 path);
	if (stat(uvm_path, st) < 0)
		return error_set(e, ERR_INVALID_ARG, errno,
				 "linux.devices: %s: no such device in the UVM (%s)", path,
				 strerror(errno));
	if (!S_ISCHR(st->st_mode) && !S_ISBLK(st->st_mode))
		return error_set(e, ERR_INVALID_ARG, ENODEV,
				 "linux.devices: %s is not a device node in the UVM", path);
	return 0;
}

static int listed_devices(struct json_object *lnx, struct json_object *res, const char *dev_root,
			  struct error *e)
{
	struct json_object *asked = spec_member(lnx, "devices", json_type_array), *rules;
	struct json_object *devices;
	int r;

	if (!asked || json_object_array_length(asked) == 0)
		return 0;
	json_object_get(asked);
	devices = json_object_new_array();
	if (!devices || spec_set_member(lnx, "devices", devices, e) < 0 ||
	    !(rules = spec_member_ensure(res, "devices", json_type_array, e))) {
		json_object_put(asked);
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	}
	r = 0;
	for (size_t i = 0; r == 0 && i < json_object_array_length(asked); i++) {
		const char *path = spec_member_str(json_object_array_get_idx(asked, i), "path");
		struct json_object *entry;
		struct stat st;

		if ((r = resolve(path, dev_root, &st, e)) < 0)
			break;
		entry = device_entry(path, &st, e);
		r = entry ? put_device(devices, entry, e) : -ENOMEM;
		if (r == 0)
			r = allow_rule(rules, &st, "rwm", e);
	}
	json_object_put(asked);
	return r;
}

int oci_devices_apply(struct json_object *spec, bool privileged, const char *dev_root,
		      struct error *e)
{
	struct json_object *lnx, *res, *devices;

	if (!(lnx = spec_member_ensure(spec, "linux", json_type_object, e)) ||
	    !(res = spec_member_ensure(lnx, "resources", json_type_object, e)))
		return -EINVAL;
	if (!privileged)
		return listed_devices(lnx, res, dev_root, e);
	if (!(devices = spec_member_ensure(lnx, "devices", json_type_array, e)))
		return -EINVAL;
	return privileged_devices(devices, res, dev_root, e);
}
