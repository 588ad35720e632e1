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
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <unistd.h>
#include <linux/loop.h>

#include "cleanup.h"
#include "klog.h"

#define TOOLS_IMAGE "/lib/lcow/tools.squashfs"
#define TOOLS_DIR "/lib/lcow/tools"

/* LOOP_CONFIGURE (5.8) attaches and sets read-only in one call; older
 * kernels take the two-step form. */
static int loop_attach(int loop, int file)
{
	struct loop_config cfg;

	memset(&cfg, 0, sizeof(cfg));
	cfg.fd = (unsigned int)file;
	cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_AUTOCLEAR;
	if (ioctl(loop, LOOP_CONFIGURE, &cfg) == 0)
		return 0;
	if (errno != EINVAL && errno != ENOTTY)
		return -errno;
	if (ioctl(loop, LOOP_SET_FD, file) < 0)
		return -errno;
	if (ioctl(loop, LOOP_SET_STATUS64, &cfg.info) < 0)
		return -errno;
	return 0;
}

int init_tools_mount(const struct init_options *o)
{
	_cleanup_close_ int file = -1, ctl = -1, loop = -1;
	char dev[32];
	int n, r;

	(void)o;
	file = open(TOOLS_IMAGE, O_RDONLY | O_CLOEXEC);
	if (file < 0)
		return errno == ENOENT ? 0 : -errno;
	/* No idle loop devices are made at boot (the kernel's
	 * BLK_DEV_LOOP_MIN_COUNT=0): ask for one. */
	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0) {
		klog(KLOG_ERR, "tools: /dev/loop-control: %s", strerror(errno));
		return -errno;
	}
	n = ioctl(ctl, LOOP_CTL_GET_FREE);
	if (n < 0) {
		klog(KLOG_ERR, "tools: no free loop device: %s", strerror(errno));
		return -errno;
	}
	snprintf(dev, sizeof(dev), "/dev/loop%d", n);
	loop = open(dev, O_RDONLY | O_CLOEXEC);
	if (loop < 0) {
		klog(KLOG_ERR, "tools: %s: %s", dev, strerror(errno));
		return -errno;
	}
	r = loop_attach(loop, file);
	if (r < 0) {
		klog(KLOG_ERR, "tools: attaching %s to %s: %s", TOOLS_IMAGE, dev, strerror(-r));
		return r;
	}
	/* With LO_FLAGS_AUTOCLEAR the device lets go of the image when the
	 * mount (its last user) goes; closing our fds keeps the mount. */
	if (mount(dev, TOOLS_DIR, "squashfs", MS_RDONLY | MS_NODEV, NULL) < 0) {
		r = -errno;
		klog(KLOG_ERR, "tools: mounting %s (squashfs) on %s: %s", dev, TOOLS_DIR,
		     strerror(-r));
		ioctl(loop, LOOP_CLR_FD, 0);
		return r;
	}
	klog(KLOG_INFO, "tools: %s mounted on %s from %s", TOOLS_IMAGE, TOOLS_DIR, dev);
	return 0;
}
