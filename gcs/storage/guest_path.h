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

#include "core/dir_beneath.h"
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

/* A checked path held open by a walk from its root that followed no
 * symlink: its parent directory always, the object itself once opened. A
 * rename or a symlink swapped in after the check cannot redirect what is
 * done through these paths:
 * - `at` ("/proc/self/fd/N") is the object as the walk found it: the target
 *   of a mount (it stays the directory underneath once mounted on);
 * - `top` ("/proc/self/fd/P/<name>") is whatever is at the name now, mounts
 *   included: for unmount (with UMOUNT_NOFOLLOW), remount, the mount's
 *   contents. */
struct guest_hold {
	int parent_fd;
	int fd;
	const char *name; /* the last component, in the guest_path */
	char at[DIR_FD_PATH_MAX];
	char top[PATH_MAX];
};
#define GUEST_HOLD_INIT                                                                            \
	{                                                                                          \
		.parent_fd = -1, .fd = -1                                                          \
	}

/* Holds the parent of gp; make: it is made when missing (mode 0700). */
int guest_path_hold_parent(const struct guest_path *gp, bool make, struct guest_hold *out,
			   struct error *e);

/* Holds the directory at gp (and its parent). make: mkdir -p with mode,
 * and *created (may be NULL) tells whether the last component was made by
 * this call (so a failed request removes only what it made); otherwise a
 * missing directory is an error. */
int guest_path_hold_dir(const struct guest_path *gp, bool make, mode_t mode, bool *created,
			struct guest_hold *out, struct error *e);

void guest_hold_release(struct guest_hold *h);

/* The parent directory of gp (still below or at the root). */
int guest_path_parent(const struct guest_path *gp, struct guest_path *out, struct error *e);

#endif
