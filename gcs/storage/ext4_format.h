/* In-process ext4 formatting with libext2fs: the image carries no mkfs. */
#ifndef GCS_STORAGE_EXT4_FORMAT_H
#define GCS_STORAGE_EXT4_FORMAT_H

#include "error.h"

/* Makes an empty ext4 filesystem (4 KiB blocks, journal, extents, flex_bg,
 * metadata_csum, resize_inode for online growth) spanning the whole block
 * device or image file at path (its first 1 KiB is zeroed too, so no older
 * signature survives). A mounted device is refused. Formats are serialised
 * (libext2fs keeps static state), so concurrent callers wait for each other.
 * Returns 0 or a negative errno with e set. */
int ext4_format(const char *path, struct error *e);

#endif
