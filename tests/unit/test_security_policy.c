#include "unit.h"

#include <errno.h>

#include "core/base64.h"
#include "security/policy.h"

static char *b64(const char *s)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t n = strlen(s), o = 0;
	char *out = malloc(n / 3 * 4 + 5);

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;

		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		out[o++] = tab[v >> 18 & 63];
		out[o++] = tab[v >> 12 & 63];
		out[o++] = i + 1 < n ? tab[v >> 6 & 63] : '=';
		out[o++] = i + 2 < n ? tab[v & 63] : '=';
	}
	out[o] = 0;
	return out;
}

static void decodes(const char *in, const char *want, size_t want_n)
{
	char *out;
	size_t n;

	CHECK_OK(base64_decode(in, &out, &n));
	CHECK_EQ(n, want_n);
	CHECK(memcmp(out, want, n) == 0);
	CHECK_EQ(out[n], 0);
	free(out);
}

TEST(base64_round_trips_every_padding)
{
	decodes("", "", 0);
	decodes("Zg==", "f", 1);
	decodes("Zm8=", "fo", 2);
	decodes("Zm9v", "foo", 3);
	decodes("Zm9vYmFy", "foobar", 6);
	decodes("Zm9v\r\nYmFy", "foobar", 6);
	decodes("AP8A", "\0\xff\0", 3);
}

TEST(base64_rejects_what_go_rejects)
{
	const char *bad[] = {"Zg", "Zg=", "Z===", "Zg==Zg==", "Zm9v!", "Zm 9v", "Zg=a"};
	char *out;
	size_t n;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (base64_decode(bad[i], &out, &n) != -EINVAL)
			unit_fail(__FILE__, __LINE__, "accepted \"%s\"", bad[i]);
}

static int classify(const char *enforcer, const char *policy, enum security_policy_kind *kind,
		    struct error *e)
{
	struct security_policy_request r = {enforcer, policy, "", ""};
	char what[96];

	return security_policy_classify(&r, kind, what, sizeof(what), e);
}

TEST(empty_and_open_door_policies_enforce_nothing)
{
	char *allow = b64("{\"allow_all\":true,\"containers\":{\"length\":0,\"elements\":{}}}");
	const char *cases[][2] = {
		{"", ""},	 {"open_door", ""},   {"allow_all", ""},   {"", allow},
		{"rego", allow}, {"standard", allow}, {"open_door", allow}};
	enum security_policy_kind kind;
	struct error e;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		kind = POLICY_ENFORCING;
		if (classify(cases[i][0], cases[i][1], &kind, &e) < 0)
			unit_fail(__FILE__, __LINE__, "case %zu: %s", i, e.msg);
		CHECK_EQ(kind, POLICY_OPEN_DOOR);
	}
	free(allow);
}

TEST(real_policies_are_recognised_as_enforcing)
{
	char *rego = b64("package policy\napi_version := \"0.10.0\"\nmount_device := {\"allowed\": "
			 "true}\n");
	char *json =
		b64("{\"allow_all\":false,\"containers\":{\"length\":1,\"elements\":{\"0\":{}}}}");
	enum security_policy_kind kind;
	struct error e;

	CHECK_OK(classify("rego", rego, &kind, &e));
	CHECK_EQ(kind, POLICY_ENFORCING);
	CHECK_OK(classify("", rego, &kind, &e));
	CHECK_EQ(kind, POLICY_ENFORCING);
	CHECK_OK(classify("standard", json, &kind, &e));
	CHECK_EQ(kind, POLICY_ENFORCING);
	free(rego);
	free(json);
}

TEST(bad_policies_are_errors)
{
	char *both =
		b64("{\"allow_all\":true,\"containers\":{\"length\":1,\"elements\":{\"0\":{}}}}");
	char *rego = b64("package policy\n");
	enum security_policy_kind kind;
	struct error e;

	CHECK_EQ(classify("magic", "", &kind, &e), -EINVAL);
	CHECK(strstr(e.msg, "unknown enforcer \"magic\""));
	CHECK_EQ(classify("rego", "", &kind, &e), -EINVAL);
	CHECK_EQ(classify("", "not base64!", &kind, &e), -EINVAL);
	CHECK(strstr(e.msg, "base64"));
	CHECK_EQ(classify("", both, &kind, &e), -EINVAL);
	CHECK(strstr(e.msg, "allow_all"));
	CHECK_EQ(classify("open_door", rego, &kind, &e), -EINVAL);
	free(both);
	free(rego);
}

TEST(set_once_then_already_set)
{
	struct security_policy_request r = {"", "", "cmVmZXJlbmNl", ""};
	struct error e;

	security_policy_reset();
	CHECK_OK(security_policy_set(&r, &e));
	CHECK_EQ(security_policy_set(&r, &e), -EEXIST);
	CHECK_STREQ(e.msg, "security policy has already been set");
	security_policy_reset();
}

TEST(a_refused_policy_leaves_the_policy_unset)
{
	char *rego = b64("package policy\n");
	struct security_policy_request real = {"rego", rego, "", ""}, empty = {"", "", "", ""};
	struct error e;

	security_policy_reset();
	CHECK(security_policy_set(&real, &e) < 0);
	CHECK(strstr(e.msg, "does not enforce security policies"));
	CHECK_OK(security_policy_set(&empty, &e));
	security_policy_reset();
	free(rego);
}

TEST(deny_stance_closes_the_door_until_a_policy_is_set)
{
	struct security_policy_request empty = {"", "", "", ""};
	struct error e;

	security_policy_reset();
	CHECK_OK(security_policy_check_open("Create", &e));
	security_policy_init(true);
	CHECK_EQ(security_policy_check_open("Create", &e), -EACCES);
	CHECK(strstr(e.msg, "Create denied"));
	CHECK_OK(security_policy_set(&empty, &e));
	CHECK_OK(security_policy_check_open("Create", &e));
	security_policy_reset();
}
