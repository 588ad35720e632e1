/* Host-supplied guest paths: the only place they are trusted from.
 *
 * A path must be absolute, free of ".." and control characters, lie strictly
 * below one of the configured roots, and reach no existing symlink below that
 * root (the roots themselves are configuration and trusted). Directories
 * below the root are then created without following symlinks either. */
#ifndef GCS_STORAGE_GUEST_PATH_H
#define GCS_STORAGE_GUEST_PATH_H

#include <limits.h>
#include <stdbool.h>
#include <sys/types.h>

#include "error.h"
#include "storage/storage.h"

/* The last component may itself be a symlink (a BlockDev link). */
#define GUEST_PATH_FINAL_SYMLINK 0x1u

struct guest_path {
	char path[PATH_MAX]; /* normalised: no "//", no "." components */
	size_t root_len;     /* length of the allowed root it lies under */
};

/* Checks path (what names the field in messages, e.g. "MountPath"). */
int guest_path_check(const struct storage_config *cfg, const char *what, const char *path,
		     unsigned flags, struct guest_path *out, struct error *e);

/* Same rules for a child of an already checked path ("<gp>/<name>"). */
int guest_path_join(const struct guest_path *gp, const char *name, struct guest_path *out,
		    struct error *e);

/* mkdir -p gp->path with mode; *created tells whether the last component
 * was made by this call (so a failed request removes only what it made). */
int guest_path_mkdirs(const struct guest_path *gp, mode_t mode, bool *created, struct error *e);

/* The parent directory of gp (still below or at the root). */
int guest_path_parent(const struct guest_path *gp, struct guest_path *out, struct error *e);

#endif
