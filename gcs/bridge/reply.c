#include "bridge/reply.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "bridge/codec.h"
#include "bridge/framing.h"
#include "bridge/hresult.h"
#include "bridge/wire.h"
#include "core/utf8.h"

#define MAX_BODY (WIRE_MAX_GUEST_MESSAGE - WIRE_HEADER_SIZE)
#define CUT_MARK " [truncated]"

static int encode_body(const char *activity_id, uint32_t hresult, const char *errmsg,
		       const ProtobufCMessage *resp, struct json_object **out, struct error *err)
{
	Gcs__ResponseBase base = GCS__RESPONSE_BASE__INIT;
	Gcs__ErrorRecord rec = GCS__ERROR_RECORD__INIT, *recs[1] = {&rec};
	struct json_object *obj = json_object_new_object();
	int rc;

	if (!obj)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	base.result = (int32_t)hresult;
	base.activityid = (char *)activity_id;
	if (hresult != 0) {
		/* As the reference: the full text twice, one record with no
		 * stack ("FileName":"", "Line":4294967295). */
		base.errormessage = (char *)errmsg;
		rec.result = (int32_t)hresult;
		rec.message = (char *)errmsg;
		rec.modulename = "gcs";
		rec.filename = "";
		rec.line = UINT32_MAX;
		base.errorrecords = recs;
		base.n_errorrecords = 1;
	}
	rc = codec_encode(&base.base, obj, err);
	if (rc == 0 && hresult == 0 && resp)
		rc = codec_encode(resp, obj, err);
	if (rc < 0) {
		json_object_put(obj);
		return rc;
	}
	*out = obj;
	return 0;
}

/* Cuts s to at most n bytes on a UTF-8 character boundary. */
static size_t utf8_cut(const char *s, size_t n)
{
	while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
		n--;
	return n;
}

int reply_build(uint32_t request_type, uint64_t id, const char *activity_id, uint32_t hresult,
		const char *errmsg, const ProtobufCMessage *resp, uint8_t **out, size_t *len,
		struct error *err)
{
	char toolarge[128], *cut = NULL;
	size_t keep;
	int rc;

	if (hresult != 0 && !errmsg)
		errmsg = "";
	keep = errmsg ? strlen(errmsg) : 0;
	for (;;) {
		struct json_object *obj = NULL;
		const char *body;
		size_t n, excess;

		rc = encode_body(activity_id, hresult, cut ? cut : errmsg, resp, &obj, err);
		if (rc < 0)
			break;
		body = json_object_to_json_string_length(obj, CODEC_JSON_FLAGS, &n);
		if (n <= MAX_BODY) {
			*out = frame_encode(wire_response_type(request_type), id, body, n);
			*len = WIRE_HEADER_SIZE + n;
			if (*out)
				utf8_scrub((char *)*out + WIRE_HEADER_SIZE, n);
			json_object_put(obj);
			rc = *out ? 0 : error_set(err, ERR_FAIL, ENOMEM, "out of memory");
			break;
		}
		json_object_put(obj);
		free(cut);
		cut = NULL;
		if (hresult == 0) {
			/* Nothing to cut in a success response: say so instead. */
			snprintf(toolarge, sizeof(toolarge),
				 "response of %zu bytes exceeds the bridge limit of %u bytes",
				 n + WIRE_HEADER_SIZE, WIRE_MAX_GUEST_MESSAGE);
			hresult = HR_E_FAIL;
			errmsg = toolarge;
			keep = strlen(errmsg);
			continue;
		}
		if (keep == 0) {
			rc = error_set(err, ERR_FAIL, EMSGSIZE,
				       "response cannot fit the bridge limit");
			break;
		}
		/* Shrink the text in proportion (it is written twice, escaped
		 * bytes take up to six): a few rounds converge. */
		excess = (size_t)((unsigned long long)keep * (MAX_BODY - 256) / n);
		keep = utf8_cut(errmsg, excess < keep ? excess : keep - 1);
		cut = malloc(keep + sizeof(CUT_MARK));
		if (!cut) {
			rc = error_set(err, ERR_FAIL, ENOMEM, "out of memory");
			break;
		}
		memcpy(cut, errmsg, keep);
		memcpy(cut + keep, CUT_MARK, sizeof(CUT_MARK));
	}
	free(cut);
	return rc;
}

int notification_build(const Gcs__ContainerNotification *n, uint8_t **out, size_t *len,
		       struct error *err)
{
	struct json_object *obj = json_object_new_object();
	const char *body;
	size_t blen;
	int rc;

	if (!obj)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	rc = codec_encode(&n->base, obj, err);
	if (rc < 0)
		goto out;
	body = json_object_to_json_string_length(obj, CODEC_JSON_FLAGS, &blen);
	if (blen > MAX_BODY) {
		rc = error_set(err, ERR_FAIL, EMSGSIZE,
			       "notification of %zu bytes exceeds the bridge limit", blen);
		goto out;
	}
	*out = frame_encode(MSG_CONTAINER_NOTIFICATION, 0, body, blen);
	if (*out)
		utf8_scrub((char *)*out + WIRE_HEADER_SIZE, blen);
	*len = WIRE_HEADER_SIZE + blen;
	rc = *out ? 0 : error_set(err, ERR_FAIL, ENOMEM, "out of memory");
out:
	json_object_put(obj);
	return rc;
}
