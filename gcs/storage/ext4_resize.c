#include "storage/ext4_resize.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "cleanup.h"
#include "storage/probe.h"

/* fs/ext4/ext4.h, not exported in the UAPI headers. */
#ifndef EXT4_IOC_RESIZE_FS
#define EXT4_IOC_RESIZE_FS _IOW('f', 16, uint64_t)
#endif

int ext4_grow(const char *mount_path, const char *dev, uint64_t *blocks_after, struct error *e)
{
	struct storage_fs_info info;
	_cleanup_close_ int fd = -1;
	uint64_t size, want;
	int r;

	if ((r = storage_probe_fs(dev, &info, e)) < 0 ||
	    (r = storage_device_size(dev, &size, e)) < 0)
		return error_prefix(e, "grow ext4 on %s", mount_path);
	if (info.type != STORAGE_FS_EXT4 || !info.block_size)
		return error_set(e, ERR_FAIL, EINVAL,
				 "grow ext4 on %s: %s holds no ext4 filesystem", mount_path, dev);
	if (blocks_after)
		*blocks_after = info.blocks;
	want = size / info.block_size;
	if (want <= info.blocks)
		return 0;

	fd = open(mount_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return error_errno(e, errno, "grow ext4: open %s", mount_path);
	if (ioctl(fd, EXT4_IOC_RESIZE_FS, &want) < 0)
		return error_errno(e, errno, "grow ext4 on %s (%s) from %llu to %llu blocks",
				   mount_path, dev, (unsigned long long)info.blocks,
				   (unsigned long long)want);
	if (blocks_after)
		*blocks_after = want;
	return 0;
}
