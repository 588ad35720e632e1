/* The initrd's cold tools: runc and its glibc, busybox, mke2fs and chronyd
 * are files an idle guest never runs, yet unpacked from the initrd they
 * would sit in RAM (the initramfs is a tmpfs, never reclaimed) for the VM's
 * whole life: 13 MiB. The image builder packs them into a squashfs image
 * instead (mk/image/build-image.sh) and leaves symlinks into TOOLS_DIR at
 * their paths; here that image is attached to a loop device and mounted.
 * Only the compressed image stays in RAM; what is read from it is page
 * cache, which the kernel reclaims under pressure.
 *
 * A root without the image (rootfs.vhd: its files are on the disk already)
 * has nothing to do. */
#include "steps.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>
#include <linux/loop.h>

#include "file.h"
#include "klog.h"

#define TOOLS_IMAGE "/lib/lcow/tools.squashfs"
#define TOOLS_DIR "/lib/lcow/tools"

static int mount_tools(void)
{
	struct loop_config cfg;
	const char *failed = NULL; /* the step that failed, for the log */
	char dev[32];
	int file, ctl = -1, loop = -1, n, r;

	file = open(TOOLS_IMAGE, O_RDONLY | O_CLOEXEC);
	if (file < 0) {
		if (errno == ENOENT)
			return 0;
		failed = TOOLS_IMAGE;
		goto out;
	}
	/* No idle loop devices are made at boot (the kernel's
	 * BLK_DEV_LOOP_MIN_COUNT=0): ask for one. */
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	n = ctl < 0 ? -1 : ioctl(ctl, LOOP_CTL_GET_FREE);
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	if (n < 0)
		failed = "no free loop device";
	else if ((loop = open(dev, O_RDONLY | O_CLOEXEC)) < 0)
		failed = dev;
	if (failed)
		goto out;
	/* LOOP_CONFIGURE (Linux 5.8) attaches read-only in one call. With
	 * LO_FLAGS_AUTOCLEAR the device lets go of the image when its last
	 * user goes: the mount, once made (closing our fds keeps it); after
	 * a failed mount, our fd, closed below. */
	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned int)file;
	cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
	if (ioctl(loop, LOOP_CONFIGURE, &cfg) < 0)
		failed = "LOOP_CONFIGURE";
	else if (mount(dev, TOOLS_DIR, "squashfs", MS_RDONLY | MS_NODEV, NULL) < 0)
		failed = "mounting the squashfs on " TOOLS_DIR;
out:
	r = failed ? -errno : 0;
	close(loop);
	close(ctl);
	close(file);
	if (failed)
		klog(KLOG_ERR, "tools: %s: %s", failed, strerror(-r));
	else
		klog(KLOG_INFO, "tools: " TOOLS_IMAGE " mounted on " TOOLS_DIR " from %s", dev);
	return r;
}

/* Set by init_tools_mount when the kernel could not mount the image yet,
 * read by init_tools_mount_deferred after the table has joined the first. */
static bool deferred;

/* Whether loop and squashfs are here now: built in, or already loaded. */
static bool drivers_present(void)
{
	char filesystems[4096];

	return access("/dev/loop-control", F_OK) == 0 &&
	       init_read_text("/proc/filesystems", filesystems, sizeof(filesystems)) == 0 &&
	       strstr(filesystems, "\tsquashfs\n") != NULL;
}

int init_tools_mount(const struct init_options *o)
{
	(void)o;
	if (access(TOOLS_IMAGE, F_OK) == 0 && !drivers_present()) {
		deferred = true;
		klog(KLOG_INFO, "tools: no loop or squashfs yet; mounting after the modules");
		return 0;
	}
	return mount_tools();
}

int init_tools_mount_deferred(const struct init_options *o)
{
	(void)o;
	return deferred ? mount_tools() : 0;
}
