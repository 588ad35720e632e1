/* A pod sandbox's shared directories, in its bundle (as the reference lays
 * them out): made at the sandbox's Create, unmounted at its Delete.
 * - sandboxMounts/: sandbox:// volumes. A bind of itself made rshared, so a
 *   mount a workload makes in a Bidirectional volume reaches the others.
 * - sandboxTmpfsMounts/: sandbox-tmp:// volumes, on a tmpfs, rshared.
 * - hugepages/: hugepages://<size>/<sub> sources, each a hugetlbfs mount
 *   made on first use; rshared.
 * - logs/: a plain directory. */
#ifndef GCS_CONTAINERS_SANDBOX_MOUNTS_H
#define GCS_CONTAINERS_SANDBOX_MOUNTS_H

#include <stdbool.h>

#include "error.h"

#define SANDBOX_MOUNTS_DIR "sandboxMounts"
#define SANDBOX_TMPFS_DIR "sandboxTmpfsMounts"
#define SANDBOX_HUGEPAGES_DIR "hugepages"

/* Makes the directories and their mounts; on failure undoes what it made. */
int sandbox_mounts_setup(const char *bundle, struct error *e);

/* Unmounts everything at or below the shared directories (the volumes'
 * own mounts, those workloads propagated into them, hugetlbfs mounts);
 * the directories stay for the bundle's removal. */
int sandbox_mounts_teardown(const char *bundle, struct error *e);

/* A hugetlbfs page size as hosts write it: digits and one of K, M, G. */
bool sandbox_page_size_valid(const char *size);

/* Mounts hugetlbfs with pagesize=size on the directory dirfd holds, unless
 * one is already there. size is digits and one of K, M, G. */
int sandbox_hugetlbfs_mount(int dirfd, const char *size, const char *shown, struct error *e);

#endif
