/* libFuzzer target: a ModifySettings storage request as the storage
 * handlers decode it, and the guest path checks (gcs/storage/guest_path.c).
 *
 * Input: up to three sections separated by NUL bytes:
 *   body \0 path \0 name
 * - body: a ModifySettings message body -> codec_parse() -> codec_decode()
 *   (ContainerModifySettings, whose Settings the codec decodes by
 *   ResourceType) -> the envelope's rule ("" is "Add", handlers/modify.c)
 *   -> storage_resource_parse() -> storage_action_parse() ->
 *   storage_settings_copy() (the handlers' copy into a struct
 *   storage_request) -> the pure pieces of the runtime that take those
 *   values: guest_path_check() of every path in it, overlay_mount_data(),
 *   plan9_mount_data(), vpmem_dm_name(), storage_propagation_flag();
 * - path: guest_path_check() of <tmp><path> (when absolute), then
 *   guest_path_join() with name, guest_path_parent() up to the root.
 * The allowed roots are the gcs's five, under a temporary directory made
 * once (<tmp>/run/gcs/c, ...), which holds a directory, a file and a
 * symlink (<tmp>/run/mounts/link -> /etc) for the checks to meet. Nothing
 * mounts, formats, opens a device or creates a directory: storage_run()
 * and storage_apply() are not called.
 *
 * Asserted (abort on violation):
 * - the parsers accept exactly the five resource types and "Add"/"Remove"
 *   (SCSIDevice: "Remove" only); the copy is field-for-field the message;
 * - guest_path_check: the result is absolute, without "//", "." or ".."
 *   components or control characters, strictly below one allowed root
 *   (root_len), and never through the symlink (but as the last component
 *   with GUEST_PATH_FINAL_SYMLINK); a path with ".." or a control character
 *   or outside the roots is refused;
 * - join gives exactly "<path>/<name>" for a plain name, and refuses "",
 *   ".", ".." and names with '/'; parent gives a strictly shorter prefix
 *   ending at a '/' of the path, never above the root;
 * - overlay data starts with "lowerdir=", names every layer, and is refused
 *   when a path holds ':', ',' or '\\'; 9P data has exactly the options
 *   asked for (a share cannot add one); the dm name fits or is refused.
 * Plus ASan/UBSan and the leak checker. */
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bridge/codec.h"
#include "core/arena.h"
#include "handlers/storage.h"
#include "storage/guest_path.h"
#include "storage/mount.h"
#include "storage/overlay.h"
#include "storage/plan9.h"
#include "storage/storage.h"
#include "storage/vpmem.h"

static const char *const names[] = {"MappedVirtualDisk", "SCSIDevice", "MappedDirectory",
				    "VPMemDevice", "CombinedLayers"};
static char tmp[PATH_MAX], link_path[PATH_MAX];
static char roots_buf[5][PATH_MAX];
static const char *roots[6];
static struct storage_config cfg;

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_storage: %s: %s\n", what, detail ? detail : "");
	abort();
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

static void cleanup_tmp(void)
{
	if (tmp[0])
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

static void mkdirs(const char *path)
{
	char buf[PATH_MAX];

	snprintf(buf, sizeof(buf), "%s", path);
	for (char *p = buf + strlen(tmp) + 1; *p; p++)
		if (*p == '/') {
			*p = '\0';
			mkdir(buf, 0755);
			*p = '/';
		}
	if (mkdir(buf, 0755) < 0 && errno != EEXIST)
		die("mkdir", buf);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	char p[PATH_MAX * 2];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s/lcow-fuzz-storage-XXXXXX", base);
	if (!mkdtemp(tmp))
		die("mkdtemp", tmp);
	atexit(cleanup_tmp);
	for (int i = 0; storage_default_roots[i]; i++) {
		if (i == 5)
			die("more default roots than expected", NULL);
		snprintf(roots_buf[i], sizeof(roots_buf[i]), "%s%s", tmp, storage_default_roots[i]);
		mkdirs(roots_buf[i]);
		roots[i] = roots_buf[i];
	}
	storage_config_init(&cfg);
	cfg.allowed_roots = roots;
	cfg.sysfs_root = cfg.dev_root = "/nonexistent-lcow-fuzz";
	snprintf(p, sizeof(p), "%s/run/gcs/c/c1/rootfs", tmp);
	mkdirs(p);
	snprintf(p, sizeof(p), "%s/run/mounts/file", tmp);
	f = fopen(p, "w");
	if (!f)
		die("create", p);
	fclose(f);
	snprintf(link_path, sizeof(link_path), "%s/run/mounts/link", tmp);
	if (symlink("/etc", link_path) < 0)
		die("symlink", link_path);
	return 0;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

static bool has_dotdot(const char *s)
{
	for (const char *p = s; (p = strstr(p, "..")); p++)
		if ((p == s || p[-1] == '/') && (p[2] == '/' || p[2] == '\0'))
			return true;
	return false;
}

static void check_clean(const struct guest_path *gp)
{
	const char *p = gp->path;
	size_t len = strlen(p);
	bool below = false;

	if (p[0] != '/' || strstr(p, "//") || strstr(p, "/./") ||
	    (len >= 2 && !strcmp(p + len - 2, "/.")) || (len > 1 && p[len - 1] == '/'))
		die("path not normalised", p);
	if (has_dotdot(p) || has_control(p))
		die("path with .. or a control character", p);
	for (int i = 0; roots[i]; i++)
		if (strlen(roots[i]) == gp->root_len && !strncmp(p, roots[i], gp->root_len))
			below = true;
	if (!below || p[gp->root_len] != '/' || !p[gp->root_len + 1])
		die("path not strictly below its root", p);
}

/* The only symlink of the tree: nothing may pass through it. */
static void check_symlink(const struct guest_path *gp, unsigned flags)
{
	size_t n = strlen(link_path);

	if (strncmp(gp->path, link_path, n) != 0)
		return;
	if (gp->path[n] == '/')
		die("a path through a symlink was accepted", gp->path);
	if (gp->path[n] == '\0' && !(flags & GUEST_PATH_FINAL_SYMLINK))
		die("a symlink was accepted as the last component", gp->path);
}

static int check_path(const char *what, const char *path, unsigned flags, struct guest_path *gp)
{
	struct error e;
	int rc = guest_path_check(&cfg, what, path, flags, gp, &e);

	if (rc < 0) {
		if (e.kind != ERR_INVALID_ARG && e.kind != ERR_FAIL)
			die("unexpected error kind", e.msg);
		return rc;
	}
	if (!*path || has_control(path) || has_dotdot(path) || path[0] != '/')
		die("accepted a path the rules refuse", path);
	check_clean(gp);
	check_symlink(gp, flags);
	return 0;
}

static void check_join_parent(struct guest_path *gp, const char *name)
{
	struct guest_path j, up, cur;
	struct error e;
	size_t len = strlen(gp->path);

	if (guest_path_join(gp, name, &j, &e) == 0) {
		if (!*name || strchr(name, '/') || !strcmp(name, ".") || !strcmp(name, ".."))
			die("join accepted a bad name", name);
		if (strncmp(j.path, gp->path, len) || j.path[len] != '/' ||
		    strcmp(j.path + len + 1, name) || j.root_len != gp->root_len)
			die("join result", j.path);
		check_symlink(&j, 0);
	}
	/* Up to 16 levels: deeper paths only repeat the same step, each a
	 * copy of the path (a walk over 2000 components made the target 8x
	 * slower). */
	cur = *gp;
	for (int i = 0; i < 16 && guest_path_parent(&cur, &up, &e) == 0; i++) {
		size_t n = strlen(up.path);

		if (n >= strlen(cur.path) || strncmp(up.path, cur.path, n) || cur.path[n] != '/' ||
		    n < cur.root_len || up.root_len != cur.root_len)
			die("parent", up.path);
		cur = up;
	}
}

static bool has_any(const char *s, const char *chars)
{
	return s && strpbrk(s, chars);
}

static void check_overlay(const struct overlay_mount_req *l)
{
	char buf[4096], upper[PATH_MAX + 8], work[PATH_MAX + 8];
	bool scratch = l->scratch_path && *l->scratch_path, bad = false;
	struct error e;

	snprintf(upper, sizeof(upper), "%s/upper", l->scratch_path);
	snprintf(work, sizeof(work), "%s/work", l->scratch_path);
	for (size_t i = 0; i < l->n_layers; i++)
		bad |= has_any(l->layers[i], ":,\\");
	bad |= scratch && has_any(l->scratch_path, ":,\\");
	if (overlay_mount_data(buf, sizeof(buf), l->layers, l->n_layers, scratch ? upper : NULL,
			       scratch ? work : NULL, &e) < 0)
		return;
	if (bad || l->n_layers == 0)
		die("overlay data accepted a layer with ':', ',' or '\\'", buf);
	if (strncmp(buf, "lowerdir=", 9) || strlen(buf) >= sizeof(buf))
		die("overlay data", buf);
	for (size_t i = 0; i < l->n_layers; i++)
		if (!strstr(buf, l->layers[i]))
			die("overlay data lost a layer", l->layers[i]);
}

static void check_plan9(const struct plan9_mount_req *d)
{
	char buf[4096];
	struct error e;
	int commas = 0, want = 3 + d->read_only + (d->share_name && *d->share_name);

	if (plan9_mount_data(buf, sizeof(buf), 3, d->share_name, d->read_only, &e) < 0)
		return;
	if (strncmp(buf, "trans=fd,rfdno=3,wfdno=3,msize=", 31))
		die("9P data", buf);
	for (const char *p = buf; *p; p++)
		commas += *p == ',';
	if (commas != want || has_control(buf) || strchr(buf, ' '))
		die("9P data has other options than asked for", buf);
}

static void check_copy(const struct storage_request *sr, const Gcs__ModificationRequest *mr)
{
#define SAME_STR(a, b) (strcmp((a), (b) ? (b) : "") == 0)
	switch (sr->resource) {
	case STORAGE_MAPPED_VIRTUAL_DISK: {
		const Gcs__LCOWMappedVirtualDisk *s = mr->mappedvirtualdisk;

		if (sr->disk.lun != s->lun || sr->disk.controller != s->controller ||
		    sr->disk.partition != s->partition || sr->disk.read_only != s->readonly ||
		    sr->disk.block_dev != s->blockdev || sr->disk.encrypted != s->encrypted ||
		    sr->disk.ensure_filesystem != s->ensurefilesystem ||
		    !SAME_STR(sr->disk.mount_path, s->mountpath) ||
		    !SAME_STR(sr->disk.filesystem, s->filesystem) ||
		    sr->disk.n_options != s->n_options)
			die("disk copy", s->mountpath);
		for (size_t i = 0; i < s->n_options; i++)
			if (!SAME_STR(sr->disk.options[i], s->options[i]))
				die("disk option copy", sr->disk.options[i]);
		return;
	}
	case STORAGE_SCSI_DEVICE:
		if (sr->scsi_device.lun != mr->scsidevice->lun ||
		    sr->scsi_device.controller != mr->scsidevice->controller)
			die("SCSI device copy", NULL);
		return;
	case STORAGE_MAPPED_DIRECTORY:
		if (sr->directory.port != mr->mappeddirectory->port ||
		    sr->directory.read_only != mr->mappeddirectory->readonly ||
		    !SAME_STR(sr->directory.mount_path, mr->mappeddirectory->mountpath) ||
		    !SAME_STR(sr->directory.share_name, mr->mappeddirectory->sharename))
			die("directory copy", NULL);
		return;
	case STORAGE_VPMEM_DEVICE: {
		const Gcs__LCOWMappedVPMemDevice *s = mr->vpmemdevice;

		if (sr->vpmem.device_number != s->devicenumber ||
		    sr->vpmem.has_mapping != (s->mappinginfo != NULL) ||
		    (s->mappinginfo &&
		     (sr->vpmem.mapping_offset != s->mappinginfo->deviceoffsetinbytes ||
		      sr->vpmem.mapping_size != s->mappinginfo->devicesizeinbytes)) ||
		    !SAME_STR(sr->vpmem.mount_path, s->mountpath))
			die("VPMem copy", NULL);
		return;
	}
	case STORAGE_COMBINED_LAYERS: {
		const Gcs__LCOWCombinedLayers *s = mr->combinedlayers;

		if (!SAME_STR(sr->layers.root_path, s->containerrootpath) ||
		    !SAME_STR(sr->layers.scratch_path, s->scratchpath) ||
		    sr->layers.n_layers != s->n_layers)
			die("layers copy", NULL);
		for (size_t i = 0; i < s->n_layers; i++)
			if (!SAME_STR(sr->layers.layers[i], s->layers[i]->path))
				die("layer copy", sr->layers.layers[i]);
		return;
	}
	}
	die("unknown resource", NULL);
#undef SAME_STR
}

/* What the runtime would check of the request, without its effects. */
static void runtime_checks(const struct storage_request *sr)
{
	struct guest_path gp;
	char name[128];

	switch (sr->resource) {
	case STORAGE_MAPPED_VIRTUAL_DISK:
		check_path("MountPath", sr->disk.mount_path,
			   sr->disk.block_dev ? GUEST_PATH_FINAL_SYMLINK : 0, &gp);
		for (size_t i = 0; i < sr->disk.n_options; i++)
			(void)storage_propagation_flag(sr->disk.options[i]);
		return;
	case STORAGE_SCSI_DEVICE:
		return;
	case STORAGE_MAPPED_DIRECTORY:
		check_path("MountPath", sr->directory.mount_path, 0, &gp);
		check_plan9(&sr->directory);
		return;
	case STORAGE_VPMEM_DEVICE:
		check_path("MountPath", sr->vpmem.mount_path, 0, &gp);
		if (vpmem_dm_name(&sr->vpmem, name, sizeof(name)) == 0 &&
		    strncmp(name, "dm-linear-pmem", 14))
			die("dm name", name);
		return;
	case STORAGE_COMBINED_LAYERS:
		check_path("ContainerRootPath", sr->layers.root_path, 0, &gp);
		if (sr->layers.scratch_path[0])
			check_path("ScratchPath", sr->layers.scratch_path, 0, &gp);
		for (size_t i = 0; i < sr->layers.n_layers; i++)
			check_path("Layers", sr->layers.layers[i], 0, &gp);
		check_overlay(&sr->layers);
		return;
	}
}

static void request(const char *body, size_t len)
{
	struct json_object *obj = NULL;
	Gcs__ContainerModifySettings *m;
	Gcs__ModificationRequest *mr;
	struct storage_request sr = {0};
	struct arena *a, *copy;
	struct error e;
	bool known = false;
	int rc;

	if (codec_parse(body, len, &obj, &e) < 0)
		return;
	a = arena_new();
	if (!a)
		abort();
	if (codec_decode(&gcs__container_modify_settings__descriptor, obj, a,
			 (ProtobufCMessage **)&m, &e) < 0 ||
	    !m->request)
		goto out;
	mr = m->request;
	if (!mr->requesttype[0])
		mr->requesttype = "Add";
	for (size_t i = 0; i < 5; i++)
		known |= !strcmp(mr->resourcetype, names[i]);
	rc = storage_resource_parse(mr->resourcetype, &sr.resource, &e);
	if ((rc == 0) != known || (rc == 0 && strcmp(names[sr.resource], mr->resourcetype)))
		die("storage_resource_parse", mr->resourcetype);
	if (rc < 0)
		goto out;
	rc = storage_action_parse(sr.resource, mr->requesttype, &sr.action, &e);
	if (rc == 0 ? !((sr.action == STORAGE_REMOVE && !strcmp(mr->requesttype, "Remove")) ||
			(sr.action == STORAGE_ADD && !strcmp(mr->requesttype, "Add") &&
			 sr.resource != STORAGE_SCSI_DEVICE))
		    : (!strcmp(mr->requesttype, "Remove") ||
		       (!strcmp(mr->requesttype, "Add") && sr.resource != STORAGE_SCSI_DEVICE)))
		die("storage_action_parse", mr->requesttype);
	if (rc < 0)
		goto out;
	copy = arena_new();
	if (!copy)
		abort();
	if (storage_settings_copy(&sr, copy, mr, &e) == 0) {
		check_copy(&sr, mr);
		runtime_checks(&sr);
	} else if (e.kind != ERR_BAD_JSON && e.kind != ERR_FAIL) {
		die("copy error kind", e.msg);
	}
	arena_free(copy);
out:
	arena_free(a);
	json_object_put(obj);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *buf = malloc(size + 1), *path, *name, full[PATH_MAX * 2];
	struct guest_path gp;
	size_t body_len;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	body_len = strlen(buf);
	request(buf, body_len);
	path = body_len < size ? buf + body_len + 1 : NULL;
	name = path ? path + strlen(path) : NULL;
	name = name && name < buf + size ? name + 1 : "x";
	if (path) {
		if (path[0] == '/')
			snprintf(full, sizeof(full), "%s%s", tmp, path);
		else
			snprintf(full, sizeof(full), "%s", path);
		if (check_path("path", full, size & 1 ? GUEST_PATH_FINAL_SYMLINK : 0, &gp) == 0)
			check_join_parent(&gp, name);
	}
	free(buf);
	return 0;
}
