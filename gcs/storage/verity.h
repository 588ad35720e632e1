/* dm-verity over a read-only layer (issue 13 item 6): the host's VerityInfo
 * becomes a verity target whose data and hash tree are on the same device,
 * as hcsshim's tar2ext4 lays them out (ext4 data, then a verity superblock
 * if SuperBlock, then the tree). */
#ifndef GCS_STORAGE_VERITY_H
#define GCS_STORAGE_VERITY_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "storage/storage.h"

/* Refuses (ERR_INVALID_ARG naming the field) what no kernel would take,
 * before any device is touched. */
int verity_check(const struct verity_info *v, struct error *e);

/* Checks v as verity_check() does and writes the target's
 * parameters for dev (given as "<major>:<minor>"): "<version> <dev> <dev>
 * <block> <block> <data blocks> <hash start block> <algorithm> <digest>
 * <salt or ->", and the target's length in sectors. */
int verity_params(const struct verity_info *v, const char *dev, char *buf, size_t size,
		  uint64_t *sectors, struct error *e);

/* Creates the read-only verity device name over dev_path and reads its
 * first block, which checks the whole path to RootDigest: a digest, salt or
 * tree that does not match is refused here, with the device removed, rather
 * than at the first read of a container. The node goes to out. */
int verity_create(const struct storage_config *cfg, const char *name, const char *dev_path,
		  const struct verity_info *v, char *out, size_t size, struct error *e);

#endif
