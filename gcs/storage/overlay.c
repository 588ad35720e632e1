/* CombinedLayers: an overlay of the layer mounts at ContainerRootPath,
 * writable through ScratchPath/{upper,work}, read-only without a scratch. */
#include "storage/overlay.h"

#include <errno.h>
#include <fcntl.h>
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

/* Every directory the mount names is held by a walk from its root, and
 * the kernel is handed /proc/self/fd paths of those holds: the overlay
 * options show those paths, not the host's names (logged instead). */
struct scratch {
	struct guest_path upper_path, work_path;
	struct guest_hold upper, work;
	bool upper_created, work_created;
};

static int make_scratch(const struct storage_config *cfg, const char *scratch_path,
			struct scratch *s, struct error *e)
{
	struct guest_path base;
	int r;

	if ((r = guest_path_check(cfg, "ScratchPath", scratch_path, 0, &base, e)) < 0 ||
	    (r = guest_path_join(&base, "upper", &s->upper_path, e)) < 0 ||
	    (r = guest_path_join(&base, "work", &s->work_path, e)) < 0 ||
	    (r = guest_path_hold_dir(&s->upper_path, true, 0755, &s->upper_created, &s->upper, e)) <
		    0)
		return r;
	return guest_path_hold_dir(&s->work_path, true, 0755, &s->work_created, &s->work, e);
}

static void undo_scratch(struct scratch *s)
{
	struct error ignored;

	if (s->work_created && s->work.parent_fd >= 0)
		storage_remove_tree_at(s->work.parent_fd, s->work.name, s->work_path.path,
				       &ignored);
	if (s->upper_created && s->upper.parent_fd >= 0)
		storage_remove_tree_at(s->upper.parent_fd, s->upper.name, s->upper_path.path,
				       &ignored);
}

static void release_scratch(struct scratch *s)
{
	guest_hold_release(&s->upper);
	guest_hold_release(&s->work);
}

/* Overlayfs wants two lowers when there is no upper; one read-only layer
 * alone is served by a read-only bind mount, which shows the same tree. */
static int mount_single_layer(const struct guest_hold *layer, const struct guest_hold *target,
			      const char *shown, struct error *e)
{
	int r = storage_mount_held(layer->at, target, shown, "none", MS_BIND, NULL, e);

	if (r < 0)
		return r;
	r = storage_mount("none", target->top, "none", MS_BIND | MS_REMOUNT | MS_RDONLY, NULL, e);
	if (r < 0)
		umount2(target->top, UMOUNT_NOFOLLOW);
	return r;
}

struct layers {
	size_t n;
	struct guest_hold *holds;
	const char **at; /* holds[i].at, as overlay_mount_data takes them */
};

static int check_layers(const struct storage_config *cfg, const struct overlay_mount_req *req,
			struct error *e)
{
	struct guest_path gp;

	for (size_t i = 0; i < req->n_layers; i++) {
		int r = guest_path_check(cfg, "layer path", req->layers[i], 0, &gp, e);

		if (r < 0)
			return r;
	}
	return 0;
}

static int hold_layers(const struct storage_config *cfg, const struct overlay_mount_req *req,
		       struct layers *l, struct error *e)
{
	l->holds = calloc(req->n_layers, sizeof(*l->holds));
	l->at = calloc(req->n_layers, sizeof(*l->at));
	if (!l->holds || !l->at)
		return error_errno(e, ENOMEM, "layers");
	for (size_t i = 0; i < req->n_layers; i++) {
		struct guest_path gp;
		int r;

		l->holds[i] = (struct guest_hold)GUEST_HOLD_INIT;
		l->n = i + 1;
		if ((r = guest_path_check(cfg, "layer path", req->layers[i], 0, &gp, e)) < 0 ||
		    (r = guest_path_hold_dir(&gp, false, 0, NULL, &l->holds[i], e)) < 0)
			return r;
		l->at[i] = l->holds[i].at;
	}
	return 0;
}

static void release_layers(struct layers *l)
{
	for (size_t i = 0; i < l->n; i++)
		guest_hold_release(&l->holds[i]);
	free(l->holds);
	free(l->at);
}

static int do_mount(const struct overlay_mount_req *req, const struct layers *l,
		    const struct scratch *s, const struct guest_hold *target, const char *shown,
		    struct error *e)
{
	char data[OVERLAY_DATA_MAX];
	bool ro = !s;
	int r;

	if (ro && req->n_layers == 1)
		return mount_single_layer(&l->holds[0], target, shown, e);
	r = overlay_mount_data(data, sizeof(data), l->at, req->n_layers, ro ? NULL : s->upper.at,
			       ro ? NULL : s->work.at, e);
	if (r < 0)
		return r;
	return storage_mount_held("overlay", target, shown, "overlay", ro ? MS_RDONLY : 0, data, e);
}

int storage_overlay_mount(const struct storage_config *cfg, const struct overlay_mount_req *req,
			  struct error *e)
{
	bool has_scratch = req->scratch_path && *req->scratch_path;
	struct guest_hold target = GUEST_HOLD_INIT;
	struct scratch s = {.upper = GUEST_HOLD_INIT, .work = GUEST_HOLD_INIT};
	struct layers l = {0};
	struct guest_path root, base;
	bool created = false;
	int r;

	if (req->n_layers == 0)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "combine layers at %s: no layers",
				 req->root_path ? req->root_path : "");
	/* Every path is judged before any is opened (a bad one is refused as
	 * such, not as missing). */
	if ((r = guest_path_check(cfg, "ContainerRootPath", req->root_path, 0, &root, e)) < 0 ||
	    (r = check_layers(cfg, req, e)) < 0 ||
	    (has_scratch &&
	     (r = guest_path_check(cfg, "ScratchPath", req->scratch_path, 0, &base, e)) < 0) ||
	    (r = hold_layers(cfg, req, &l, e)) < 0)
		goto out;
	if (has_scratch && (r = make_scratch(cfg, req->scratch_path, &s, e)) < 0)
		goto undo;
	if ((r = guest_path_hold_dir(&root, true, 0755, &created, &target, e)) < 0)
		goto undo;
	if ((r = do_mount(req, &l, has_scratch ? &s : NULL, &target, root.path, e)) == 0)
		goto out;
	if (created)
		unlinkat(target.parent_fd, target.name, AT_REMOVEDIR);
undo:
	undo_scratch(&s);
out:
	guest_hold_release(&target);
	release_scratch(&s);
	release_layers(&l);
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
	    (r = storage_unmount_and_remove(&root, e)) < 0)
		return error_prefix(e, "remove layers at %s", req->root_path ? req->root_path : "");
	return 0;
}
