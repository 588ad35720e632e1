/* Directories below a trusted root, made without ever following a symlink.
 *
 * Paths below the root may have been shaped by a workload (a shared sandbox
 * volume, a container image): a symlink planted there must not make the gcs
 * create or open anything outside. Every component is opened with
 * O_NOFOLLOW from its parent's fd, so such a link ends the walk with an
 * error instead of being followed. */
#ifndef GCS_CORE_DIR_BENEATH_H
#define GCS_CORE_DIR_BENEATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* The last component may be an existing non-directory (a file to bind). */
#define DIR_BENEATH_FILE_OK 0x1u

/* mkdir -p root/rel. rel is relative ("a/b"; leading and doubled slashes
 * are skipped; "." and ".." are refused). Directories made here get exactly
 * mode (umask ignored); *created (may be NULL) tells whether the last
 * component was made by this call. */
int dir_mkdirs_beneath(const char *root, const char *rel, mode_t mode, unsigned flags,
		       bool *created, struct error *e);

#endif
