/* VPMem layer devices (spec §5.2). */
#ifndef GCS_STORAGE_VPMEM_H
#define GCS_STORAGE_VPMEM_H

#include <stddef.h>
#include <stdint.h>

#include "storage/storage.h"

/* "dm-linear-pmem<N>-<offset>-<size>", the name hcsshim's guest uses. */
int vpmem_dm_name(const struct vpmem_mount_req *req, char *buf, size_t size);

/* "dm-verity-pmem<N>" or, with MappingInfo, "dm-verity-pmem<N>-<offset>-
 * <size>". hcsshim's guest puts the root digest in the name instead; ours
 * is what Remove carries, so Remove finds the device without VerityInfo. */
int vpmem_verity_name(const struct vpmem_mount_req *req, char *buf, size_t size);

#endif
