/* Host paths: only below the allowed roots, never through "..", never
 * through a symlink; removal never leaves its tree; Remove is idempotent. */
#include "storage_fixture.h"

#include "storage/guest_path.h"
#include "storage/mount.h"

static int check(const char *path, unsigned flags, struct guest_path *gp, struct error *e)
{
	return guest_path_check(&fx.cfg, "MountPath", path, flags, gp, e);
}

TEST(path_normalises_and_accepts_below_root)
{
	struct guest_path gp;
	struct error e;
	char in[PATH_MAX], want[PATH_MAX];

	fx_init(false);
	fx_fmt(in, "/%s//a/./b//", fx.run);
	fx_fmt(want, "%s/a/b", fx.run);
	CHECK_STORAGE(check(in, 0, &gp, &e), &e);
	CHECK_STREQ(gp.path, want);
	CHECK_EQ(gp.root_len, strlen(fx.run));
}

TEST(path_refuses_dotdot)
{
	struct guest_path gp;
	struct error e;
	char in[PATH_MAX];

	fx_init(false);
	/* Lexically this would even stay inside the root: still refused. */
	fx_fmt(in, "%s/a/../b", fx.run);
	CHECK_EQ(check(in, 0, &gp, &e), -EPERM);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK_CONTAINS(e.msg, "\"..\" is not allowed");
	fx_fmt(in, "%s/../../etc", fx.run);
	CHECK_EQ(check(in, 0, &gp, &e), -EPERM);
}

TEST(path_refuses_outside_roots)
{
	struct guest_path gp;
	struct error e;
	char in[PATH_MAX];

	fx_init(false);
	CHECK_EQ(check("/etc/passwd", 0, &gp, &e), -EPERM);
	CHECK_CONTAINS(e.msg, "outside the allowed guest roots");
	fx_fmt(in, "%sx/a", fx.run); /* a sibling sharing the prefix */
	CHECK_EQ(check(in, 0, &gp, &e), -EPERM);
	CHECK_EQ(check(fx.run, 0, &gp, &e), -EPERM); /* the root itself */
	CHECK_EQ(check("relative/path", 0, &gp, &e), -EINVAL);
	CHECK_EQ(check("", 0, &gp, &e), -EINVAL);
	fx_fmt(in, "%s/a\nb", fx.run);
	CHECK_EQ(check(in, 0, &gp, &e), -EINVAL);
}

TEST(path_default_roots_are_the_specs)
{
	struct storage_config cfg;
	struct guest_path gp;
	struct error e;

	storage_config_init(&cfg);
	/* Nothing below /run/layers exists here, so only the lexical rules run. */
	CHECK_OK(guest_path_check(&cfg, "MountPath", "/run/layers/p0-4198400-8392704", 0, &gp, &e));
	CHECK_OK(guest_path_check(&cfg, "MountPath", "/run/mounts/scsi/m7", 0, &gp, &e));
	CHECK_OK(guest_path_check(&cfg, "MountPath", "/run/gcs/c/busybox1/rootfs", 0, &gp, &e));
	CHECK_EQ(guest_path_check(&cfg, "MountPath", "/run/gcs/x", 0, &gp, &e), -EPERM);
	CHECK_EQ(guest_path_check(&cfg, "MountPath", "/tmp/x", 0, &gp, &e), -EPERM);
}

TEST(path_refuses_symlink_escape)
{
	struct guest_path gp;
	struct error e;
	char link[PATH_MAX], in[PATH_MAX];

	fx_init(false);
	fx_fmt(link, "%s/escape", fx.run);
	CHECK(symlink("/etc", link) == 0);
	fx_fmt(in, "%s/escape/m0", fx.run);
	CHECK_EQ(check(in, 0, &gp, &e), -ELOOP);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK_CONTAINS(e.msg, "symlink");
	/* Even a link that points back inside the root is refused. */
	fx_fmt(link, "%s/inside", fx.run);
	CHECK(symlink(fx.run, link) == 0);
	fx_fmt(in, "%s/inside/m0", fx.run);
	CHECK_EQ(check(in, 0, &gp, &e), -ELOOP);
	/* The last component may be one only when the caller says so. */
	CHECK_EQ(check(link, 0, &gp, &e), -ELOOP);
	CHECK_STORAGE(check(link, GUEST_PATH_FINAL_SYMLINK, &gp, &e), &e);
}

TEST(path_mkdirs_does_not_follow_a_planted_symlink)
{
	struct guest_hold h = GUEST_HOLD_INIT;
	struct guest_path gp;
	struct error e;
	char in[PATH_MAX], link[PATH_MAX], outside[PATH_MAX];
	bool created;

	fx_init(false);
	fx_fmt(in, "%s/a/b/c", fx.run);
	CHECK_STORAGE(check(in, 0, &gp, &e), &e);
	/* A symlink appears after the check (a race the check cannot see). */
	fx_fmt(outside, "%s/outside", fx.dir);
	fx_mkdirs(outside);
	fx_fmt(link, "%s/a", fx.run);
	CHECK(symlink(outside, link) == 0);
	CHECK(guest_path_hold_dir(&gp, true, 0700, &created, &h, &e) < 0);
	CHECK_EQ(h.fd, -1);
	CHECK_EQ(h.parent_fd, -1);
	fx_fmt(in, "%s/b", outside);
	CHECK(!fx_exists(in));
}

TEST(path_mkdirs_reports_what_it_created)
{
	struct guest_hold h = GUEST_HOLD_INIT;
	struct guest_path gp;
	struct error e;
	struct stat st;
	char in[PATH_MAX];
	bool created;

	fx_init(false);
	fx_fmt(in, "%s/x/y", fx.run);
	CHECK_STORAGE(check(in, 0, &gp, &e), &e);
	CHECK_STORAGE(guest_path_hold_dir(&gp, true, 0700, &created, &h, &e), &e);
	CHECK(created);
	CHECK(stat(in, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0700);
	guest_hold_release(&h);
	CHECK_STORAGE(guest_path_hold_dir(&gp, true, 0700, &created, &h, &e), &e);
	CHECK(!created);
	guest_hold_release(&h);
	/* Without make, a missing directory is an error and nothing is made. */
	fx_fmt(in, "%s/x/z", fx.run);
	CHECK_STORAGE(check(in, 0, &gp, &e), &e);
	CHECK_EQ(guest_path_hold_dir(&gp, false, 0, NULL, &h, &e), -ENOENT);
	CHECK(!fx_exists(in));
}

TEST(remove_tree_never_follows_symlinks)
{
	char tree[PATH_MAX], outside[PATH_MAX], path[PATH_MAX];
	struct error e;

	fx_init(false);
	fx_fmt(outside, "%s/keep", fx.dir);
	fx_mkdirs(outside);
	fx_fmt(path, "%s/precious", outside);
	fx_write(path, "data");
	fx_fmt(tree, "%s/m0/sub", fx.run);
	fx_mkdirs(tree);
	fx_fmt(path, "%s/file", tree);
	fx_write(path, "x");
	fx_fmt(path, "%s/link", tree);
	CHECK(symlink(outside, path) == 0);
	fx_fmt(tree, "%s/m0", fx.run);
	CHECK_STORAGE(storage_remove_tree(tree, &e), &e);
	CHECK(!fx_exists(tree));
	fx_fmt(path, "%s/precious", outside);
	CHECK(fx_exists(path));
	CHECK_STORAGE(storage_remove_tree(tree, &e), &e); /* gone: still fine */
}

TEST(remove_refuses_a_tree_with_a_mount_below)
{
	char top[PATH_MAX], below[PATH_MAX], file[PATH_MAX];
	struct guest_path gp;
	struct error e;

	fx_init(true);
	fx_fmt(top, "%s/m1", fx.run);
	fx_fmt(below, "%s/m1/inner", fx.run);
	fx_mkdirs(below);
	CHECK(mount("tmpfs", below, "tmpfs", 0, "size=1m") == 0);
	fx_fmt(file, "%s/keep", below);
	fx_write(file, "x");
	CHECK_STORAGE(check(top, 0, &gp, &e), &e);
	CHECK_EQ(storage_unmount_and_remove(&gp, &e), -EBUSY);
	CHECK_CONTAINS(e.msg, "still mounted below");
	CHECK(fx_exists(file)); /* nothing inside the other mount was touched */
	CHECK_EQ(storage_remove_tree(top, &e), -EBUSY);
	CHECK(fx_exists(file));
}

/* A bind of the same filesystem has the same st_dev: its mount id stops the
 * removal before it deletes the bound directory's files. */
TEST(remove_refuses_a_bind_mount_of_the_same_filesystem)
{
	char top[PATH_MAX], below[PATH_MAX], keep[PATH_MAX], file[PATH_MAX];
	struct error e;

	fx_init(true);
	fx_fmt(keep, "%s/keep", fx.dir);
	fx_mkdirs(keep);
	fx_fmt(file, "%s/precious", keep);
	fx_write(file, "x");
	fx_fmt(top, "%s/b1", fx.run);
	fx_fmt(below, "%s/b1/bound", fx.run);
	fx_mkdirs(below);
	CHECK(mount(keep, below, NULL, MS_BIND, NULL) == 0);
	CHECK_EQ(storage_remove_tree(top, &e), -EBUSY);
	CHECK_CONTAINS(e.msg, "mounted there");
	CHECK(fx_exists(file));
	CHECK(umount2(below, 0) == 0);
}

TEST(unmount_peels_stacked_mounts)
{
	char mp[PATH_MAX];
	struct guest_path gp;
	struct error e;

	fx_init(true);
	fx_fmt(mp, "%s/stack", fx.run);
	fx_mkdirs(mp);
	for (int i = 0; i < 3; i++)
		CHECK(mount("tmpfs", mp, "tmpfs", 0, "size=1m") == 0);
	CHECK_STORAGE(check(mp, 0, &gp, &e), &e);
	CHECK_STORAGE(storage_unmount_and_remove(&gp, &e), &e);
	CHECK(!fx_mountinfo(mp, NULL, NULL, NULL));
	CHECK(!fx_exists(mp));
}

/* A directory swapped for a symlink after the check (issue 18, item 3):
 * the mount still lands on the directory the walk held, not on the link's
 * target. */
TEST(mount_lands_on_the_checked_directory_after_a_swap)
{
	struct guest_hold h = GUEST_HOLD_INIT;
	char in[PATH_MAX], dir[PATH_MAX], moved[PATH_MAX], outside[PATH_MAX];
	struct guest_path gp;
	struct error e;
	bool created;

	fx_init(true);
	fx_fmt(in, "%s/upper/m0", fx.run);
	fx_fmt(dir, "%s/upper", fx.run);
	fx_fmt(moved, "%s/upper.old", fx.run);
	fx_fmt(outside, "%s/outside", fx.dir);
	fx_mkdirs(outside);
	fx_fmt(in, "%s/m0", outside);
	fx_mkdirs(in);
	fx_fmt(in, "%s/upper/m0", fx.run);
	CHECK_STORAGE(check(in, 0, &gp, &e), &e);
	CHECK_STORAGE(guest_path_hold_dir(&gp, true, 0700, &created, &h, &e), &e);
	/* The swap: what a writer below the root can do between check and mount. */
	CHECK(rename(dir, moved) == 0);
	CHECK(symlink(outside, dir) == 0);
	CHECK_STORAGE(storage_mount_held("tmpfs", &h, gp.path, "tmpfs", 0, "size=1m", &e), &e);
	fx_fmt(in, "%s/m0", outside);
	CHECK(!fx_mountinfo(in, NULL, NULL, NULL));
	fx_fmt(in, "%s/m0", moved);
	CHECK(fx_mountinfo(in, NULL, NULL, NULL));
	/* top still reaches the mount, through the held parent. */
	CHECK(umount2(h.top, UMOUNT_NOFOLLOW) == 0);
	CHECK(!fx_mountinfo(in, NULL, NULL, NULL));
	guest_hold_release(&h);
}

/* Remove of a mount whose parent was swapped for a symlink: the walk stops
 * at the link, so the mount and files it points at are left alone. */
TEST(remove_through_a_swapped_parent_touches_nothing_outside)
{
	char in[PATH_MAX], dir[PATH_MAX], outside[PATH_MAX], file[PATH_MAX];
	struct guest_path gp;
	struct error e;

	fx_init(true);
	fx_fmt(dir, "%s/a", fx.run);
	fx_fmt(in, "%s/a/m0", fx.run);
	fx_mkdirs(in);
	fx_fmt(outside, "%s/outside/m0", fx.dir);
	fx_mkdirs(outside);
	CHECK(mount("tmpfs", outside, "tmpfs", 0, "size=1m") == 0);
	fx_fmt(file, "%s/precious", outside);
	fx_write(file, "keep");
	CHECK_STORAGE(check(in, 0, &gp, &e), &e);
	CHECK(rmdir(in) == 0 && rmdir(dir) == 0);
	fx_fmt(outside, "%s/outside", fx.dir);
	CHECK(symlink(outside, dir) == 0);
	/* O_NOFOLLOW|O_DIRECTORY on a link: ENOTDIR (or ELOOP). */
	CHECK(storage_unmount_and_remove(&gp, &e) < 0);
	CHECK(e.errnum == ENOTDIR || e.errnum == ELOOP);
	CHECK_CONTAINS(e.msg, "not followed");
	CHECK(fx_exists(file));
	fx_fmt(outside, "%s/outside/m0", fx.dir);
	CHECK(fx_mountinfo(outside, NULL, NULL, NULL));
}

/* Every Add refuses an escaping path before touching anything. */
TEST(every_request_type_refuses_escapes)
{
	struct scsi_mount_req scsi = {.controller = 0, .lun = 1, .mount_path = "/etc/x"};
	struct vpmem_mount_req pmem = {.device_number = 0, .mount_path = "/run/../etc"};
	struct plan9_mount_req p9 = {.mount_path = "/etc", .share_name = "3"};
	const char *layers[] = {"/etc"};
	struct overlay_mount_req ovl = {.layers = layers, .n_layers = 1};
	char root[PATH_MAX], outside[PATH_MAX];
	struct error e;

	fx_init(false);
	fx_fmt(outside, "%s/outside", fx.dir); /* a file that must survive */
	fx_write(outside, "keep");
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &scsi, &e), -EPERM);
	CHECK_CONTAINS(e.msg, "SCSI controller 0 LUN 1");
	CHECK_EQ(storage_vpmem_mount(&fx.cfg, &pmem, &e), -EPERM);
	CHECK_EQ(storage_plan9_mount(&fx.cfg, &p9, &e), -EPERM);
	fx_fmt(root, "%s/c1/rootfs", fx.run);
	ovl.root_path = root;
	CHECK_EQ(storage_overlay_mount(&fx.cfg, &ovl, &e), -EPERM);
	CHECK_CONTAINS(e.msg, "layer path \"/etc\" is outside");
	CHECK(!fx_exists(root));
	ovl.root_path = "/etc/rootfs";
	CHECK_EQ(storage_overlay_unmount(&fx.cfg, &ovl, &e), -EPERM);
	scsi.mount_path = outside;
	CHECK_EQ(storage_scsi_unmount(&fx.cfg, &scsi, &e), -EPERM);
	p9.mount_path = outside;
	CHECK_EQ(storage_plan9_unmount(&fx.cfg, &p9, &e), -EPERM);
	CHECK(fx_exists(outside));
}

TEST(every_remove_tolerates_missing_paths)
{
	char mp[PATH_MAX];
	struct scsi_mount_req scsi = {.mount_path = mp};
	struct vpmem_mount_req pmem = {.mount_path = mp};
	struct plan9_mount_req p9 = {.mount_path = mp};
	struct overlay_mount_req ovl = {.root_path = mp};
	struct error e;

	fx_init(true);
	fx_fmt(mp, "%s/never/created", fx.run);
	for (int i = 0; i < 2; i++) {
		CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &scsi, &e), &e);
		scsi.block_dev = true;
		CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &scsi, &e), &e);
		scsi.block_dev = false;
		CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &pmem, &e), &e);
		CHECK_STORAGE(storage_plan9_unmount(&fx.cfg, &p9, &e), &e);
		CHECK_STORAGE(storage_overlay_unmount(&fx.cfg, &ovl, &e), &e);
	}
	/* An empty MountPath means attach-only: nothing to do either way. */
	scsi.mount_path = "";
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &scsi, &e), &e);
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &scsi, &e), &e);
}
