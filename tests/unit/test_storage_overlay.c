/* CombinedLayers: lowerdir order, whiteouts and opaque directories across
 * three layers, the writable scratch, read-only overlays, cleanup. */
#include "storage_fixture.h"

#include <sys/xattr.h>

#include "storage/overlay.h"

TEST(overlay_data_keeps_the_given_order)
{
	const char *layers[] = {"/run/layers/p0-4198400-8392704", "/run/layers/p0"};
	char data[OVERLAY_DATA_MAX];
	struct error e;

	CHECK_OK(overlay_mount_data(data, sizeof(data), layers, 2, NULL, NULL, &e));
	CHECK_STREQ(data, "lowerdir=/run/layers/p0-4198400-8392704:/run/layers/p0");
	CHECK_OK(overlay_mount_data(data, sizeof(data), layers, 2, "/s/upper", "/s/work", &e));
	CHECK_STREQ(data, "lowerdir=/run/layers/p0-4198400-8392704:/run/layers/p0,"
			  "upperdir=/s/upper,workdir=/s/work");
	CHECK_EQ(overlay_mount_data(data, sizeof(data), layers, 0, NULL, NULL, &e), -EINVAL);
}

TEST(overlay_data_refuses_separators_and_overflow)
{
	const char *colon[] = {"/run/layers/a:b"}, *comma[] = {"/run/layers/a,upperdir=/x"};
	static const char *many[200];
	char data[OVERLAY_DATA_MAX];
	struct error e;

	CHECK_EQ(overlay_mount_data(data, sizeof(data), colon, 1, NULL, NULL, &e), -EINVAL);
	CHECK_EQ(overlay_mount_data(data, sizeof(data), comma, 1, NULL, NULL, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "cannot carry");
	for (int i = 0; i < 200; i++)
		many[i] = "/run/layers/p12-4198400-8392704";
	CHECK_EQ(overlay_mount_data(data, sizeof(data), many, 200, NULL, NULL, &e), -E2BIG);
	CHECK_CONTAINS(e.msg, "too many layers");
}

static void layer_file(const char *layer, const char *name, const char *text)
{
	char path[PATH_MAX];

	fx_fmt(path, "%s/%s", layer, name);
	fx_write(path, text);
}

/* bottom: a, b, dir/x; middle: whiteout of a, opaque dir/ with y, c;
 * top: b overridden. Lowerdir order is top-most first. */
static void three_layers(char layers[3][PATH_MAX])
{
	char path[PATH_MAX];

	for (int i = 0; i < 3; i++) {
		fx_fmt(layers[i], "%s/layers/p%d", fx.run, i);
		fx_mkdirs(layers[i]);
	}
	layer_file(layers[2], "a", "bottom a");
	layer_file(layers[2], "b", "bottom b");
	fx_fmt(path, "%s/dir", layers[2]);
	fx_mkdirs(path);
	layer_file(layers[2], "dir/x", "bottom x");

	fx_fmt(path, "%s/a", layers[1]);
	CHECK(mknod(path, S_IFCHR | 0600, makedev(0, 0)) == 0); /* whiteout */
	fx_fmt(path, "%s/dir", layers[1]);
	fx_mkdirs(path);
	CHECK(setxattr(path, "trusted.overlay.opaque", "y", 1, 0) == 0);
	layer_file(layers[1], "dir/y", "middle y");
	layer_file(layers[1], "c", "middle c");

	layer_file(layers[0], "b", "top b");
}

TEST(overlay_three_layers_with_whiteouts_and_scratch)
{
	char layers[3][PATH_MAX], root[PATH_MAX], scratch[PATH_MAX], path[PATH_MAX], buf[64];
	const char *paths[3];
	struct overlay_mount_req req = {.layers = paths, .n_layers = 3};
	struct error e;

	fx_init(true);
	three_layers(layers);
	for (int i = 0; i < 3; i++)
		paths[i] = layers[i];
	fx_fmt(root, "%s/gcs/c/busybox1/rootfs", fx.run);
	fx_fmt(scratch, "%s/gcs/c/busybox1/scratch/busybox1", fx.run);
	req.root_path = root;
	req.scratch_path = scratch;
	CHECK_STORAGE(storage_overlay_mount(&fx.cfg, &req, &e), &e);

	fx_fmt(path, "%s/a", root);
	CHECK(!fx_exists(path)); /* whited out by the middle layer */
	fx_fmt(path, "%s/b", root);
	CHECK_STREQ(fx_read(path, buf, sizeof(buf)), "top b");
	fx_fmt(path, "%s/c", root);
	CHECK_STREQ(fx_read(path, buf, sizeof(buf)), "middle c");
	fx_fmt(path, "%s/dir/x", root);
	CHECK(!fx_exists(path)); /* hidden by the opaque directory */
	fx_fmt(path, "%s/dir/y", root);
	CHECK_STREQ(fx_read(path, buf, sizeof(buf)), "middle y");

	fx_fmt(path, "%s/new", root);
	fx_write(path, "container write");
	fx_fmt(path, "%s/upper/new", scratch);
	CHECK_STREQ(fx_read(path, buf, sizeof(buf)), "container write");
	fx_fmt(path, "%s/b", root);
	CHECK(unlink(path) == 0);
	fx_fmt(path, "%s/b", layers[0]);
	CHECK(fx_exists(path)); /* layers are never written */

	CHECK_STORAGE(storage_overlay_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_mountinfo(root, NULL, NULL, NULL));
	CHECK(!fx_exists(root));
	fx_fmt(path, "%s/upper/new", scratch);
	CHECK(fx_exists(path)); /* the scratch outlives the overlay */
	CHECK_STORAGE(storage_overlay_unmount(&fx.cfg, &req, &e), &e);
}

TEST(overlay_without_scratch_is_read_only)
{
	char layers[3][PATH_MAX], root[PATH_MAX], path[PATH_MAX], buf[64];
	const char *paths[3];
	struct overlay_mount_req req = {.layers = paths, .n_layers = 3};
	struct statvfs sv;
	struct error e;

	fx_init(true);
	three_layers(layers);
	for (int i = 0; i < 3; i++)
		paths[i] = layers[i];
	fx_fmt(root, "%s/gcs/c/ro/rootfs", fx.run);
	req.root_path = root;
	CHECK_STORAGE(storage_overlay_mount(&fx.cfg, &req, &e), &e);
	CHECK(statvfs(root, &sv) == 0 && (sv.f_flag & ST_RDONLY));
	fx_fmt(path, "%s/b", root);
	CHECK_STREQ(fx_read(path, buf, sizeof(buf)), "top b");
	fx_fmt(path, "%s/new", root);
	CHECK(open(path, O_WRONLY | O_CREAT, 0600) < 0 && errno == EROFS);
	CHECK_STORAGE(storage_overlay_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(root));
}

/* Overlayfs needs two lowers without an upper: one layer is a read-only
 * bind mount instead. */
TEST(overlay_single_read_only_layer)
{
	char layer[PATH_MAX], root[PATH_MAX], path[PATH_MAX], buf[64];
	const char *paths[1] = {layer};
	struct overlay_mount_req req = {.layers = paths, .n_layers = 1};
	struct statvfs sv;
	struct error e;

	fx_init(true);
	fx_fmt(layer, "%s/layers/p0", fx.run);
	fx_mkdirs(layer);
	layer_file(layer, "only", "one layer");
	fx_fmt(root, "%s/gcs/c/one/rootfs", fx.run);
	req.root_path = root;
	CHECK_STORAGE(storage_overlay_mount(&fx.cfg, &req, &e), &e);
	fx_fmt(path, "%s/only", root);
	CHECK_STREQ(fx_read(path, buf, sizeof(buf)), "one layer");
	CHECK(statvfs(root, &sv) == 0 && (sv.f_flag & ST_RDONLY));
	CHECK(open(path, O_WRONLY) < 0 && errno == EROFS);
	CHECK_STORAGE(storage_overlay_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(root));
	CHECK(fx_exists(layer));
}

TEST(overlay_failure_removes_what_it_created)
{
	enum {
		N = 300
	};
	char layer[PATH_MAX], root[PATH_MAX], scratch[PATH_MAX], path[PATH_MAX];
	const char *paths[N];
	struct overlay_mount_req req = {.layers = paths, .n_layers = N};
	struct error e;

	fx_init(false);
	/* More layers than one mount's options carry: refused after the gcs
	 * made the root and the scratch directories. */
	for (int i = 0; i < N; i++) {
		fx_fmt(path, "%s/layers/p%d", fx.run, i);
		fx_mkdirs(path);
		paths[i] = strdup(path);
	}
	fx_fmt(layer, "%s/layers/p0", fx.run);
	fx_fmt(root, "%s/gcs/c/bad/rootfs", fx.run);
	fx_fmt(scratch, "%s/gcs/c/bad/scratch/bad", fx.run);
	fx_mkdirs(scratch);
	req.root_path = root;
	req.scratch_path = scratch;
	CHECK(storage_overlay_mount(&fx.cfg, &req, &e) < 0);
	CHECK_CONTAINS(e.msg, "combine layers at");
	CHECK_CONTAINS(e.msg, "overlay options exceed");
	CHECK(!fx_exists(root));
	fx_fmt(path, "%s/upper", scratch);
	CHECK(!fx_exists(path));
	fx_fmt(path, "%s/work", scratch);
	CHECK(!fx_exists(path));
	CHECK(fx_exists(scratch)); /* it was there before: kept */
	CHECK(fx_exists(layer));
	for (int i = 0; i < N; i++)
		free((char *)paths[i]);
}

/* A layer that is not there fails before anything is made. */
TEST(overlay_missing_layer_makes_nothing)
{
	char layer[PATH_MAX], missing[PATH_MAX], root[PATH_MAX], scratch[PATH_MAX], path[PATH_MAX];
	const char *paths[2] = {missing, layer};
	struct overlay_mount_req req = {.layers = paths, .n_layers = 2};
	struct error e;

	fx_init(false);
	fx_fmt(layer, "%s/layers/p0", fx.run);
	fx_mkdirs(layer);
	fx_fmt(missing, "%s/layers/p1", fx.run); /* never mounted */
	fx_fmt(root, "%s/gcs/c/bad/rootfs", fx.run);
	fx_fmt(scratch, "%s/gcs/c/bad/scratch", fx.run);
	req.root_path = root;
	req.scratch_path = scratch;
	CHECK(storage_overlay_mount(&fx.cfg, &req, &e) < 0);
	CHECK_CONTAINS(e.msg, missing);
	CHECK(!fx_exists(root));
	fx_fmt(path, "%s/upper", scratch);
	CHECK(!fx_exists(path));
}

TEST(overlay_refuses_escaping_layers_and_scratch)
{
	char layer[PATH_MAX], root[PATH_MAX], link[PATH_MAX], bad[PATH_MAX];
	const char *paths[2] = {layer, bad};
	struct overlay_mount_req req = {.layers = paths, .n_layers = 2};
	struct error e;

	fx_init(false);
	fx_fmt(layer, "%s/layers/p0", fx.run);
	fx_mkdirs(layer);
	fx_fmt(link, "%s/layers/evil", fx.run);
	CHECK(symlink("/", link) == 0);
	fx_fmt(bad, "%s/layers/evil/etc", fx.run);
	fx_fmt(root, "%s/gcs/c/x/rootfs", fx.run);
	req.root_path = root;
	CHECK_EQ(storage_overlay_mount(&fx.cfg, &req, &e), -ELOOP);
	CHECK_CONTAINS(e.msg, "symlink");
	fx_fmt(bad, "%s/layers/../../etc", fx.run);
	CHECK_EQ(storage_overlay_mount(&fx.cfg, &req, &e), -EPERM);
	paths[1] = layer;
	req.scratch_path = "/tmp/elsewhere";
	CHECK_EQ(storage_overlay_mount(&fx.cfg, &req, &e), -EPERM);
	CHECK_CONTAINS(e.msg, "ScratchPath");
	CHECK(!fx_exists(root));
}
