#include "security/policy.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "core/base64.h"
#include "cleanup.h"
#include "core/log.h"

/* A reference longer than this is logged by its size and start only. */
#define REFERENCE_LOG_MAX 4096
#define REFERENCE_DUMP_MAX 8192

static struct {
	bool deny_until_set;
	bool set;
	char *uvm_reference;
	char *hash_envelope_reference;
} state;

/* Enforcer names the reference knows; "allow_all" is what some tooling
 * calls the open door. "" picks the default (open door without a policy). */
static bool enforcer_is_open_door(const char *e)
{
	return !*e || !strcmp(e, "open_door") || !strcmp(e, "allow_all");
}

static bool enforcer_known(const char *e)
{
	return enforcer_is_open_door(e) || !strcmp(e, "standard") || !strcmp(e, "rego");
}

/* An open-door JSON policy: allow_all true and no containers (the
 * reference's rule: both at once is an invalid policy). 1 open door,
 * 0 a restricting policy, <0 invalid. */
static int json_open_door(struct json_object *p, size_t *n_containers, struct error *err)
{
	struct json_object *o, *c;
	bool allow_all = false;

	*n_containers = 0;
	if (json_object_object_get_ex(p, "allow_all", &o))
		allow_all = json_object_get_boolean(o);
	if (json_object_object_get_ex(p, "containers", &c)) {
		if (json_object_object_get_ex(c, "length", &o))
			*n_containers = (size_t)json_object_get_int64(o);
		if (json_object_object_get_ex(c, "elements", &o) &&
		    json_object_is_type(o, json_type_object) &&
		    (size_t)json_object_object_length(o) > *n_containers)
			*n_containers = (size_t)json_object_object_length(o);
	}
	if (allow_all && *n_containers)
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "invalid security policy: allow_all cannot be true when "
				 "containers are listed");
	return allow_all;
}

static int classify_encoded(const struct security_policy_request *r,
			    enum security_policy_kind *kind, char *what, size_t size,
			    struct error *err)
{
	_cleanup_free_ char *raw = NULL;
	struct json_object *p;
	size_t n, containers;
	int rc;

	rc = base64_decode(r->encoded_policy, &raw, &n);
	if (rc == -ENOMEM)
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	if (rc < 0)
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "EncodedSecurityPolicy is not valid base64");
	p = json_tokener_parse(raw);
	if (!p || !json_object_is_type(p, json_type_object)) {
		json_object_put(p);
		if (!strcmp(r->enforcer, "open_door") || !strcmp(r->enforcer, "allow_all"))
			return error_set(err, ERR_INVALID_ARG, EINVAL,
					 "enforcer \"%s\" needs a JSON allow_all policy",
					 r->enforcer);
		*kind = POLICY_ENFORCING;
		snprintf(what, size, "a Rego policy (%zu bytes)", n);
		return 0;
	}
	rc = json_open_door(p, &containers, err);
	json_object_put(p);
	if (rc < 0)
		return rc;
	if (rc > 0) {
		*kind = POLICY_OPEN_DOOR;
		snprintf(what, size, "an allow_all policy");
		return 0;
	}
	if (!strcmp(r->enforcer, "open_door") || !strcmp(r->enforcer, "allow_all"))
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "enforcer \"%s\" needs a JSON allow_all policy", r->enforcer);
	*kind = POLICY_ENFORCING;
	snprintf(what, size, "a JSON policy listing %zu container(s)", containers);
	return 0;
}

int security_policy_classify(const struct security_policy_request *r,
			     enum security_policy_kind *kind, char *what, size_t size,
			     struct error *err)
{
	if (!enforcer_known(r->enforcer))
		return error_set(err, ERR_INVALID_ARG, EINVAL, "unknown enforcer \"%s\"",
				 r->enforcer);
	if (*r->encoded_policy)
		return classify_encoded(r, kind, what, size, err);
	if (!enforcer_is_open_door(r->enforcer))
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "enforcer \"%s\" was given without a policy", r->enforcer);
	*kind = POLICY_OPEN_DOOR;
	snprintf(what, size, "an empty policy");
	return 0;
}

void security_policy_init(bool deny_until_set)
{
	state.deny_until_set = deny_until_set;
	if (deny_until_set)
		log_warn("-initial-policy-stance deny: every request but SecurityPolicy is "
			 "refused until the host sets a policy; this guest enforces no policy "
			 "itself, so only an empty or open-door policy will be accepted");
}

static int keep(char **slot, const char *value, struct error *err)
{
	free(*slot);
	*slot = NULL;
	if (!*value)
		return 0;
	*slot = strdup(value);
	return *slot ? 0 : error_set(err, ERR_FAIL, ENOMEM, "out of memory");
}

static void log_reference(const char *name, const char *value)
{
	size_t n = value ? strlen(value) : 0;

	if (!n)
		return;
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_STR("name", name), LOG_UINT("size", n),
			      LOG_STR("value", n <= REFERENCE_LOG_MAX ? value : "(too long)")),
		   "security policy: UVM reference kept");
}

int security_policy_set(const struct security_policy_request *r, struct error *err)
{
	enum security_policy_kind kind;
	char what[96];
	int rc;

	if (state.set)
		return error_set(err, ERR_FAIL, EEXIST, "security policy has already been set");
	rc = security_policy_classify(r, &kind, what, sizeof(what), err);
	if (rc < 0)
		return error_prefix(err, "security policy");
	if (kind == POLICY_ENFORCING)
		return error_set(err, ERR_NOT_IMPLEMENTED, ENOTSUP,
				 "security policy: %s would have to be enforced, and this guest "
				 "does not enforce security policies (enforcer \"%s\"); refusing "
				 "it rather than running unrestricted",
				 what, r->enforcer);
	if (keep(&state.uvm_reference, r->uvm_reference, err) < 0 ||
	    keep(&state.hash_envelope_reference, r->hash_envelope_reference, err) < 0)
		return -ENOMEM;
	state.set = true;
	log_fields(LOG_INFO, LOG_FIELDS(LOG_STR("enforcer", r->enforcer), LOG_STR("policy", what)),
		   "security policy set: open door, nothing is enforced");
	log_reference("EncodedUVMReference", state.uvm_reference);
	log_reference("EncodedUVMHashEnvelopeReference", state.hash_envelope_reference);
	return 0;
}

int security_policy_add_fragment(struct error *err)
{
	return error_set(err, ERR_NOT_IMPLEMENTED, ENOTSUP,
			 "security policy fragments are not supported: this guest enforces no "
			 "security policy for a fragment to extend");
}

int security_policy_check_open(const char *what, struct error *err)
{
	if (!state.deny_until_set || state.set)
		return 0;
	return error_set(err, ERR_FAIL, EACCES,
			 "%s denied: -initial-policy-stance deny and no security policy has "
			 "been set yet",
			 what);
}

static void describe_reference(struct printbuf *pb, const char *name, const char *value)
{
	size_t n;

	if (!value)
		return;
	n = strlen(value);
	sprintbuf(pb, "  %s (%zu bytes): %.*s%s\n", name, n, REFERENCE_DUMP_MAX, value,
		  n > REFERENCE_DUMP_MAX ? "..." : "");
}

void security_policy_describe(struct printbuf *pb)
{
	sprintbuf(pb, "security policy: ");
	if (state.set)
		sprintbuf(pb, "set (open door): nothing is enforced\n");
	else if (state.deny_until_set)
		sprintbuf(pb, "none yet, initial stance deny: every request but SecurityPolicy "
			      "is refused; only an empty or open-door policy can be set\n");
	else
		sprintbuf(pb, "none yet, initial stance allow: nothing is enforced\n");
	describe_reference(pb, "UVM reference", state.uvm_reference);
	describe_reference(pb, "UVM hash envelope reference", state.hash_envelope_reference);
}

void security_policy_reset(void)
{
	free(state.uvm_reference);
	free(state.hash_envelope_reference);
	memset(&state, 0, sizeof(state));
}
