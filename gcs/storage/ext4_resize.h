/* Online growth of a mounted ext4 filesystem to the size of its device
 * (the host grew the VHD since the filesystem was made). */
#ifndef GCS_STORAGE_EXT4_RESIZE_H
#define GCS_STORAGE_EXT4_RESIZE_H

#include <stdint.h>

#include "error.h"

/* Grows the ext4 filesystem of dev, mounted read-write at mount_path, to
 * the whole device (EXT4_IOC_RESIZE_FS). *blocks_after (if not NULL) gets
 * the filesystem's block count afterwards. Nothing to do is success. */
int ext4_grow(const char *mount_path, const char *dev, uint64_t *blocks_after, struct error *e);

#endif
