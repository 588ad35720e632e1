/* ModifySettings SecurityPolicy / SecurityPolicyFragment on the UVM (spec
 * §3.10.10): decode, hand to gcs/security/policy.c, reply. Every released
 * host from v0.11 to v0.14 sends an empty SecurityPolicy Add right after
 * negotiation (Settings `{}`: Go omits the empty fields), so this must
 * succeed for any container to run.
 *
 * Also the gate of -initial-policy-stance deny: until a policy is set, only
 * the policy requests themselves get through. */
#include <errno.h>
#include <string.h>

#include "bridge/handler.h"
#include "options.h"
#include "security/policy.h"

static const char *str_or_empty(const char *s)
{
	return s ? s : "";
}

static int modify_security_policy(struct request *req, const Gcs__ModificationRequest *mr,
				  struct error *err)
{
	const Gcs__ConfidentialOptions *o = NULL;
	struct security_policy_request r;

	if (strcmp(mr->requesttype, "Add") != 0)
		return error_set(err, ERR_INVALID_ARG, EINVAL,
				 "SecurityPolicy: request type %s is not supported (only Add)",
				 mr->requesttype);
	/* Absent Settings: the same as the empty policy. */
	if (mr->settings_case == GCS__MODIFICATION_REQUEST__SETTINGS_SECURITY_POLICY)
		o = mr->securitypolicy;
	r.enforcer = str_or_empty(o ? o->enforcertype : NULL);
	r.encoded_policy = str_or_empty(o ? o->encodedsecuritypolicy : NULL);
	r.uvm_reference = str_or_empty(o ? o->encodeduvmreference : NULL);
	r.hash_envelope_reference = str_or_empty(o ? o->encodeduvmhashenvelopereference : NULL);
	if (security_policy_set(&r, err) < 0)
		return -EINVAL;
	return request_reply(req, NULL);
}
MODIFY_HANDLER("SecurityPolicy", SCOPE_UVM, modify_security_policy)

static int modify_policy_fragment(struct request *req, const Gcs__ModificationRequest *mr,
				  struct error *err)
{
	return security_policy_add_fragment(err);
}
MODIFY_HANDLER("SecurityPolicyFragment", SCOPE_UVM, modify_policy_fragment)

static bool is_policy_request(const struct request *req)
{
	const Gcs__ContainerModifySettings *m = (const void *)req->msg;

	if (req->type != MSG_MODIFY_SETTINGS || !m->request)
		return false;
	return !strcmp(m->request->resourcetype, "SecurityPolicy") ||
	       !strcmp(m->request->resourcetype, "SecurityPolicyFragment");
}

/* DumpStacks stays open: it is how a user learns what the stance refuses. */
static int policy_gate(const struct request *req, struct error *err)
{
	if (is_policy_request(req) || req->type == MSG_DUMP_STACKS)
		return 0;
	return security_policy_check_open(wire_msg_name(req->type), err);
}
REQUEST_GATE(policy_gate)

static int policy_startup(struct gcs *g, struct error *err)
{
	security_policy_init(!strcmp(g->opts->initial_policy_stance, "deny"));
	return 0;
}
STARTUP_HOOK(policy_startup)

static void policy_describe(struct gcs *g, struct printbuf *pb)
{
	security_policy_describe(pb);
}
DUMP_SECTION(policy_describe)
