/* Plan 9 shares over the host transport (spec §3.10.3, §5.3). */
#ifndef GCS_STORAGE_PLAN9_H
#define GCS_STORAGE_PLAN9_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

#define PLAN9_MSIZE 65536 /* also the socket buffer sizes */

/* "trans=fd,rfdno=<fd>,wfdno=<fd>,msize=65536[,noload][,aname=<share>]".
 * A share name that could smuggle in another option is refused. */
int plan9_mount_data(char *buf, size_t size, int fd, const char *share, bool read_only,
		     struct error *e);

#endif
