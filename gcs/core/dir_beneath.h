/* Directories below a trusted root, made and opened without ever following
 * a symlink.
 *
 * Paths below the root may have been shaped by a workload (a shared sandbox
 * volume, a container image): a symlink planted there must not make the gcs
 * create or open anything outside. Every component is opened with
 * O_NOFOLLOW from its parent's fd, so such a link ends the walk with an
 * error instead of being followed. The fd the walk ends on names what was
 * checked for as long as it is open, whatever is renamed or swapped later. */
#ifndef GCS_CORE_DIR_BENEATH_H
#define GCS_CORE_DIR_BENEATH_H

#include <stdbool.h>
#include <sys/types.h>

#include "error.h"

/* The last component may be an existing non-directory (a file to bind). */
#define DIR_BENEATH_FILE_OK 0x1u
/* Open only: a missing component is an error (ENOENT), nothing is made. */
#define DIR_BENEATH_NO_CREATE 0x2u

/* mkdir -p root/rel. rel is relative ("a/b"; leading and doubled slashes
 * are skipped; "." and ".." are refused). Directories made here get exactly
 * mode (umask ignored); *created (may be NULL) tells whether the last
 * component was made by this call. */
int dir_mkdirs_beneath(const char *root, const char *rel, mode_t mode, unsigned flags,
		       bool *created, struct error *e);

/* The same walk, returning an fd of the last component (O_PATH, O_CLOEXEC;
 * root itself when rel is empty). "/proc/self/fd/<fd>" then reaches exactly
 * that object, for mount(2) or for a process the gcs starts. */
int dir_open_beneath(const char *root, const char *rel, mode_t mode, unsigned flags, bool *created,
		     struct error *e);

/* The same walk from an open directory (not consumed); messages name it
 * root_shown. */
int dir_openat_beneath(int rootfd, const char *root_shown, const char *rel, mode_t mode,
		       unsigned flags, bool *created, struct error *e);

/* "/proc/self/fd/<fd>" into buf (at least DIR_FD_PATH_MAX bytes). */
#define DIR_FD_PATH_MAX 32
const char *dir_fd_path(int fd, char *buf);

#endif
