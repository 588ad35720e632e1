/* What filesystem a device holds, read from its superblock (spec §5.1.4). */
#ifndef GCS_STORAGE_PROBE_H
#define GCS_STORAGE_PROBE_H

#include <stdint.h>

#include "error.h"

enum storage_fs {
	STORAGE_FS_NONE = 0, /* superblock read fine, no known magic */
	STORAGE_FS_EXT4,     /* ext2/3/4 magic 0xEF53 at 1024+56 */
	STORAGE_FS_XFS,	     /* "XFSB" at 0 */
};

struct storage_fs_info {
	enum storage_fs type;
	uint32_t block_size; /* ext4 only */
	uint64_t blocks;     /* ext4 only: s_blocks_count */
};

/* Reads the superblock area of dev. An I/O error is an error, never
 * STORAGE_FS_NONE: only a readable device without magic may be formatted. */
int storage_probe_fs(const char *dev, struct storage_fs_info *info, struct error *e);

/* "ext4", "xfs", or NULL for STORAGE_FS_NONE. */
const char *storage_fs_name(enum storage_fs type);

/* Parses "ext4"/"xfs"; STORAGE_FS_NONE for anything else. */
enum storage_fs storage_fs_parse(const char *name);

/* Size in bytes of a block device or regular file. */
int storage_device_size(const char *dev, uint64_t *size, struct error *e);

#endif
