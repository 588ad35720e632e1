/* CombinedLayers: an overlay of the layer mounts at ContainerRootPath,
 * writable through ScratchPath/{upper,work}, read-only without a scratch. */
#include "storage/overlay.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <unistd.h>

#include "storage/guest_path.h"
#include "storage/storage.h"
#include "storage/mount.h"

static int append(char *buf, size_t size, size_t *len, const char *s, struct error *e)
{
	size_t n = strlen(s);

	if (*len + n >= size)
		return error_set(e, ERR_INVALID_ARG, E2BIG,
				 "overlay options exceed %zu bytes (too many layers for one mount)",
				 size - 1);
	memcpy(buf + *len, s, n + 1);
	*len += n;
	return 0;
}

static int check_option_path(const char *what, const char *path, struct error *e)
{
	if (strpbrk(path, ":,\\"))
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "%s \"%s\" contains ':', ',' or '\\', which overlay options "
				 "cannot carry",
				 what, path);
	return 0;
}

int overlay_mount_data(char *buf, size_t size, const char *const *layers, size_t n,
		       const char *upper, const char *work, struct error *e)
{
	size_t len = 0;
	int r;

	if (n == 0)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "no layers to combine");
	buf[0] = '\0';
	if ((r = append(buf, size, &len, "lowerdir=", e)) < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if ((r = check_option_path("layer", layers[i], e)) < 0 ||
		    (i && (r = append(buf, size, &len, ":", e)) < 0) ||
		    (r = append(buf, size, &len, layers[i], e)) < 0)
			return r;
	if (!upper && !work)
		return 0;
	if (!upper || !work)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "upperdir and workdir go together");
	if ((r = check_option_path("upperdir", upper, e)) < 0 ||
	    (r = check_option_path("workdir", work, e)) < 0 ||
	    (r = append(buf, size, &len, ",upperdir=", e)) < 0 ||
	    (r = append(buf, size, &len, upper, e)) < 0 ||
	    (r = append(buf, size, &len, ",workdir=", e)) < 0 ||
	    (r = append(buf, size, &len, work, e)) < 0)
		return r;
	return 0;
}

struct scratch {
	struct guest_path upper, work;
	bool upper_created, work_created;
};

static int make_scratch(const struct storage_config *cfg, const char *scratch_path,
			struct scratch *s, struct error *e)
{
	struct guest_path base;
	int r;

	if ((r = guest_path_check(cfg, "ScratchPath", scratch_path, 0, &base, e)) < 0 ||
	    (r = guest_path_join(&base, "upper", &s->upper, e)) < 0 ||
	    (r = guest_path_join(&base, "work", &s->work, e)) < 0 ||
	    (r = guest_path_mkdirs(&s->upper, 0755, &s->upper_created, e)) < 0)
		return r;
	if ((r = guest_path_mkdirs(&s->work, 0755, &s->work_created, e)) < 0)
		goto undo;
	return 0;
undo:
	if (s->upper_created)
		rmdir(s->upper.path);
	return r;
}

static void undo_scratch(const struct scratch *s)
{
	struct error ignored;

	if (s->work_created)
		storage_remove_tree(s->work.path, &ignored);
	if (s->upper_created)
		storage_remove_tree(s->upper.path, &ignored);
}

/* Overlayfs wants two lowers when there is no upper; one read-only layer
 * alone is served by a read-only bind mount, which shows the same tree. */
static int mount_single_layer(const char *layer, const char *target, struct error *e)
{
	int r = storage_mount(layer, target, "none", MS_BIND, NULL, e);

	if (r < 0)
		return r;
	r = storage_mount("none", target, "none", MS_BIND | MS_REMOUNT | MS_RDONLY, NULL, e);
	if (r < 0)
		umount2(target, UMOUNT_NOFOLLOW);
	return r;
}

static int check_layers(const struct storage_config *cfg, const struct overlay_mount_req *req,
			const char **paths, struct guest_path *tmp, struct error *e)
{
	for (size_t i = 0; i < req->n_layers; i++) {
		int r = guest_path_check(cfg, "layer path", req->layers[i], 0, &tmp[i], e);

		if (r < 0)
			return r;
		paths[i] = tmp[i].path;
	}
	return 0;
}

static int do_mount(const struct overlay_mount_req *req, const char **layers,
		    const struct scratch *s, const char *target, struct error *e)
{
	char data[OVERLAY_DATA_MAX];
	bool ro = !s;
	int r;

	if (ro && req->n_layers == 1)
		return mount_single_layer(layers[0], target, e);
	r = overlay_mount_data(data, sizeof(data), layers, req->n_layers, ro ? NULL : s->upper.path,
			       ro ? NULL : s->work.path, e);
	if (r < 0)
		return r;
	return storage_mount("overlay", target, "overlay", ro ? MS_RDONLY : 0, data, e);
}

int storage_overlay_mount(const struct storage_config *cfg, const struct overlay_mount_req *req,
			  struct error *e)
{
	bool has_scratch = req->scratch_path && *req->scratch_path;
	struct guest_path root, *checked = NULL;
	struct scratch s = {0};
	const char **layers = NULL;
	bool created = false;
	int r;

	if (req->n_layers == 0)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "combine layers at %s: no layers",
				 req->root_path ? req->root_path : "");
	layers = calloc(req->n_layers, sizeof(*layers));
	checked = calloc(req->n_layers, sizeof(*checked));
	if (!layers || !checked) {
		r = error_errno(e, ENOMEM, "layers");
		goto out;
	}
	if ((r = guest_path_check(cfg, "ContainerRootPath", req->root_path, 0, &root, e)) < 0 ||
	    (r = check_layers(cfg, req, layers, checked, e)) < 0 ||
	    (has_scratch && (r = make_scratch(cfg, req->scratch_path, &s, e)) < 0))
		goto out;
	if ((r = guest_path_mkdirs(&root, 0755, &created, e)) < 0)
		goto undo;
	if ((r = do_mount(req, layers, has_scratch ? &s : NULL, root.path, e)) == 0)
		goto out;
	if (created)
		rmdir(root.path);
undo:
	undo_scratch(&s);
out:
	free(layers);
	free(checked);
	if (r < 0)
		return error_prefix(e, "combine layers at %s",
				    req->root_path ? req->root_path : "");
	return 0;
}

int storage_overlay_unmount(const struct storage_config *cfg, const struct overlay_mount_req *req,
			    struct error *e)
{
	struct guest_path root;
	int r;

	if ((r = guest_path_check(cfg, "ContainerRootPath", req->root_path, 0, &root, e)) < 0 ||
	    (r = storage_unmount_and_remove(root.path, e)) < 0)
		return error_prefix(e, "remove layers at %s", req->root_path ? req->root_path : "");
	return 0;
}
