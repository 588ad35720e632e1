/* The storage handlers' copy of a decoded ModifySettings request into the
 * storage runtime's request (handlers/storage.c), exposed for the fuzz
 * target tests/fuzz/fuzz_storage.c; nothing else calls it. */
#ifndef GCS_HANDLERS_STORAGE_H
#define GCS_HANDLERS_STORAGE_H

#include "core/arena.h"
#include "error.h"
#include "gcs.pb-c.h"
#include "storage/storage.h"

/* Copies mr's Settings (the oneof member sr->resource names) into sr, every
 * string into the arena a; ERR_BAD_JSON when Settings is missing or of
 * another resource. sr->resource must be set (storage_resource_parse). */
int storage_settings_copy(struct storage_request *sr, struct arena *a,
			  const Gcs__ModificationRequest *mr, struct error *err);

#endif
