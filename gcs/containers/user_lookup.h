/* Resolving an OCI `process.user.username` inside a container's rootfs.
 *
 * The host may name the user of a container or exec'd process as
 * "name", "uid", "name:group", "uid:gid" (or mixed); the guest turns that into
 * numeric ids with the container's own <rootfs>/etc/passwd and /etc/group,
 * never the UVM's. Files are opened with RESOLVE_IN_ROOT so that symlinks in
 * the image cannot point the lookup at the UVM, and must be regular files
 * of at most 16 MiB with lines of at most 64 KiB: whatever a container
 * plants there (a FIFO, a device, a sparse file) is an error, never a
 * stalled or exhausted worker. Thread-safe. */
#ifndef GCS_USER_LOOKUP_H
#define GCS_USER_LOOKUP_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct user_ids {
	uint32_t uid;
	uint32_t gid;
	/* Groups of /etc/group that list the user as a member, other than gid,
	 * ascending and without duplicates. Heap-allocated: user_ids_free(). */
	uint32_t *additional_gids;
	size_t n_additional;
};

/* Resolves `user` ("name", "uid", "name:group", "uid:gid", ...) against
 * <rootfs>/etc/passwd and <rootfs>/etc/group.
 * - A name that is not in passwd (or a group name not in group) is an
 *   ERR_INVALID_ARG error that says which file was searched.
 * - A numeric uid that passwd does not know is accepted with gid 0.
 * - An explicit group replaces the passwd gid.
 * On success fills *out (free with user_ids_free). */
int user_lookup(const char *rootfs, const char *user, struct user_ids *out, struct error *e);

void user_ids_free(struct user_ids *ids);

#endif
