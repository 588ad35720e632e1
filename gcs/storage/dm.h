/* Device-mapper through its ioctls (no dmsetup, no libdevmapper, no
 * veritysetup/cryptsetup): the read-only linear devices that expose one
 * layer of a multi-mapped VPMem device (spec §5.2), and the verity and crypt
 * devices of verity.c and crypt.c. */
#ifndef GCS_STORAGE_DM_H
#define GCS_STORAGE_DM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "storage/storage.h"

#define DM_SECTOR 512

struct dm_target {
	uint64_t start;	 /* first sector of the new device it covers */
	uint64_t length; /* sectors */
	const char *type;
	const char *params;
};

/* Bytes a DM_TABLE_LOAD message with these targets needs. */
size_t dm_table_size(const struct dm_target *targets, size_t n);

/* Fills buf (size from dm_table_size) with a struct dm_ioctl for name
 * followed by the target specs, each 8-byte aligned with its parameter
 * string; flags go to dm_ioctl.flags (DM_READONLY_FLAG). */
int dm_table_build(void *buf, size_t size, const char *name, uint32_t flags,
		   const struct dm_target *targets, size_t n, struct error *e);

/* "<major>:<minor> <sector>": a linear target's parameters for the block
 * device at dev_path (by number, so no path lookup happens in the kernel). */
int dm_linear_params(const char *dev_path, uint64_t offset_sectors, char *buf, size_t size,
		     struct error *e);

/* "<major>:<minor>" of the block device at dev_path. */
int dm_dev_number(const char *dev_path, char *buf, size_t size, struct error *e);

/* Creates the device name with these targets (read-only if asked),
 * activates it and makes its node <dev_root>/mapper/<name>, written to out.
 * EBUSY/ENOENT/ENXIO/ENODEV are retried every 100 ms until cfg's device
 * timeout. The table buffers are wiped before they are freed (a crypt
 * target's parameters hold its key). The error names the failing step
 * ("load table": the kernel refused a target's parameters). */
int dm_create(const struct storage_config *cfg, const char *name, const struct dm_target *targets,
	      size_t n, bool read_only, char *out, size_t size, struct error *e);

/* A linear device mapping [offset, offset+length) sectors of dev_path,
 * through dm_create(). */
int dm_linear_create(const struct storage_config *cfg, const char *name, const char *dev_path,
		     uint64_t offset_sectors, uint64_t length_sectors, bool read_only, char *out,
		     size_t size, struct error *e);

/* Removes the device and its node; a device that is gone (or never was)
 * is success. EBUSY
 * right after an unmount is retried (10 x 10 ms). */
int dm_remove(const struct storage_config *cfg, const char *name, struct error *e);

#endif
