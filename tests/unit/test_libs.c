/* Proves that each chosen library links statically (musl flavour) and works:
 * protobuf-c, json-c, libseccomp, libcap, libext2fs. */
#include "unit.h"

#include <errno.h>
#include <seccomp.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <json-c/json.h>

#include "gcs.pb-c.h"
#include "storage/ext4_format.h"

TEST(protobuf_pack_unpack)
{
	Gcs__NegotiateProtocolRequest in = GCS__NEGOTIATE_PROTOCOL_REQUEST__INIT, *out;
	uint8_t buf[128];
	size_t len;

	in.containerid = "c1";
	in.minimumversion = 4;
	in.maximumversion = 4;
	len = gcs__negotiate_protocol_request__pack(&in, buf);
	CHECK(len > 0 && len <= sizeof(buf));
	out = gcs__negotiate_protocol_request__unpack(NULL, len, buf);
	CHECK(out != NULL);
	CHECK_STREQ(out->containerid, "c1");
	CHECK_EQ(out->maximumversion, 4);
	gcs__negotiate_protocol_request__free_unpacked(out, NULL);
}

TEST(json_uint64_round_trip)
{
	/* RLIMIT_INFINITY must reach runc's config.json unchanged. */
	const char *in = "{\"hard\":18446744073709551615,\"path\":\"/a/b\"}";
	struct json_object *o = json_tokener_parse(in), *hard;

	CHECK(o != NULL);
	CHECK(json_object_object_get_ex(o, "hard", &hard));
	CHECK_EQ(json_object_get_type(hard), json_type_int);
	CHECK(json_object_get_uint64(hard) == UINT64_MAX);
	CHECK_STREQ(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							      JSON_C_TO_STRING_NOSLASHESCAPE),
		    in);
	json_object_put(o);
}

static int child_status(pid_t pid)
{
	int status;

	if (waitpid(pid, &status, 0) < 0)
		return -1;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

TEST(seccomp_filter_denies_in_child)
{
	pid_t pid = fork();

	CHECK(pid >= 0);
	if (pid == 0) {
		scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ALLOW);

		if (!ctx || seccomp_rule_add(ctx, SCMP_ACT_ERRNO(EPERM), SCMP_SYS(getcwd), 0) < 0 ||
		    seccomp_load(ctx) < 0)
			_exit(2);
		char buf[64];
		_exit(getcwd(buf, sizeof(buf)) == NULL && errno == EPERM ? 0 : 1);
	}
	CHECK_EQ(child_status(pid), 0);
}

TEST(libcap_parse_and_drop_in_child)
{
	pid_t pid;

	if (geteuid() != 0)
		SKIP("needs root to hold CAP_CHOWN");
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		/* Parse a capability text, then drop it from the current sets. */
		cap_value_t chown_cap;
		cap_t caps = cap_get_proc(), now;
		cap_flag_value_t v = CAP_SET;

		if (cap_from_name("cap_chown", &chown_cap) < 0 || chown_cap != CAP_CHOWN)
			_exit(2);
		if (!caps || cap_set_flag(caps, CAP_EFFECTIVE, 1, &chown_cap, CAP_CLEAR) < 0 ||
		    cap_set_flag(caps, CAP_PERMITTED, 1, &chown_cap, CAP_CLEAR) < 0 ||
		    cap_set_proc(caps) < 0)
			_exit(3);
		now = cap_get_proc();
		if (!now || cap_get_flag(now, CAP_CHOWN, CAP_PERMITTED, &v) < 0 || v != CAP_CLEAR)
			_exit(4);
		/* Without CAP_CHOWN, giving a file to another owner must fail. */
		char path[] = "/tmp/lcow-cap-XXXXXX";
		int fd = mkstemp(path);
		int rc = fd >= 0 && fchown(fd, 1, 1) < 0 && errno == EPERM ? 0 : 5;
		unlink(path);
		_exit(rc);
		_exit(0);
	}
	CHECK_EQ(child_status(pid), 0);
}

TEST(ext2fs_formats_ext4_that_e2fsck_accepts)
{
	char path[] = "/tmp/lcow-ext4-XXXXXX", cmd[256];
	struct error e;
	int fd = mkstemp(path), rc;

	CHECK(fd >= 0);
	CHECK(ftruncate(fd, 64 << 20) == 0);
	close(fd);
	rc = ext4_format(path, &e);
	if (rc < 0)
		unlink(path);
	if (rc < 0)
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	snprintf(cmd, sizeof(cmd), "e2fsck -fn %s >/dev/null 2>&1", path);
	rc = system(cmd);
	snprintf(cmd, sizeof(cmd), "dumpe2fs -h %s 2>/dev/null | grep -q 'features:.*extent'",
		 path);
	int ext4 = system(cmd);
	unlink(path);
	CHECK_EQ(rc, 0);
	CHECK_EQ(ext4, 0);
}
