/* SCSI controller lookup in a VM without VMBus (QEMU with virtio-scsi, as
 * `make run` and the VM tests boot the image): controller C is the C-th
 * virtio-scsi host by host number; other SCSI hosts do not count, and a
 * guest with VMBus keeps the GUID translation. Fake sysfs, no root. */
#include "storage_fixture.h"

/* <sys>/class/scsi_host/host<host>/proc_name = driver, and a disk at
 * <host>:0:0:<lun> whose block entry is `name` (a file in the fake /dev). */
static void fake_host(unsigned host, const char *driver, unsigned lun, const char *name)
{
	char path[PATH_MAX];

	fx_fmt(path, "%s/class/scsi_host/host%u", fx.sys, host);
	fx_mkdirs(path);
	fx_fmt(path, "%s/class/scsi_host/host%u/proc_name", fx.sys, host);
	fx_write(path, driver);
	fx_fmt(path, "%s/bus/scsi/devices/%u:0:0:%u/block/%s", fx.sys, host, lun, name);
	fx_mkdirs(path);
	fx_fmt(path, "%s/%s", fx.dev, name);
	fx_write(path, "");
}

TEST(scsi_without_vmbus_maps_controllers_to_virtio_hosts)
{
	char path[PATH_MAX], want[PATH_MAX];
	unsigned host = 99;
	struct error e;

	fx_init(false);
	fake_host(0, "ata_piix\n", 1, "sda");	  /* not virtio: never a controller */
	fake_host(10, "virtio_scsi\n", 1, "sdc"); /* second by number: controller 1 */
	fake_host(2, "virtio_scsi\n", 1, "sdb");  /* first by number: controller 0 */
	CHECK_STORAGE(scsi_host_number(&fx.cfg, 0, &host, &e), &e);
	CHECK_EQ(host, 2u);
	CHECK_STORAGE(scsi_find_device(&fx.cfg, 0, 1, 0, path, sizeof(path), &e), &e);
	fx_fmt(want, "%s/sdb", fx.dev);
	CHECK_STREQ(path, want);
	CHECK_STORAGE(scsi_find_device(&fx.cfg, 1, 1, 0, path, sizeof(path), &e), &e);
	fx_fmt(want, "%s/sdc", fx.dev);
	CHECK_STREQ(path, want);
	/* No third virtio-scsi host: not present, the wait times out. */
	CHECK_EQ(scsi_host_number(&fx.cfg, 2, &host, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "no VMBus");
	fx.cfg.device_timeout_ms = 50;
	CHECK_EQ(scsi_find_device(&fx.cfg, 2, 1, 0, path, sizeof(path), &e), -ETIMEDOUT);
}

TEST(scsi_with_vmbus_ignores_virtio_hosts)
{
	char path[PATH_MAX];
	unsigned host;
	struct error e;

	fx_init(false);
	fake_host(2, "virtio_scsi\n", 1, "sdb");
	fx_fmt(path, "%s/bus/vmbus/devices", fx.sys);
	fx_mkdirs(path);
	CHECK_EQ(scsi_host_number(&fx.cfg, 0, &host, &e), -ENOENT);
	CHECK_CONTAINS(e.msg, "bus/vmbus/devices/df6d0690");
}
