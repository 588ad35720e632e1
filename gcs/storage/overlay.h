/* Container root filesystems from layers (spec §3.10.5, §5.4). */
#ifndef GCS_STORAGE_OVERLAY_H
#define GCS_STORAGE_OVERLAY_H

#include <stddef.h>

#include "error.h"

/* mount(2) data is one page: the kernel truncates anything longer. */
#define OVERLAY_DATA_MAX 4096

/* "lowerdir=<l0>:<l1>...[,upperdir=<u>,workdir=<w>]" with the layers in the
 * given (top-most first) order. Paths containing ':', ',' or '\' would
 * change the meaning of the options and are refused. */
int overlay_mount_data(char *buf, size_t size, const char *const *layers, size_t n,
		       const char *upper, const char *work, struct error *e);

#endif
