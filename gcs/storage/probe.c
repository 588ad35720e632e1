#include "storage/probe.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cleanup.h"

#define PROBE_BYTES 4096
#define EXT4_SB_OFFSET 1024
#define EXT4_MAGIC 0xEF53
#define EXT4_OFF_BLOCKS_LO 0x04
#define EXT4_OFF_LOG_BLOCK_SIZE 0x18
#define EXT4_OFF_MAGIC 0x38
#define EXT4_OFF_INCOMPAT 0x60
#define EXT4_OFF_BLOCKS_HI 0x150
#define EXT4_INCOMPAT_64BIT 0x80

static uint32_t le16(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8;
}

static uint32_t le32(const unsigned char *p)
{
	return le16(p) | le16(p + 2) << 16;
}

static void parse_ext4(const unsigned char *sb, struct storage_fs_info *info)
{
	uint64_t blocks = le32(sb + EXT4_OFF_BLOCKS_LO);
	uint32_t log = le32(sb + EXT4_OFF_LOG_BLOCK_SIZE);

	if (le32(sb + EXT4_OFF_INCOMPAT) & EXT4_INCOMPAT_64BIT)
		blocks |= (uint64_t)le32(sb + EXT4_OFF_BLOCKS_HI) << 32;
	info->type = STORAGE_FS_EXT4;
	info->block_size = log < 7 ? 1024u << log : 0;
	info->blocks = blocks;
}

int storage_probe_fs(const char *dev, struct storage_fs_info *info, struct error *e)
{
	unsigned char buf[PROBE_BYTES];
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	memset(info, 0, sizeof(*info));
	if (fd < 0)
		return error_errno(e, errno, "open %s", dev);
	n = pread(fd, buf, sizeof(buf), 0);
	if (n < 0)
		return error_errno(e, errno, "read superblock of %s", dev);
	if (n < EXT4_SB_OFFSET + EXT4_OFF_BLOCKS_HI + 4) {
		/* Too small to hold either filesystem: nothing is there. */
		info->type = STORAGE_FS_NONE;
		return 0;
	}
	if (le16(buf + EXT4_SB_OFFSET + EXT4_OFF_MAGIC) == EXT4_MAGIC)
		parse_ext4(buf + EXT4_SB_OFFSET, info);
	else if (memcmp(buf, "XFSB", 4) == 0)
		info->type = STORAGE_FS_XFS;
	return 0;
}

const char *storage_fs_name(enum storage_fs type)
{
	switch (type) {
	case STORAGE_FS_EXT4:
		return "ext4";
	case STORAGE_FS_XFS:
		return "xfs";
	default:
		return NULL;
	}
}

enum storage_fs storage_fs_parse(const char *name)
{
	if (name && strcmp(name, "ext4") == 0)
		return STORAGE_FS_EXT4;
	if (name && strcmp(name, "xfs") == 0)
		return STORAGE_FS_XFS;
	return STORAGE_FS_NONE;
}

int storage_device_size(const char *dev, uint64_t *size, struct error *e)
{
	_cleanup_close_ int fd = open(dev, O_RDONLY | O_CLOEXEC);
	struct stat st;

	if (fd < 0)
		return error_errno(e, errno, "open %s", dev);
	if (fstat(fd, &st) < 0)
		return error_errno(e, errno, "stat %s", dev);
	if (S_ISREG(st.st_mode)) {
		*size = (uint64_t)st.st_size;
		return 0;
	}
	if (ioctl(fd, BLKGETSIZE64, size) < 0)
		return error_errno(e, errno, "size of %s", dev);
	return 0;
}
