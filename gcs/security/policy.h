/* Security policy (spec §3.10.10). This guest enforces none: it accepts what
 * means "enforce nothing" (the empty or open-door policy every released
 * host sends at UVM start) and refuses every real policy with a clear error,
 * so that nothing is ever accepted and then silently not enforced.
 *
 * With -initial-policy-stance deny the door is closed until a policy has
 * been set, as in the reference: every request except the policy itself is
 * refused. One state for the whole gcs, used on the loop thread only. */
#ifndef GCS_SECURITY_POLICY_H
#define GCS_SECURITY_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/printbuf.h>

#include "error.h"

/* What the host sent, as strings ("" when absent). */
struct security_policy_request {
	const char *enforcer;
	const char *encoded_policy;	     /* base64 JSON or Rego */
	const char *uvm_reference;	     /* base64, kept for diagnostics */
	const char *hash_envelope_reference; /* base64, kept for diagnostics */
};

enum security_policy_kind {
	POLICY_OPEN_DOOR, /* nothing to enforce */
	POLICY_ENFORCING, /* a policy that would restrict something */
};

/* What a request means, without changing any state. A real policy is not an
 * error here: *kind says POLICY_ENFORCING and what[] describes it. */
int security_policy_classify(const struct security_policy_request *r,
			     enum security_policy_kind *kind, char *what, size_t size,
			     struct error *err);

/* Called once at start-up: whether the door is closed until a policy is set. */
void security_policy_init(bool deny_until_set);

/* Sets the policy: success for an open-door policy (remembering the UVM
 * reference), an error for a second policy, a real one, or a bad one. */
int security_policy_set(const struct security_policy_request *r, struct error *err);

/* Fragments extend a real policy, which this guest never has. */
int security_policy_add_fragment(struct error *err);

/* 0, or an error when the initial stance is deny and no policy is set. */
int security_policy_check_open(const char *what, struct error *err);

void security_policy_describe(struct printbuf *pb);

/* Forgets everything (tests). */
void security_policy_reset(void);

#endif
