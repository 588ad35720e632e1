/* Small json-c helpers for reading and editing an OCI spec in place. */
#include "containers/spec_json.h"

#include <errno.h>
#include <string.h>

/* The member `key` of o if it has type t, else NULL. */
struct json_object *spec_member(struct json_object *o, const char *key, enum json_type t)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

const char *spec_member_str(struct json_object *o, const char *key)
{
	struct json_object *v = spec_member(o, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

bool spec_member_bool(struct json_object *o, const char *key)
{
	struct json_object *v = spec_member(o, key, json_type_boolean);

	return v && json_object_get_boolean(v);
}

/* The member `key` of type t, created empty when absent or null. A member of
 * another type is ERR_INVALID_ARG: the spec is malformed. */
struct json_object *spec_member_ensure(struct json_object *o, const char *key, enum json_type t,
				       struct error *e)
{
	struct json_object *v;

	if (json_object_object_get_ex(o, key, &v) && v && !json_object_is_type(v, json_type_null)) {
		if (json_object_is_type(v, t))
			return v;
		error_set(e, ERR_INVALID_ARG, EINVAL, "spec: \"%s\" has the wrong type", key);
		return NULL;
	}
	v = t == json_type_array ? json_object_new_array() : json_object_new_object();
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
		return NULL;
	}
	return v;
}

int spec_set_member(struct json_object *o, const char *key, struct json_object *v, struct error *e)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	}
	return 0;
}

int spec_array_push(struct json_object *a, struct json_object *v, struct error *e)
{
	if (!v || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	}
	return 0;
}

bool spec_parse_bool(const char *v, bool *valid)
{
	static const char *const yes[] = {"1", "t", "T", "TRUE", "true", "True"};
	static const char *const no[] = {"0", "f", "F", "FALSE", "false", "False"};

	*valid = true;
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (!strcmp(v, yes[i]))
			return true;
		if (!strcmp(v, no[i]))
			return false;
	}
	*valid = false;
	return false;
}
