/* Small json-c helpers for reading and editing an OCI spec in place. */
#ifndef GCS_CONTAINERS_SPEC_JSON_H
#define GCS_CONTAINERS_SPEC_JSON_H

#include <stdbool.h>

#include <json-c/json.h>

#include "error.h"

/* The member `key` of o if it has type t, else NULL. */
struct json_object *spec_member(struct json_object *o, const char *key, enum json_type t);

const char *spec_member_str(struct json_object *o, const char *key);

bool spec_member_bool(struct json_object *o, const char *key);

/* The member `key` of type t, created empty when absent or null. A member of
 * another type is ERR_INVALID_ARG: the spec is malformed. */
struct json_object *spec_member_ensure(struct json_object *o, const char *key, enum json_type t,
				       struct error *e);

int spec_set_member(struct json_object *o, const char *key, struct json_object *v, struct error *e);

int spec_array_push(struct json_object *a, struct json_object *v, struct error *e);

/* v read as Go's strconv.ParseBool ("1", "t", "TRUE", "true", "True",
 * and the same for false); *valid is false for anything else, which reads
 * as false (as the reference treats a bad annotation). */
bool spec_parse_bool(const char *v, bool *valid);

#endif
