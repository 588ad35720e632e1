/* Mount, unmount and removal helpers shared by the storage modules. */
#ifndef GCS_STORAGE_MOUNT_H
#define GCS_STORAGE_MOUNT_H

#include <stddef.h>

#include "error.h"
#include "storage/guest_path.h"

/* mount(2) with a message naming source, target, type and data. */
int storage_mount(const char *source, const char *target, const char *fstype, unsigned long flags,
		  const char *data, struct error *e);

/* The same onto a held directory; messages name it `shown`. */
int storage_mount_held(const char *source, const struct guest_hold *target, const char *shown,
		       const char *fstype, unsigned long flags, const char *data, struct error *e);

/* MS_SHARED, MS_PRIVATE|MS_REC, ... for "shared", "rprivate", ...; 0 when
 * opt is not a propagation option. */
unsigned long storage_propagation_flag(const char *opt);

/* Remounts target with every propagation flag among options (others are
 * ignored, as the reference does). */
int storage_apply_propagation(const char *target, const char *const *options, size_t n,
			      struct error *e);

/* Unmounts path until it is no longer a mount point (peels stacked mounts,
 * at most STORAGE_UNMOUNT_MAX). A missing path or no mount is success. */
#define STORAGE_UNMOUNT_MAX 5
int storage_unmount_all(const char *path, struct error *e);

/* Lazily unmounts every mount at or below path, deepest first (a tree of
 * mounts the gcs owns, such as a pod's shared volumes). Nothing mounted:
 * success. */
#define STORAGE_UNMOUNT_TREE_MAX 4096
int storage_unmount_tree(const char *path, struct error *e);

/* rm -rf that never follows symlinks and never descends into another
 * mounted filesystem (that is an error: EBUSY). Missing path: success. */
int storage_remove_tree(const char *path, struct error *e);

/* remove_tree of dirfd/name; messages name it `shown`. */
int storage_remove_tree_at(int dirfd, const char *name, const char *shown, struct error *e);

/* Remove of a mount: unmount_all, refuse if something is still mounted
 * below it, then remove_tree; all of it through the parent directory held
 * by a walk from the root, so nothing swapped in meanwhile redirects it. A
 * missing path is success. */
int storage_unmount_and_remove(const struct guest_path *gp, struct error *e);

#endif
