/* Small text files for /init: /proc and /sys entries, the command line. */
#ifndef LCOW_INIT_FILE_H
#define LCOW_INIT_FILE_H

#include <stddef.h>

/* Reads at most len - 1 bytes of path into buf and NUL-terminates them
 * (len > 0). Returns 0, or a negative errno when the file cannot be opened
 * or read. */
int init_read_text(const char *path, char *buf, size_t len);

#endif
