#include "bridge/codec.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bridge/codec_wire.h"
#include "core/utf8.h"

/* Deep enough for any OCI spec; bounds json-c's recursion. */
#define CODEC_MAX_DEPTH 64
/* json-c spends some 60 bytes on each value it builds, and some 800 on an
 * object (its hash table), so a message of tiny values ("[0,0,0,...]" or
 * "[{},{},...]") grows up to ~400-fold when parsed. Bounding the values,
 * an object counting as CODEC_OBJECT_COST, bounds that: a parsed message
 * stays under ~40 MiB, while a Create with thousands of env vars and
 * mounts counts a few ten thousand. */
#define CODEC_MAX_VALUES (256u * 1024)
#define CODEC_OBJECT_COST 12u

/* A free-form field value: the message protobuf-c sees, followed by the tree.
 * Only codec_json_wrap() creates them, so codec_json_tree() may step back
 * from the message to its container. */
struct codec_json {
	Gcs__Json msg;
	struct json_object *tree;
};

/* Where in the document the decoder is, for error messages: a stack of
 * segments, formatted only when an error is reported (decoding is hot). */
#define PATH_DEPTH 32

struct path {
	struct {
		const char *name; /* NULL: an array index */
		size_t index;
	} seg[PATH_DEPTH];
	size_t depth; /* may exceed PATH_DEPTH: deeper segments are not kept */
	char buf[256];
};

static size_t path_push(struct path *p, const char *name, size_t index)
{
	if (p->depth < PATH_DEPTH) {
		p->seg[p->depth].name = name;
		p->seg[p->depth].index = index;
	}
	return p->depth++;
}

static void path_pop(struct path *p, size_t old)
{
	p->depth = old;
}

static const char *path_str(struct path *p)
{
	size_t len = 0, n = p->depth < PATH_DEPTH ? p->depth : PATH_DEPTH;

	if (n == 0)
		return "message";
	p->buf[0] = '\0';
	for (size_t i = 0; i < n && len < sizeof(p->buf) - 1; i++) {
		int w = p->seg[i].name ? snprintf(p->buf + len, sizeof(p->buf) - len, "%s%s",
						  i ? "." : "", p->seg[i].name)
				       : snprintf(p->buf + len, sizeof(p->buf) - len, "[%zu]",
						  p->seg[i].index);

		if (w < 0)
			break;
		len += (size_t)w;
	}
	return p->buf;
}

static int bad(struct error *err, struct path *p, const char *what, struct json_object *v)
{
	return error_set(err, ERR_BAD_JSON, EINVAL, "invalid JSON: %s: %s, got %s", path_str(p),
			 what, json_type_to_name(json_object_get_type(v)));
}

/* An upper bound of the values in a JSON text: one per '[' and ','
 * outside strings, CODEC_OBJECT_COST per '{', plus one. Counted before
 * json-c builds anything. */
static size_t count_values(const char *buf, size_t len)
{
	size_t n = 1;
	bool in_string = false;

	for (size_t i = 0; i < len; i++) {
		char c = buf[i];

		if (in_string) {
			if (c == '\\')
				i++;
			else if (c == '"')
				in_string = false;
		} else if (c == '"') {
			in_string = true;
		} else if (c == '{') {
			n += CODEC_OBJECT_COST;
		} else if (c == '[' || c == ',') {
			n++;
		}
	}
	return n;
}

int codec_parse(const char *buf, size_t len, struct json_object **out, struct error *err)
{
	struct json_tokener *tok;
	struct json_object *obj;
	enum json_tokener_error jerr;
	size_t end;

	*out = NULL;
	if (len > INT_MAX)
		return error_set(err, ERR_BAD_JSON, EINVAL, "invalid JSON: document too large");
	/* JSON text is UTF-8: a string the gcs could not echo as UTF-8 is
	 * refused here (Go's encoder never sends one). json-c's own check
	 * lets overlong forms through. */
	end = utf8_valid_prefix(buf, len);
	if (end < len)
		return error_set(err, ERR_BAD_JSON, EINVAL,
				 "invalid JSON at offset %zu: invalid utf-8 string", end);
	if (count_values(buf, len) > CODEC_MAX_VALUES)
		return error_set(err, ERR_BAD_JSON, E2BIG,
				 "invalid JSON: more than %u values in one message (an object "
				 "counts %u)",
				 CODEC_MAX_VALUES, CODEC_OBJECT_COST);
	tok = json_tokener_new_ex(CODEC_MAX_DEPTH);
	if (!tok)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	/* Strict: no trailing commas, comments or junk after the value. */
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	obj = json_tokener_parse_ex(tok, buf, (int)len);
	jerr = json_tokener_get_error(tok);
	end = json_tokener_get_parse_end(tok);
	json_tokener_free(tok);
	if (!obj || jerr != json_tokener_success) {
		json_object_put(obj);
		if (jerr == json_tokener_continue)
			return error_set(err, ERR_BAD_JSON, EINVAL,
					 "invalid JSON: unexpected end of input");
		return error_set(err, ERR_BAD_JSON, EINVAL, "invalid JSON at offset %zu: %s", end,
				 json_tokener_error_desc(jerr));
	}
	for (; end < len; end++) {
		if (!strchr(" \t\r\n", buf[end]) || buf[end] == '\0') {
			json_object_put(obj);
			return error_set(err, ERR_BAD_JSON, EINVAL,
					 "invalid JSON: unexpected data at offset %zu", end);
		}
	}
	if (!json_object_is_type(obj, json_type_object)) {
		int rc = error_set(err, ERR_BAD_JSON, EINVAL,
				   "invalid JSON: expected an object, got %s",
				   json_type_to_name(json_object_get_type(obj)));

		json_object_put(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

struct json_object *codec_json_tree(const Gcs__Json *j)
{
	if (!j)
		return NULL;
	return ((const struct codec_json *)((const char *)j - offsetof(struct codec_json, msg)))
		->tree;
}

static void put_tree(void *p)
{
	json_object_put(p);
}

Gcs__Json *codec_json_wrap(struct arena *a, struct json_object *tree)
{
	struct codec_json *cj = arena_alloc(a, sizeof(*cj));

	if (!cj)
		return NULL;
	gcs__json__init(&cj->msg);
	if (tree && arena_defer(a, put_tree, json_object_get(tree)) < 0)
		return NULL;
	cj->tree = tree;
	return &cj->msg;
}

/* ------------------------------------------------------------------------ */
/* Decoding */

struct decoder {
	struct arena *arena;
	struct path path;
	struct error *err;
};

static int decode_message(struct decoder *d, const ProtobufCMessageDescriptor *desc,
			  struct json_object *obj, ProtobufCMessage **out);

static const ProtobufCFieldDescriptor *find_field(const ProtobufCMessageDescriptor *desc,
						  const char *key)
{
	const ProtobufCFieldDescriptor *f =
		protobuf_c_message_descriptor_get_field_by_name(desc, key);

	if (f)
		return f;
	/* Go's encoding/json falls back to a case-insensitive match. */
	for (unsigned i = 0; i < desc->n_fields; i++)
		if (strcasecmp(desc->fields[i].name, key) == 0)
			return &desc->fields[i];
	return NULL;
}

static int nomem(struct decoder *d)
{
	return error_set(d->err, ERR_FAIL, ENOMEM, "out of memory decoding %s", path_str(&d->path));
}

/* Integers must be JSON integers within the field's range (as in Go; a
 * fraction or exponent is a type error). json-c saturates values beyond 64
 * bits, which are then only caught for narrower fields. */
static int get_signed(struct decoder *d, struct json_object *v, int64_t lo, int64_t hi,
		      int64_t *out)
{
	int64_t x;

	if (!json_object_is_type(v, json_type_int))
		return bad(d->err, &d->path, "expected an integer", v);
	x = json_object_get_int64(v);
	if (x == INT64_MAX && json_object_get_uint64(v) > (uint64_t)INT64_MAX)
		return bad(d->err, &d->path, "integer out of range", v);
	if (x < lo || x > hi)
		return bad(d->err, &d->path, "integer out of range", v);
	*out = x;
	return 0;
}

static int get_unsigned(struct decoder *d, struct json_object *v, uint64_t hi, uint64_t *out)
{
	uint64_t x;

	if (!json_object_is_type(v, json_type_int))
		return bad(d->err, &d->path, "expected an integer", v);
	if (json_object_get_int64(v) < 0)
		return bad(d->err, &d->path, "integer out of range", v);
	x = json_object_get_uint64(v);
	if (x > hi)
		return bad(d->err, &d->path, "integer out of range", v);
	*out = x;
	return 0;
}

static int decode_string(struct decoder *d, struct json_object *v, char **out)
{
	const char *s;
	int len;

	if (!json_object_is_type(v, json_type_string))
		return bad(d->err, &d->path, "expected a string", v);
	s = json_object_get_string(v);
	len = json_object_get_string_len(v);
	if (memchr(s, '\0', (size_t)len))
		return error_set(d->err, ERR_INVALID_ARG, EINVAL,
				 "%s: string contains a NUL character", path_str(&d->path));
	*out = arena_strndup(d->arena, s, (size_t)len);
	return *out ? 0 : nomem(d);
}

/* A JSON string holding a JSON document; "" means absent. */
static int decode_wrapped(struct decoder *d, const ProtobufCMessageDescriptor *desc,
			  struct json_object *v, ProtobufCMessage **out)
{
	struct json_object *inner;
	int rc;

	*out = NULL;
	if (!json_object_is_type(v, json_type_string))
		return bad(d->err, &d->path, "expected a string holding JSON", v);
	if (json_object_get_string_len(v) == 0)
		return 0;
	rc = codec_parse(json_object_get_string(v), (size_t)json_object_get_string_len(v), &inner,
			 d->err);
	if (rc < 0)
		return error_prefix(d->err, "%s", path_str(&d->path));
	if (arena_defer(d->arena, put_tree, inner) < 0)
		return nomem(d);
	return decode_message(d, desc, inner, out);
}

static int decode_submessage(struct decoder *d, const ProtobufCMessageDescriptor *parent,
			     const ProtobufCFieldDescriptor *f, struct json_object *v,
			     ProtobufCMessage **out)
{
	const ProtobufCMessageDescriptor *desc = f->descriptor;

	if (codec_wire_is_json(desc)) {
		*out = (ProtobufCMessage *)codec_json_wrap(d->arena, v);
		return *out ? 0 : nomem(d);
	}
	if (codec_wire_string_wrapped(parent, f))
		return decode_wrapped(d, desc, v, out);
	return decode_message(d, desc, v, out);
}

/* Decodes one JSON value into the storage of one (non-repeated) field. */
static int decode_value(struct decoder *d, const ProtobufCMessageDescriptor *parent,
			const ProtobufCFieldDescriptor *f, struct json_object *v, void *dst)
{
	int64_t s;
	uint64_t u;
	int rc = 0;

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		rc = get_signed(d, v, INT32_MIN, INT32_MAX, &s);
		if (rc == 0)
			*(int32_t *)dst = (int32_t)s;
		break;
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		rc = get_unsigned(d, v, UINT32_MAX, &u);
		if (rc == 0)
			*(uint32_t *)dst = (uint32_t)u;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		rc = get_signed(d, v, INT64_MIN, INT64_MAX, &s);
		if (rc == 0)
			*(int64_t *)dst = s;
		break;
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		rc = get_unsigned(d, v, UINT64_MAX, &u);
		if (rc == 0)
			*(uint64_t *)dst = u;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		if (!json_object_is_type(v, json_type_boolean))
			return bad(d->err, &d->path, "expected a boolean", v);
		*(protobuf_c_boolean *)dst = json_object_get_boolean(v);
		break;
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (!json_object_is_type(v, json_type_double) &&
		    !json_object_is_type(v, json_type_int))
			return bad(d->err, &d->path, "expected a number", v);
		if (f->type == PROTOBUF_C_TYPE_FLOAT)
			*(float *)dst = (float)json_object_get_double(v);
		else
			*(double *)dst = json_object_get_double(v);
		break;
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev = NULL;

		if (json_object_is_type(v, json_type_string))
			ev = protobuf_c_enum_descriptor_get_value_by_name(
				f->descriptor, json_object_get_string(v));
		if (!ev)
			return bad(d->err, &d->path, "expected a known name", v);
		*(int *)dst = ev->value;
		break;
	}
	case PROTOBUF_C_TYPE_STRING:
		return decode_string(d, v, dst);
	case PROTOBUF_C_TYPE_MESSAGE:
		return decode_submessage(d, parent, f, v, dst);
	case PROTOBUF_C_TYPE_BYTES:
	default:
		return error_set(d->err, ERR_FAIL, ENOTSUP, "%s: field type %d not supported",
				 path_str(&d->path), f->type);
	}
	return rc;
}

static size_t field_size(const ProtobufCFieldDescriptor *f)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
	case PROTOBUF_C_TYPE_ENUM:
		return 4;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	default:
		return sizeof(void *);
	}
}

/* protoc-c turns map<K,V> into a repeated nested "<Field>Entry" message with
 * fields key (1) and value (2); on the wire it is a JSON object. */
static bool is_map(const ProtobufCFieldDescriptor *f)
{
	const ProtobufCMessageDescriptor *e = f->descriptor;
	size_t n = strlen(f->name);

	return f->label == PROTOBUF_C_LABEL_REPEATED && f->type == PROTOBUF_C_TYPE_MESSAGE &&
	       e->n_fields == 2 && strcmp(e->fields[0].name, "key") == 0 &&
	       strcmp(e->fields[1].name, "value") == 0 && strncmp(e->short_name, f->name, n) == 0 &&
	       strcmp(e->short_name + n, "Entry") == 0;
}

static int decode_map(struct decoder *d, const ProtobufCMessageDescriptor *parent,
		      const ProtobufCFieldDescriptor *f, struct json_object *v, void ***items,
		      size_t *n)
{
	const ProtobufCMessageDescriptor *e = f->descriptor;
	const ProtobufCFieldDescriptor *kf = &e->fields[0], *vf = &e->fields[1];
	size_t count = (size_t)json_object_object_length(v), i = 0;

	*items = arena_alloc(d->arena, count * sizeof(void *) + 1);
	if (!*items)
		return nomem(d);
	json_object_object_foreach (v, key, val) {
		ProtobufCMessage *entry = arena_alloc(d->arena, e->sizeof_message);
		size_t old;

		if (!entry)
			return nomem(d);
		e->message_init(entry);
		*(char **)((char *)entry + kf->offset) = arena_strdup(d->arena, key);
		if (!*(char **)((char *)entry + kf->offset))
			return nomem(d);
		old = path_push(&d->path, key, 0);
		if (val) {
			int rc = decode_value(d, parent, vf, val, (char *)entry + vf->offset);

			if (rc < 0)
				return rc;
		}
		path_pop(&d->path, old);
		(*items)[i++] = entry;
	}
	*n = i;
	return 0;
}

static int decode_repeated(struct decoder *d, const ProtobufCMessageDescriptor *parent,
			   const ProtobufCFieldDescriptor *f, struct json_object *v, void *msg)
{
	size_t *n = (size_t *)((char *)msg + f->quantifier_offset);
	void **arr = (void **)((char *)msg + f->offset);
	size_t len, sz = field_size(f);
	char *items;

	if (is_map(f)) {
		if (!json_object_is_type(v, json_type_object))
			return bad(d->err, &d->path, "expected an object", v);
		return decode_map(d, parent, f, v, (void ***)arr, n);
	}
	if (!json_object_is_type(v, json_type_array))
		return bad(d->err, &d->path, "expected an array", v);
	len = json_object_array_length(v);
	items = arena_alloc(d->arena, len * sz + 1);
	if (!items)
		return nomem(d);
	for (size_t i = 0; i < len; i++) {
		struct json_object *el = json_object_array_get_idx(v, i);
		size_t old = path_push(&d->path, NULL, i);
		int rc = 0;

		if (el)
			rc = decode_value(d, parent, f, el, items + i * sz);
		else if (f->type == PROTOBUF_C_TYPE_STRING)
			*(char **)(items + i * sz) = (char *)protobuf_c_empty_string;
		else if (f->type == PROTOBUF_C_TYPE_MESSAGE)
			rc = decode_message(d, f->descriptor, NULL,
					    (ProtobufCMessage **)(items + i * sz));
		if (rc < 0)
			return rc;
		path_pop(&d->path, old);
	}
	*n = len;
	*arr = items;
	return 0;
}

static int decode_field(struct decoder *d, const ProtobufCMessageDescriptor *desc,
			const ProtobufCFieldDescriptor *f, struct json_object *v, void *msg)
{
	size_t old;
	int rc;

	if (!v) /* null: Go leaves the zero value */
		return 0;
	old = path_push(&d->path, f->name, 0);
	if (f->label == PROTOBUF_C_LABEL_REPEATED)
		rc = decode_repeated(d, desc, f, v, msg);
	else
		rc = decode_value(d, desc, f, v, (char *)msg + f->offset);
	if (rc < 0)
		return rc;
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)
		*(uint32_t *)((char *)msg + f->quantifier_offset) = f->id;
	path_pop(&d->path, old);
	return 0;
}

/* The polymorphic key: decoded into the oneof member named by the
 * discriminator's value (codec_wire.c). */
static int decode_polymorphic(struct decoder *d, const ProtobufCMessageDescriptor *desc,
			      const char *disc_name, struct json_object *v, void *msg)
{
	const ProtobufCFieldDescriptor *disc =
		protobuf_c_message_descriptor_get_field_by_name(desc, disc_name);
	const ProtobufCFieldDescriptor *f;
	const char *value = disc ? *(char **)((char *)msg + disc->offset) : NULL;

	if (!value)
		value = "";
	f = protobuf_c_message_descriptor_get_field_by_name(desc, value);
	if (!f || !(f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) || f->type != PROTOBUF_C_TYPE_MESSAGE)
		return error_set(d->err, ERR_FAIL, EINVAL, "invalid %s '%s'", disc_name, value);
	return decode_field(d, desc, f, v, msg);
}

static int decode_message(struct decoder *d, const ProtobufCMessageDescriptor *desc,
			  struct json_object *obj, ProtobufCMessage **out)
{
	const char *disc = NULL, *poly = codec_wire_polymorphic(desc, &disc);
	struct json_object *poly_value = NULL;
	ProtobufCMessage *msg;
	int rc;

	*out = NULL;
	if (obj && !json_object_is_type(obj, json_type_object))
		return bad(d->err, &d->path, "expected an object", obj);
	msg = arena_alloc(d->arena, desc->sizeof_message);
	if (!msg)
		return nomem(d);
	desc->message_init(msg);
	if (obj) {
		json_object_object_foreach (obj, key, val) {
			const ProtobufCFieldDescriptor *f;

			if (poly && strcasecmp(key, poly) == 0) {
				poly_value = val;
				continue;
			}
			f = find_field(desc, key);
			if (!f || (poly && (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF)))
				continue; /* unknown keys are ignored */
			rc = decode_field(d, desc, f, val, msg);
			if (rc < 0)
				return rc;
		}
	}
	if (poly) {
		rc = decode_polymorphic(d, desc, disc, poly_value, msg);
		if (rc < 0)
			return rc;
	}
	*out = msg;
	return 0;
}

int codec_decode(const ProtobufCMessageDescriptor *desc, struct json_object *obj, struct arena *a,
		 ProtobufCMessage **out, struct error *err)
{
	struct decoder d = {.arena = a, .err = err};

	return decode_message(&d, desc, obj, out);
}

/* ------------------------------------------------------------------------ */
/* Encoding */

static int encode_oom(struct error *err)
{
	return error_set(err, ERR_FAIL, ENOMEM, "out of memory encoding a message");
}

static struct json_object *encode_value(const ProtobufCMessageDescriptor *parent,
					const ProtobufCFieldDescriptor *f, const void *src,
					struct error *err);

static struct json_object *encode_object(const ProtobufCMessage *msg, struct error *err)
{
	struct json_object *obj = json_object_new_object();

	if (!obj)
		return NULL;
	if (msg && codec_encode(msg, obj, err) < 0) {
		json_object_put(obj);
		return NULL;
	}
	return obj;
}

static struct json_object *encode_submessage(const ProtobufCMessageDescriptor *parent,
					     const ProtobufCFieldDescriptor *f,
					     const ProtobufCMessage *msg, struct error *err)
{
	struct json_object *obj, *str;

	if (codec_wire_is_json(f->descriptor))
		return json_object_get(codec_json_tree((const Gcs__Json *)msg));
	obj = encode_object(msg, err);
	if (!obj || !codec_wire_string_wrapped(parent, f))
		return obj;
	str = json_object_new_string(json_object_to_json_string_ext(obj, CODEC_JSON_FLAGS));
	json_object_put(obj);
	return str;
}

static struct json_object *encode_value(const ProtobufCMessageDescriptor *parent,
					const ProtobufCFieldDescriptor *f, const void *src,
					struct error *err)
{
	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_SINT32:
	case PROTOBUF_C_TYPE_SFIXED32:
		return json_object_new_int64(*(const int32_t *)src);
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_FIXED32:
		return json_object_new_int64(*(const uint32_t *)src);
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
		return json_object_new_int64(*(const int64_t *)src);
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
		return json_object_new_uint64(*(const uint64_t *)src);
	case PROTOBUF_C_TYPE_BOOL:
		return json_object_new_boolean(*(const protobuf_c_boolean *)src);
	case PROTOBUF_C_TYPE_FLOAT:
		return json_object_new_double(*(const float *)src);
	case PROTOBUF_C_TYPE_DOUBLE:
		return json_object_new_double(*(const double *)src);
	case PROTOBUF_C_TYPE_ENUM: {
		const ProtobufCEnumValue *ev =
			protobuf_c_enum_descriptor_get_value(f->descriptor, *(const int *)src);

		return ev ? json_object_new_string(ev->name)
			  : json_object_new_int(*(const int *)src);
	}
	case PROTOBUF_C_TYPE_STRING: {
		const char *s = *(char *const *)src;

		return json_object_new_string(s ? s : "");
	}
	case PROTOBUF_C_TYPE_MESSAGE:
		return encode_submessage(parent, f, *(ProtobufCMessage *const *)src, err);
	default:
		return NULL;
	}
}

/* proto3 JSON mapping: zero values are omitted unless codec_wire.c says the
 * field is always written. */
static bool is_zero(const ProtobufCFieldDescriptor *f, const void *src)
{
	if (f->type == PROTOBUF_C_TYPE_STRING) {
		const char *s = *(char *const *)src;

		return !s || !*s;
	}
	if (f->type == PROTOBUF_C_TYPE_MESSAGE)
		return *(void *const *)src == NULL;
	switch (field_size(f)) {
	case 8:
		return *(const uint64_t *)src == 0;
	case 4:
		return *(const uint32_t *)src == 0;
	default:
		return *(const protobuf_c_boolean *)src == 0;
	}
}

static struct json_object *encode_map(const ProtobufCFieldDescriptor *f, void *const *items,
				      size_t n)
{
	const ProtobufCMessageDescriptor *e = f->descriptor;
	struct json_object *obj = json_object_new_object();

	for (size_t i = 0; obj && i < n; i++) {
		const char *const *kv =
			(const char *const *)((const char *)items[i] + e->fields[0].offset);
		const char *const *vv =
			(const char *const *)((const char *)items[i] + e->fields[1].offset);
		struct json_object *val = json_object_new_string(*vv ? *vv : "");

		if (!val || json_object_object_add(obj, *kv ? *kv : "", val) < 0) {
			json_object_put(val);
			json_object_put(obj);
			return NULL;
		}
	}
	return obj;
}

static struct json_object *encode_repeated(const ProtobufCMessageDescriptor *parent,
					   const ProtobufCFieldDescriptor *f, const void *msg,
					   struct error *err)
{
	size_t n = *(const size_t *)((const char *)msg + f->quantifier_offset);
	const char *items = *(char *const *)((const char *)msg + f->offset);
	size_t sz = field_size(f);
	struct json_object *arr;

	if (is_map(f))
		return encode_map(f, (void *const *)items, n);
	arr = json_object_new_array_ext((int)n);
	for (size_t i = 0; arr && i < n; i++) {
		struct json_object *el = encode_value(parent, f, items + i * sz, err);

		if (!el || json_object_array_add(arr, el) < 0) {
			json_object_put(el);
			json_object_put(arr);
			return NULL;
		}
	}
	return arr;
}

/* An always-written submessage that is absent is written as its zero value,
 * with the fields codec_wire.c always writes in it: the same bytes as an
 * empty one, so that what the guest writes reads back the same way. */
static struct json_object *encode_absent(const ProtobufCMessageDescriptor *parent,
					 const ProtobufCFieldDescriptor *f, struct error *err)
{
	const ProtobufCMessageDescriptor *d = f->descriptor;
	ProtobufCMessage *zero = calloc(1, d->sizeof_message);
	struct json_object *v;

	if (!zero)
		return NULL;
	protobuf_c_message_init(d, zero);
	v = encode_submessage(parent, f, zero, err);
	free(zero);
	return v;
}

int codec_encode(const ProtobufCMessage *msg, struct json_object *into, struct error *err)
{
	const ProtobufCMessageDescriptor *desc = msg->descriptor;

	for (unsigned i = 0; i < desc->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &desc->fields[i];
		const void *src = (const char *)msg + f->offset;
		bool always = codec_wire_always_emit(desc, f);
		struct json_object *v;

		if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
			if (*(const uint32_t *)((const char *)msg + f->quantifier_offset) != f->id)
				continue;
		} else if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			if (*(const size_t *)((const char *)msg + f->quantifier_offset) == 0)
				continue;
		} else if (!always && is_zero(f, src)) {
			continue;
		}
		if (f->label == PROTOBUF_C_LABEL_REPEATED)
			v = encode_repeated(desc, f, msg, err);
		else if (f->type == PROTOBUF_C_TYPE_MESSAGE && !*(void *const *)src)
			v = codec_wire_is_json(f->descriptor) ? NULL : encode_absent(desc, f, err);
		else
			v = encode_value(desc, f, src, err);
		if (!v &&
		    !(f->type == PROTOBUF_C_TYPE_MESSAGE && codec_wire_is_json(f->descriptor)))
			return encode_oom(err);
		if (json_object_object_add(into, f->name, v) < 0) {
			json_object_put(v);
			return encode_oom(err);
		}
	}
	return 0;
}
