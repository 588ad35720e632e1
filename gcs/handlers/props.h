/* Pieces of a GetProperties reply (spec §3.9) that the UVM's handler
 * (gcs/handlers/uvm.c) and the containers' (gcs/handlers/container.c)
 * build the same way. */
#ifndef GCS_HANDLERS_PROPS_H
#define GCS_HANDLERS_PROPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "error.h"
#include "gcs.pb-c.h"

/* True if the query (may be NULL) asks for the property type. */
bool props_query_wants(const Gcs__PropertyQuery *q, const char *type);

/* props->processlist: one ProcessDetails per pid, in order, all in the
 * arena. */
int props_process_list(struct arena *a, const uint32_t *pids, size_t n, Gcs__Properties *props,
		       struct error *err);

#endif
