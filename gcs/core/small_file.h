/* Reading the short text files of /proc and /sys. */
#ifndef GCS_CORE_SMALL_FILE_H
#define GCS_CORE_SMALL_FILE_H

#include <sys/types.h>

/* Reads at most size - 1 bytes of path (relative to dirfd, or AT_FDCWD)
 * into buf and NUL-terminates them. Returns the length, or a negative
 * errno (-EIO for an empty file). One read(2): these files come whole. */
ssize_t small_file_read_at(int dirfd, const char *path, char *buf, size_t size);

#endif
