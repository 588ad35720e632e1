/* The runtime against real kernel devices, in the VM of
 * tests/integration/test_storage_vm.py, which attaches a virtio-scsi
 * controller (LUN 3: a blank disk; LUN 5: a GPT disk with two partitions)
 * and a virtio-pmem device holding two ext4 layers, and describes them in
 * LCOW_STORAGE_REAL=1 and LCOW_STORAGE_PMEM="<off>:<size>,<off>:<size>".
 * Only the VMBus part of sysfs is faked (virtio has no VMBus): the fake
 * root's bus/scsi is the kernel's own. Elsewhere these cases skip. */
#include "storage_fixture.h"

#include "storage/scsi_device.h"

#define BLANK_LUN 3
#define GPT_LUN 5

static void need_vm(void)
{
	const char *real = getenv("LCOW_STORAGE_REAL");

	if (!real || strcmp(real, "1") != 0)
		SKIP("needs the storage VM's virtio-scsi and virtio-pmem devices "
		     "(tests/integration/test_storage_vm.py)");
	fx_init(true);
}

TEST(real_scsi_blank_disk_format_mount_unplug)
{
	char mp[PATH_MAX], file[PATH_MAX], src[PATH_MAX], dev[PATH_MAX], buf[64];
	struct scsi_mount_req req = {.controller = 0, .lun = BLANK_LUN};
	struct error e;

	need_vm();
	fx_real_scsi_sysfs(BLANK_LUN);
	CHECK_STORAGE(scsi_find_device(&fx.cfg, 0, BLANK_LUN, 0, dev, sizeof(dev), &e), &e);
	CHECK(strncmp(dev, "/dev/sd", 7) == 0);
	fx_fmt(mp, "%s/gcs/c/real", fx.run);
	req.mount_path = mp;
	req.ensure_filesystem = true;
	req.filesystem = "ext4";
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK(fx_mountinfo(mp, src, NULL, NULL));
	CHECK_STREQ(src, dev);
	fx_fmt(file, "%s/config.json", mp);
	fx_write(file, "{}");
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(mp));
	req.ensure_filesystem = false;
	req.read_only = true;
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK_STREQ(fx_read(file, buf, sizeof(buf)), "{}");
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);

	/* Guest-side unplug: the kernel removes the device. */
	CHECK_STORAGE(storage_scsi_unplug(&fx.cfg, 0, BLANK_LUN, &e), &e);
	for (int i = 0; i < 200 && fx_exists(dev); i++)
		usleep(10000);
	CHECK(!fx_exists(dev));
	fx.cfg.device_timeout_ms = 200;
	CHECK_EQ(storage_scsi_mount(&fx.cfg, &req, &e), -ETIMEDOUT);
	CHECK_CONTAINS(e.msg, "SCSI controller 0 LUN 3");
	CHECK_STORAGE(storage_scsi_unplug(&fx.cfg, 0, BLANK_LUN, &e), &e); /* gone: fine */
}

TEST(real_scsi_partition)
{
	char mp[PATH_MAX], src[PATH_MAX], disk[PATH_MAX];
	struct scsi_mount_req req = {.controller = 0, .lun = GPT_LUN, .partition = 2};
	struct error e;

	need_vm();
	fx_real_scsi_sysfs(GPT_LUN);
	CHECK_STORAGE(scsi_find_device(&fx.cfg, 0, GPT_LUN, 0, disk, sizeof(disk), &e), &e);
	fx_fmt(mp, "%s/mounts/scsi/m5", fx.run);
	req.mount_path = mp;
	req.ensure_filesystem = true;
	CHECK_STORAGE(storage_scsi_mount(&fx.cfg, &req, &e), &e);
	CHECK(fx_mountinfo(mp, src, NULL, NULL));
	CHECK_EQ(strncmp(src, disk, strlen(disk)), 0);
	CHECK_STREQ(src + strlen(disk), "2"); /* sdb -> sdb2 */
	CHECK_STORAGE(storage_scsi_unmount(&fx.cfg, &req, &e), &e);
}

/* LCOW_STORAGE_PMEM: the packed layers' offsets and sizes. */
static int pmem_layers(uint64_t off[2], uint64_t size[2])
{
	const char *s = getenv("LCOW_STORAGE_PMEM");
	unsigned long long o0, s0, o1, s1;

	if (!s || sscanf(s, "%llu:%llu,%llu:%llu", &o0, &s0, &o1, &s1) != 4)
		return -1;
	off[0] = o0, size[0] = s0, off[1] = o1, size[1] = s1;
	return 0;
}

TEST(real_vpmem_two_mapped_layers_at_once)
{
	char mp[2][PATH_MAX], file[PATH_MAX], buf[64];
	struct vpmem_mount_req req[2];
	uint64_t off[2], size[2];
	struct error e;

	need_vm();
	CHECK(pmem_layers(off, size) == 0);
	fx.cfg.dev_root = "/dev";
	for (int i = 0; i < 2; i++) {
		memset(&req[i], 0, sizeof(req[i]));
		fx_fmt(mp[i], "%s/layers/p0-%llu-%llu", fx.run, (unsigned long long)off[i],
		       (unsigned long long)size[i]);
		req[i].device_number = 0;
		req[i].mount_path = mp[i];
		req[i].has_mapping = true;
		req[i].mapping_offset = off[i];
		req[i].mapping_size = size[i];
		CHECK_STORAGE(storage_vpmem_mount(&fx.cfg, &req[i], &e), &e);
	}
	for (int i = 0; i < 2; i++) {
		char want[32], src[PATH_MAX], dm[PATH_MAX];

		fx_fmt(file, "%s/layer%d.txt", mp[i], i);
		snprintf(want, sizeof(want), "layer %d\n", i);
		CHECK_STREQ(fx_read(file, buf, sizeof(buf)), want);
		CHECK(fx_mountinfo(mp[i], src, NULL, NULL));
		fx_fmt(dm, "/dev/mapper/dm-linear-pmem0-%llu-%llu", (unsigned long long)off[i],
		       (unsigned long long)size[i]);
		CHECK_STREQ(src, dm);
	}
	for (int i = 0; i < 2; i++) {
		char dm[PATH_MAX];

		CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &req[i], &e), &e);
		fx_fmt(dm, "/dev/mapper/dm-linear-pmem0-%llu-%llu", (unsigned long long)off[i],
		       (unsigned long long)size[i]);
		CHECK(!fx_exists(dm));
		CHECK(!fx_exists(mp[i]));
	}
}

TEST(real_vpmem_whole_device)
{
	char mp[PATH_MAX], file[PATH_MAX], buf[64];
	struct vpmem_mount_req req = {.device_number = 0};
	struct error e;

	need_vm();
	fx.cfg.dev_root = "/dev";
	fx_fmt(mp, "%s/layers/p0", fx.run);
	req.mount_path = mp;
	/* The first layer starts at offset 0: the device mounts as it is. */
	CHECK_STORAGE(storage_vpmem_mount(&fx.cfg, &req, &e), &e);
	fx_fmt(file, "%s/layer0.txt", mp);
	CHECK_STREQ(fx_read(file, buf, sizeof(buf)), "layer 0\n");
	CHECK_STORAGE(storage_vpmem_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(mp));
}
