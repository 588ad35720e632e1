/* JSON documents in files and buffers, and atomic file writes. */
#ifndef GCS_CORE_JSON_FILE_H
#define GCS_CORE_JSON_FILE_H

#include <stddef.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "error.h"

/* Writes data to path via a temporary file in the same directory and a
 * rename, with exactly `mode`: a reader never sees half a file. */
int file_write_atomic(const char *path, const char *data, size_t len, mode_t mode, struct error *e);

/* Serialises obj (plain, '/' not escaped) with file_write_atomic(0600), so
 * runc never reads half a file. */
int json_file_write(const char *path, struct json_object *obj, struct error *e);

/* Parses a JSON document (ERR_BAD_JSON when it does not parse, or when
 * anything but whitespace follows it); the document "null" gives
 * *out == NULL. */
int json_file_read(const char *path, struct json_object **out, struct error *e);
int json_text_parse(const char *text, size_t len, struct json_object **out, struct error *e);

#endif
