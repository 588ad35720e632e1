/* -kmsgLogLevel: kernel log records (/dev/kmsg) with a priority <= level are
 * copied into the gcs log, as the reference does, so that kernel warnings
 * (OOM kills, hung tasks, device errors) reach the host. */
#ifndef GCS_CORE_KMSG_H
#define GCS_CORE_KMSG_H

#include "error.h"
#include "core/loop.h"

int kmsg_start(struct loop *l, unsigned max_priority, struct error *err);
/* Before loop_free(). */
void kmsg_stop(void);

#endif
