/* MappedVirtualDisk and SCSIDevice against a fake sysfs whose block entries
 * name real loop devices: lookup and hot-plug wait, ext4 read-only and
 * read-write, formatting a blank disk, growing a grown disk, partitions,
 * BlockDev links, unplug, cleanup on failure. */
#include "storage_fixture.h"

#include <pthread.h>
#include <sys/capability.h>
#include <sys/wait.h>

#include "storage/ext4_format.h"
#include "storage/wait.h"

#define MiB (1024LL * 1024)

static struct scsi_mount_req disk_req(unsigned controller, unsigned lun, const char *mp)
{
	struct scsi_mount_req req = {.controller = controller, .lun = lun};

	req.mount_path = mp;
	return req;
}

static int run(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	int status;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	status = system(cmd);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static bool have(const char *tool)
{
	return run("command -v %s >/dev/null 2>&1", tool) == 0;
}

/* --- lookup through the fake sysfs (no root needed) --- */

TEST(scsi_lookup_translates_controller_guid_to_host)
{
	char path[PATH_MAX], want[PATH_MAX];
	struct error e;

	fx_init(false);
	fx_scsi_disk(2, 5, 7, "sdc", NULL);
	fx_fmt(want, "%s/sdc", fx.dev);
	fx_write(want, ""); /* the "device node" must open */
	CHECK_STORAGE(scsi_find_device(&fx.cfg, 2, 7, 0, path, sizeof(path), &e), &e);
	CHECK_STREQ(path, want);
	/* Another controller index is another GUID: not found. */
	fx.cfg.device_timeout_ms = 50;
	CHECK_EQ(scsi_find_device(&fx.cfg, 1, 7, 0, path, sizeof(path), &e), -ETIMEDOUT);
}

TEST(scsi_wait_timeout_names_controller_and_lun)
{
	char path[PATH_MAX];
	struct error e;
	uint64_t start;
	long elapsed;
	int r;

	fx_init(false);
	fx_scsi_disk(0, 3, 1, "sdb", NULL); /* the controller exists, LUN 5 does not */
	fx.cfg.device_timeout_ms = 300;
	start = storage_now_ms();
	r = scsi_find_device(&fx.cfg, 0, 5, 0, path, sizeof(path), &e);
	elapsed = (long)(storage_now_ms() - start);
	CHECK_EQ(r, -ETIMEDOUT);
	CHECK_CONTAINS(e.msg, "SCSI controller 0 LUN 5");
	CHECK_CONTAINS(e.msg, "300 ms");
	CHECK_CONTAINS(e.msg, "3:0:0:5/block");
	CHECK(elapsed >= 300 && elapsed < 2000);
	/* The same through the mount call, and nothing is created. */
	fx_fmt(path, "%s/m0", fx.run);
	struct scsi_mount_req req = disk_req(0, 5, path);
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -ETIMEDOUT);
	CHECK_CONTAINS(e.msg, "SCSI controller 0 LUN 5");
	CHECK(!fx_exists(path));
}

TEST(scsi_wait_sees_a_hot_plugged_device)
{
	char path[PATH_MAX], node[PATH_MAX];
	struct error e;
	pid_t pid;
	int status;

	fx_init(false);
	fx_scsi_disk(3, 9, 0, "sdz", NULL); /* the controller; LUN 4 comes later */
	fx_fmt(node, "%s/sdq", fx.dev);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		char dir[PATH_MAX];

		usleep(200 * 1000);
		fx_fmt(dir, "%s/bus/scsi/devices/9:0:0:4/block/sdq", fx.sys);
		fx_mkdirs(dir);
		usleep(100 * 1000); /* the node shows up after sysfs */
		fx_write(node, "");
		_exit(0);
	}
	int r = scsi_find_device(&fx.cfg, 3, 4, 0, path, sizeof(path), &e);
	CHECK(waitpid(pid, &status, 0) == pid);
	CHECK_STORAGE(r, &e);
	CHECK_STREQ(path, node);
}

TEST(scsi_lookup_finds_the_partition_by_number)
{
	char path[PATH_MAX], dir[PATH_MAX];
	struct error e;

	fx_init(false);
	fx_scsi_disk(0, 0, 2, "sdd", NULL);
	for (int p = 1; p <= 2; p++) {
		char file[PATH_MAX];

		fx_fmt(dir, "%s/bus/scsi/devices/0:0:0:2/block/sdd/sdd%d", fx.sys, p);
		fx_mkdirs(dir);
		fx_fmt(file, "%s/partition", dir);
		fx_write(file, p == 1 ? "1\n" : "2\n");
		fx_fmt(file, "%s/sdd%d", fx.dev, p);
		fx_write(file, "");
	}
	CHECK_STORAGE(scsi_find_device(&fx.cfg, 0, 2, 2, path, sizeof(path), &e), &e);
	fx_fmt(dir, "%s/sdd2", fx.dev);
	CHECK_STREQ(path, dir);
	fx.cfg.device_timeout_ms = 50;
	CHECK_EQ(scsi_find_device(&fx.cfg, 0, 2, 3, path, sizeof(path), &e), -ETIMEDOUT);
	CHECK_CONTAINS(e.msg, "partition 3");
}

TEST(scsi_lookup_refuses_ambiguous_and_bad_addresses)
{
	char path[PATH_MAX];
	struct error e;

	fx_init(false);
	fx_scsi_disk(1, 4, 3, "sde", NULL);
	fx_scsi_disk(1, 4, 3, "sdf", NULL);
	CHECK_EQ(scsi_find_device(&fx.cfg, 1, 3, 0, path, sizeof(path), &e), -EEXIST);
	CHECK_CONTAINS(e.msg, "more than one block device");
	CHECK_CONTAINS(e.msg, "SCSI controller 1 LUN 3");
	CHECK_EQ(scsi_find_device(&fx.cfg, 4, 0, 0, path, sizeof(path), &e), -EINVAL);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK_EQ(scsi_find_device(&fx.cfg, 0, 64, 0, path, sizeof(path), &e), -EINVAL);
}

TEST(scsi_unplug_writes_delete_and_tolerates_absence)
{
	char dir[PATH_MAX], file[PATH_MAX], buf[16];
	struct error e;

	fx_init(false);
	fx_scsi_disk(0, 2, 6, "sdg", NULL);
	fx_fmt(dir, "%s/bus/scsi/devices/2:0:0:6", fx.sys);
	fx_fmt(file, "%s/delete", dir);
	fx_write(file, "");
	CHECK_STORAGE(storage_scsi_unplug(&fx.cfg, 0, 6, &e), &e);
	CHECK_STREQ(fx_read(file, buf, sizeof(buf)), "1\n");
	CHECK_STORAGE(storage_scsi_unplug(&fx.cfg, 0, 9, &e), &e); /* no such LUN */
	CHECK(storage_scsi_unplug(&fx.cfg, 3, 0, &e) < 0);	   /* no such controller */
	CHECK_CONTAINS(e.msg, "SCSI controller 3 LUN 0");
}

/* Encrypted makes a new filesystem: with ReadOnly, BlockDev or VerityInfo it
 * is refused before any device is looked for (the disk here never appears).
 * The encryption itself is in test_storage_verity.c. */
TEST(scsi_encrypted_refuses_what_it_cannot_format)
{
	struct scsi_mount_req req;
	char mp[PATH_MAX];
	struct error e;

	fx_init(false);
	fx.cfg.device_timeout_ms = 10000; /* a wait would show as a slow case */
	fx_fmt(mp, "%s/scratch", fx.run);
	for (int i = 0; i < 3; i++) {
		req = disk_req(0, 2, mp);
		req.encrypted = true;
		req.read_only = i == 0;
		req.block_dev = i == 1;
		req.verity.present = i == 2;
		CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -EINVAL);
		CHECK_EQ(e.kind, ERR_INVALID_ARG);
		CHECK_CONTAINS(e.msg, "SCSI controller 0 LUN 2: Encrypted formats the disk");
		CHECK(!fx_exists(mp));
	}
	req = disk_req(0, 2, mp);
	req.verity.present = true; /* writable */
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "VerityInfo needs a ReadOnly disk");
}

/* --- real mounts over loop devices (root) --- */

static void make_ext4(const char *image, long long size)
{
	struct error e;

	fx_image(image, size);
	CHECK_STORAGE(ext4_format(image, &e), &e);
}

TEST(scsi_mounts_ext4_read_write)
{
	char image[PATH_MAX], dev[PATH_MAX], mp[PATH_MAX], file[PATH_MAX], src[PATH_MAX];
	struct scsi_mount_req req;
	struct statvfs sv;
	struct error e;

	fx_init(true);
	fx_fmt(image, "%s/rw.img", fx.dir);
	make_ext4(image, 64 * MiB);
	fx_loop(image, false, dev);
	fx_scsi_disk(0, 3, 1, strrchr(dev, '/') + 1, NULL);
	fx.cfg.dev_root = "/dev";
	fx_fmt(mp, "%s/gcs/c/busybox1", fx.run);
	req = disk_req(0, 1, mp);
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK(fx_mountinfo(mp, src, NULL, NULL));
	CHECK_STREQ(src, dev);
	CHECK(statvfs(mp, &sv) == 0 && !(sv.f_flag & ST_RDONLY));
	fx_fmt(file, "%s/config.json", mp);
	fx_write(file, "{}");
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_mountinfo(mp, NULL, NULL, NULL));
	CHECK(!fx_exists(mp));
	/* Remove again: already gone is fine. */
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	/* What was written is on the disk. */
	CHECK_EQ(run("debugfs -R 'cat /config.json' %s 2>/dev/null | grep -q '{}'", image), 0);
}

TEST(scsi_mounts_read_only_with_noload_and_propagation)
{
	char image[PATH_MAX], dev[PATH_MAX], mp[PATH_MAX], file[PATH_MAX], opts[512], optional[512];
	const char *options[] = {"ro", "rshared"};
	struct scsi_mount_req req;
	struct statvfs sv;
	struct error e;

	fx_init(true);
	fx_fmt(image, "%s/ro.img", fx.dir);
	make_ext4(image, 64 * MiB);
	fx_loop(image, false, dev);
	fx_scsi_disk(1, 4, 9, strrchr(dev, '/') + 1, NULL);
	fx.cfg.dev_root = "/dev";
	fx_fmt(mp, "%s/mounts/scsi/m1", fx.run);
	req = disk_req(1, 9, mp);
	req.read_only = true;
	req.options = options;
	req.n_options = 2;
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK(statvfs(mp, &sv) == 0 && (sv.f_flag & ST_RDONLY));
	CHECK(fx_mountinfo(mp, NULL, opts, optional));
	CHECK(strncmp(opts, "ro", 2) == 0);
	CHECK_CONTAINS(optional, "shared:");
	fx_fmt(file, "%s/x", mp);
	CHECK(open(file, O_WRONLY | O_CREAT, 0600) < 0 && errno == EROFS);
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(mp));
}

TEST(scsi_formats_a_blank_disk_that_e2fsck_accepts)
{
	char image[PATH_MAX], dev[PATH_MAX], mp[PATH_MAX], file[PATH_MAX], buf[64];
	struct scsi_mount_req req;
	struct error e;

	fx_init(true);
	fx_fmt(image, "%s/blank.img", fx.dir);
	fx_scsi_loop(image, 256 * MiB, 0, 3, dev);
	fx_fmt(mp, "%s/gcs/c/c1", fx.run);
	req = disk_req(0, 3, mp);
	/* No filesystem and no EnsureFilesystem: a clear error, no format. */
	CHECK(storage_scsi_mount(&fx.cfg, &req, &e) < 0);
	CHECK_CONTAINS(e.msg, "holds no ext4 or xfs filesystem");
	CHECK(!fx_exists(mp));
	/* Read-only with EnsureFilesystem: refuses to format. */
	req.read_only = req.ensure_filesystem = true;
	req.filesystem = "ext4";
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -EROFS);
	CHECK_EQ(run("dumpe2fs -h %s >/dev/null 2>&1", image) != 0, 1);

	req.read_only = false;
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	fx_fmt(file, "%s/hello", mp);
	fx_write(file, "written in the guest");
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK_EQ(run("e2fsck -fn %s >/dev/null 2>&1", dev), 0);
	/* A second Add finds ext4 and must not format again. */
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK_STREQ(fx_read(file, buf, sizeof(buf)), "written in the guest");
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
}

static unsigned long long fs_bytes(const char *mp)
{
	struct statvfs sv;

	if (statvfs(mp, &sv) < 0)
		return 0;
	return (unsigned long long)sv.f_blocks * sv.f_frsize;
}

static bool has_cap(cap_value_t cap)
{
	cap_flag_value_t v = CAP_CLEAR;
	cap_t caps = cap_get_proc();

	if (caps)
		cap_get_flag(caps, cap, CAP_EFFECTIVE, &v);
	cap_free(caps);
	return v == CAP_SET;
}

/* A 64 MiB filesystem on a disk the host grew to 512 MiB. */
static void grown_disk(unsigned lun, char *dev, char *mp)
{
	char image[PATH_MAX];

	fx_fmt(image, "%s/grown%u.img", fx.dir, lun);
	make_ext4(image, 64 * MiB);
	fx_image(image, 512 * MiB);
	fx_loop(image, false, dev);
	fx_scsi_disk(0, 3, lun, strrchr(dev, '/') + 1, NULL);
	fx.cfg.dev_root = "/dev";
	fx_fmt(mp, "%s/gcs/c/grow%u", fx.run, lun);
}

TEST(scsi_grows_a_filesystem_smaller_than_its_disk)
{
	char dev[PATH_MAX], mp[PATH_MAX];
	unsigned long long before, after;
	struct scsi_mount_req req;
	struct error e;

	fx_init(true);
	if (!has_cap(CAP_SYS_RESOURCE))
		SKIP("online ext4 resize needs CAP_SYS_RESOURCE, which this environment "
		     "withholds (runs in the VM test)");
	grown_disk(4, dev, mp);
	req = disk_req(0, 4, mp);
	/* Without EnsureFilesystem the filesystem is left as it is. */
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	before = fs_bytes(mp);
	CHECK(before > 0 && before <= 64 * MiB);
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);

	req.ensure_filesystem = true;
	req.filesystem = "ext4";
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	after = fs_bytes(mp);
	CHECK(after > 400 * MiB && after <= 512 * MiB);
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK_EQ(run("e2fsck -fn %s >/dev/null 2>&1", dev), 0);
}

/* Growth refused by the kernel (here: no CAP_SYS_RESOURCE) fails the
 * request with the sizes in the message and leaves nothing mounted. */
TEST(scsi_failed_growth_is_reported_and_undone)
{
	char dev[PATH_MAX], mp[PATH_MAX];
	struct scsi_mount_req req;
	cap_value_t drop = CAP_SYS_RESOURCE;
	cap_t caps;
	struct error e;

	fx_init(true);
	grown_disk(5, dev, mp);
	caps = cap_get_proc();
	CHECK(caps && cap_set_flag(caps, CAP_EFFECTIVE, 1, &drop, CAP_CLEAR) == 0 &&
	      cap_set_proc(caps) == 0);
	cap_free(caps);
	req = disk_req(0, 5, mp);
	req.ensure_filesystem = true;
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -EPERM);
	CHECK_CONTAINS(e.msg, "SCSI controller 0 LUN 5: grow ext4");
	CHECK_CONTAINS(e.msg, "from 16384 to 131072 blocks");
	CHECK(!fx_mountinfo(mp, NULL, NULL, NULL));
	CHECK(!fx_exists(mp));
}

TEST(scsi_mounts_the_requested_partition)
{
	char image[PATH_MAX], dev[PATH_MAX], mp[PATH_MAX], src[PATH_MAX], sysblock[PATH_MAX],
		part[PATH_MAX];
	struct scsi_mount_req req;
	struct error e;
	const char *name;

	fx_init(true);
	if (!have("sgdisk"))
		SKIP("sgdisk (gdisk) not installed");
	fx_fmt(image, "%s/parts.img", fx.dir);
	fx_image(image, 128 * MiB);
	CHECK_EQ(run("sgdisk -n 1:2048:+32M -n 2:0:+48M %s >/dev/null 2>&1", image), 0);
	fx_loop(image, true, dev);
	name = strrchr(dev, '/') + 1;
	fx_fmt(part, "/sys/class/block/%sp2", name);
	for (int i = 0; i < 100 && !fx_exists(part); i++)
		usleep(10000);
	if (!fx_exists(part))
		SKIP("the kernel found no GPT partitions on %s (no CONFIG_EFI_PARTITION?)", dev);
	/* The fake LUN's block entry is the real disk's sysfs directory. */
	fx_fmt(sysblock, "/sys/class/block/%s", name);
	fx_scsi_disk(2, 6, 0, name, sysblock);
	fx.cfg.dev_root = "/dev";
	fx_fmt(mp, "%s/mounts/scsi/m2", fx.run);
	req = disk_req(2, 0, mp);
	req.partition = 2;
	req.ensure_filesystem = true;
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	fx_fmt(part, "%sp2", dev);
	CHECK(fx_mountinfo(mp, src, NULL, NULL));
	CHECK_STREQ(src, part);
	CHECK(fs_bytes(mp) < 48 * MiB && fs_bytes(mp) > 32 * MiB);
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	/* Partition 1 was left alone. */
	fx_fmt(part, "%sp1", dev);
	CHECK(run("dumpe2fs -h %s >/dev/null 2>&1", part) != 0);
}

TEST(scsi_block_dev_is_a_symlink)
{
	char image[PATH_MAX], dev[PATH_MAX], link[PATH_MAX], target[PATH_MAX];
	struct scsi_mount_req req;
	struct error e;
	ssize_t n;

	fx_init(true);
	fx_fmt(image, "%s/raw.img", fx.dir);
	fx_scsi_loop(image, 16 * MiB, 1, 8, dev);
	fx_fmt(link, "%s/gcs/c/pod/blockdev0", fx.run);
	req = disk_req(1, 8, link);
	req.block_dev = true;
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	n = readlink(link, target, sizeof(target) - 1);
	CHECK(n > 0);
	target[n] = '\0';
	CHECK_STREQ(target, dev);
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e); /* same link again */
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(link));
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK(fx_exists(dev)); /* the device itself is untouched */
}

TEST(scsi_failed_mount_leaves_nothing_behind)
{
	char image[PATH_MAX], dev[PATH_MAX], mp[PATH_MAX];
	struct scsi_mount_req req;
	struct error e;

	fx_init(true);
	fx_fmt(image, "%s/ext4.img", fx.dir);
	make_ext4(image, 32 * MiB);
	fx_loop(image, false, dev);
	fx_scsi_disk(0, 3, 2, strrchr(dev, '/') + 1, NULL);
	fx.cfg.dev_root = "/dev";
	fx_fmt(mp, "%s/mounts/scsi/m9", fx.run);
	req = disk_req(0, 2, mp);
	req.filesystem = "xfs"; /* wrong type, and no EnsureFilesystem */
	CHECK(storage_scsi_mount(&fx.cfg, &req, &e) < 0);
	CHECK_CONTAINS(e.msg, "SCSI controller 0 LUN 2");
	CHECK_CONTAINS(e.msg, mp);
	CHECK(!fx_exists(mp));
	req.filesystem = "btrfs";
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -EINVAL);
	CHECK_CONTAINS(e.msg, "unsupported filesystem \"btrfs\"");
	/* xfs requested with EnsureFilesystem: no formatter, disk untouched. */
	req.filesystem = "xfs";
	req.ensure_filesystem = true;
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -ENOTSUP);
	CHECK_EQ(run("e2fsck -fn %s >/dev/null 2>&1", dev), 0);
}

TEST(scsi_mounts_xfs_when_the_kernel_has_it)
{
	char image[PATH_MAX], dev[PATH_MAX], mp[PATH_MAX], buf[256];
	struct scsi_mount_req req;
	struct statvfs sv;
	struct error e;

	fx_init(true);
	if (!fx_read("/proc/filesystems", buf, sizeof(buf)) ||
	    run("grep -qw xfs /proc/filesystems"))
		SKIP("kernel has no xfs");
	if (!have("mkfs.xfs"))
		SKIP("mkfs.xfs (xfsprogs) not installed");
	fx_fmt(image, "%s/xfs.img", fx.dir);
	fx_image(image, 320 * MiB);
	CHECK_EQ(run("mkfs.xfs -q %s", image), 0);
	fx_loop(image, false, dev);
	fx_scsi_disk(0, 3, 11, strrchr(dev, '/') + 1, NULL);
	fx.cfg.dev_root = "/dev";
	fx_fmt(mp, "%s/mounts/scsi/x", fx.run);
	req = disk_req(0, 11, mp);
	req.read_only = true; /* detected, and mounted norecovery */
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK(statvfs(mp, &sv) == 0 && (sv.f_flag & ST_RDONLY));
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	req.read_only = false;
	req.ensure_filesystem = true;
	req.filesystem = "xfs"; /* already xfs: kept, not reformatted */
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
}

struct concurrent {
	struct scsi_mount_req req;
	struct error e;
	int r;
};

static void *mount_thread(void *arg)
{
	struct concurrent *c = arg;

	c->r = storage_scsi_mount(&fx.cfg, &c->req, &c->e);
	return NULL;
}

/* Workers run requests in parallel: two blank scratch disks at once. */
TEST(scsi_concurrent_formats_and_mounts)
{
	char image[2][PATH_MAX], dev[2][PATH_MAX], mp[2][PATH_MAX];
	struct concurrent c[2];
	pthread_t t[2];

	fx_init(true);
	for (int i = 0; i < 2; i++) {
		fx_fmt(image[i], "%s/c%d.img", fx.dir, i);
		fx_scsi_loop(image[i], 128 * MiB, 0, 20 + (unsigned)i, dev[i]);
		fx_fmt(mp[i], "%s/gcs/c/c%d", fx.run, i);
		c[i].req = disk_req(0, 20 + (unsigned)i, mp[i]);
		c[i].req.ensure_filesystem = true;
		c[i].req.filesystem = "ext4";
	}
	for (int i = 0; i < 2; i++)
		CHECK(pthread_create(&t[i], NULL, mount_thread, &c[i]) == 0);
	for (int i = 0; i < 2; i++)
		CHECK(pthread_join(t[i], NULL) == 0);
	for (int i = 0; i < 2; i++) {
		CHECK_STORAGE(c[i].r, &c[i].e);
		CHECK(fx_mountinfo(mp[i], NULL, NULL, NULL));
		CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &c[i].req, &c[i].e), &c[i].e);
		CHECK_EQ(run("e2fsck -fn %s >/dev/null 2>&1", dev[i]), 0);
	}
}
