/* Spec preparation (spec §6.1) on json-c trees, in a temporary bundle. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "containers/oci_spec.h"
#include "containers/sandbox_mounts.h"

static char tmp[64];

static void path(char *buf, size_t size, const char *rel)
{
	snprintf(buf, size, "%s/%s", tmp, rel);
}

static void mkdirs(const char *rel)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s/%s'", tmp, rel);
	CHECK_EQ(system(cmd), 0);
}

static void write_file(const char *rel, const char *text)
{
	char p[256];
	FILE *f;

	path(p, sizeof(p), rel);
	f = fopen(p, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

static char *read_file(const char *abs)
{
	static char buf[65536];
	FILE *f = fopen(abs, "r");
	size_t n;

	if (!f)
		unit_fail(__FILE__, __LINE__, "cannot open %s", abs);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

/* A temp dir with bundles b1 (standalone), sb (sandbox), w1 (workload) and
 * a rootfs with users. */
static void setup(void)
{
	unit_tmpdir(tmp, sizeof(tmp), "oci");
	mkdirs("rootfs/etc");
	write_file("rootfs/etc/passwd", "root:x:0:0::/root:/bin/sh\n"
					"alice:x:1000:1000::/home/alice:/bin/sh\n"
					"bob:x:1001:1001::/:/bin/sh\n");
	write_file("rootfs/etc/group", "alice:x:1000:\nwheel:x:10:alice\nstaff:x:50:alice,bob\n");
}

static struct json_object *parse(const char *text)
{
	struct json_object *o;
	struct error e;

	if (json_text_parse(text, strlen(text), &o, &e) < 0)
		unit_fail(__FILE__, __LINE__, "%s", e.msg);
	return o;
}

static const char *get_str(struct json_object *o, const char *ptr)
{
	struct json_object *v;

	if (json_pointer_get(o, ptr, &v) < 0)
		return NULL;
	return json_object_get_string(v);
}

static const char *json(struct json_object *o)
{
	return json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN |
							 JSON_C_TO_STRING_NOSLASHESCAPE);
}

/* The mount with this destination, as text; NULL if none. Fails if two. */
static const char *mount_of(struct json_object *spec, const char *dest)
{
	struct json_object *mounts, *found = NULL;

	CHECK(json_object_object_get_ex(spec, "mounts", &mounts));
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i), *d;

		if (json_object_object_get_ex(m, "destination", &d) &&
		    !strcmp(json_object_get_string(d), dest)) {
			if (found)
				unit_fail(__FILE__, __LINE__, "%s mounted twice", dest);
			found = m;
		}
	}
	return found ? json(found) : NULL;
}

static struct oci_prepare_opts opts(const char *id, const char *bundle_rel)
{
	static char bundle[4][128];
	static int next;
	static const char *const search[] = {"corp.example", "example"};
	static const char *const servers[] = {"10.0.0.2", "10.0.0.3"};
	struct oci_prepare_opts o = {
		.id = id,
		.cgroup_parent = "/pods",
		.cgroup_per_pod = true,
		.uvm_hostname = "uvm-host",
		.dns = {.search = search, .nsearch = 2, .servers = servers, .nservers = 2},
	};

	path(bundle[next], sizeof(bundle[next]), bundle_rel);
	o.bundle = bundle[next];
	next = (next + 1) % 4;
	return o;
}

static char last_error[1024];

static int prepare(struct json_object *spec, struct oci_prepare_opts *o, struct oci_prepared *p,
		   struct error *e)
{
	int rc = oci_spec_classify(spec, o->id, &o->cls, e);

	return rc < 0 ? rc : oci_spec_prepare(spec, o, p, e);
}

/* A sandbox mount source is handed to runc as a bind, in the container's
 * bundle, of what the walk reached: it must show `want`. */
static void check_bound_source(const char *source, const char *bundle, const char *want)
{
	struct stat a, b;

	if (strncmp(source, bundle, strlen(bundle)) != 0 ||
	    strncmp(source + strlen(bundle), "/sources/", 9) != 0)
		unit_fail(__FILE__, __LINE__, "source %s is not bound in %s", source, bundle);
	CHECK(stat(source, &a) == 0 && stat(want, &b) == 0);
	CHECK(a.st_ino == b.st_ino && a.st_dev == b.st_dev);
}

#define ROOTFS_SPEC(extra)                                                                         \
	"{\"ociVersion\":\"1.0.2\",\"process\":{\"terminal\":false,\"user\":{\"uid\":0,"           \
	"\"gid\":0},\"args\":[\"sh\"],\"cwd\":\"/\"},\"root\":{\"path\":\"%s/rootfs\"},"           \
	"\"mounts\":[{\"destination\":\"/proc\",\"type\":\"proc\",\"source\":\"proc\"}],"          \
	"\"linux\":{\"namespaces\":[{\"type\":\"pid\"},{\"type\":\"network\"}]}" extra "}"

/* Parses a spec text in which every "%s" stands for the temp dir. */
static struct json_object *spec_with(const char *tmpl)
{
	char text[4096];
	size_t o = 0;

	for (const char *p = tmpl; *p && o + sizeof(tmp) < sizeof(text); p++) {
		if (p[0] == '%' && p[1] == 's') {
			o += (size_t)snprintf(text + o, sizeof(text) - o, "%s", tmp);
			p++;
		} else {
			text[o++] = *p;
		}
	}
	text[o] = '\0';
	return parse(text);
}

TEST(classify_by_annotations)
{
	struct oci_class c;
	struct error e;
	struct json_object *s;

	s = parse("{}");
	CHECK_OK(oci_spec_classify(s, "c1", &c, &e));
	CHECK_EQ(c.kind, OCI_STANDALONE);
	CHECK_STREQ(c.sandbox_id, "");
	json_object_put(s);

	s = parse("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"sandbox\","
		  "\"io.kubernetes.cri.sandbox-id\":\"sb1\"}}");
	CHECK_OK(oci_spec_classify(s, "sb1", &c, &e));
	CHECK_EQ(c.kind, OCI_SANDBOX);
	CHECK_STREQ(c.sandbox_id, "sb1");
	/* The sandbox-id of a sandbox must be its own. */
	CHECK(oci_spec_classify(s, "other", &c, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	json_object_put(s);

	s = parse("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
		  "\"io.kubernetes.cri.sandbox-id\":\"sb1\"}}");
	CHECK_OK(oci_spec_classify(s, "w1", &c, &e));
	CHECK_EQ(c.kind, OCI_WORKLOAD);
	CHECK_STREQ(c.sandbox_id, "sb1");
	json_object_put(s);

	s = parse("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\"}}");
	CHECK(oci_spec_classify(s, "w1", &c, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK(strstr(e.msg, "io.kubernetes.cri.sandbox-id") != NULL);
	json_object_put(s);

	s = parse("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"pod\"}}");
	CHECK(oci_spec_classify(s, "w1", &c, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	json_object_put(s);

	/* The sandbox id becomes a cgroup path component. */
	s = parse("{\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","
		  "\"io.kubernetes.cri.sandbox-id\":\"../../x\"}}");
	CHECK(oci_spec_classify(s, "w1", &c, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	json_object_put(s);
}

TEST(standalone_files_mounts_cgroup_windows)
{
	struct json_object *s;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;
	char want[512], f[256];

	setup();
	s = spec_with(ROOTFS_SPEC(",\"hostname\":\"web.corp.example\",\"windows\":{\"network\":"
				  "{\"networkNamespace\":\"A1B2-ns\"},\"devices\":[]}"));
	o = opts("c1", "b1");
	CHECK_OK(prepare(s, &o, &p, &e));
	CHECK_STREQ(p.network_namespace, "A1B2-ns");
	CHECK(!json_object_object_get_ex(s, "windows", NULL));
	CHECK_STREQ(p.cgroups_path, "/pods/c1");
	CHECK_STREQ(get_str(s, "/linux/cgroupsPath"), "/pods/c1");
	CHECK(p.new_pid_ns);
	CHECK(!p.terminal);
	CHECK(!p.has_username);
	snprintf(want, sizeof(want), "%s/rootfs", tmp);
	CHECK_STREQ(p.rootfs, want);

	snprintf(want, sizeof(want),
		 "{\"destination\":\"/etc/hostname\",\"type\":\"bind\",\"source\":\"%s/b1/"
		 "hostname\",\"options\":[\"bind\"]}",
		 tmp);
	CHECK_STREQ(mount_of(s, "/etc/hostname"), want);
	snprintf(want, sizeof(want),
		 "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"%s/b1/"
		 "hosts\",\"options\":[\"bind\"]}",
		 tmp);
	CHECK_STREQ(mount_of(s, "/etc/hosts"), want);
	snprintf(want, sizeof(want),
		 "{\"destination\":\"/etc/resolv.conf\",\"type\":\"bind\",\"source\":\"%s/b1/"
		 "resolv.conf\",\"options\":[\"bind\"]}",
		 tmp);
	CHECK_STREQ(mount_of(s, "/etc/resolv.conf"), want);

	path(f, sizeof(f), "b1/hostname");
	CHECK_STREQ(read_file(f), "web.corp.example\n");
	path(f, sizeof(f), "b1/hosts");
	CHECK_STREQ(read_file(f), "127.0.0.1 localhost\n"
				  "127.0.0.1 web.corp.example web\n"
				  "::1 localhost ip6-localhost ip6-loopback\n"
				  "fe00::0 ip6-localnet\n"
				  "ff00::0 ip6-mcastprefix\n"
				  "ff02::1 ip6-allnodes\n"
				  "ff02::2 ip6-allrouters\n");
	path(f, sizeof(f), "b1/resolv.conf");
	CHECK_STREQ(read_file(f), "search corp.example example\n"
				  "nameserver 10.0.0.2\n"
				  "nameserver 10.0.0.3\n");

	/* Preparing again adds nothing twice (mount_of fails on duplicates). */
	CHECK_OK(prepare(s, &o, &p, &e));
	CHECK(mount_of(s, "/etc/hosts") != NULL);
	CHECK(mount_of(s, "/etc/hostname") != NULL);
	CHECK(mount_of(s, "/etc/resolv.conf") != NULL);
	CHECK_EQ(json_object_array_length(json_object_object_get(s, "mounts")), 4);
	json_object_put(s);
}

TEST(existing_mounts_kept_readonly_rootfs_and_uvm_hostname)
{
	struct json_object *s;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;
	char want[512], f[256];

	setup();
	/* The spec mounts its own /etc/hosts (with a trailing slash, which is
	 * the same path) and has a read-only rootfs and no hostname. */
	s = spec_with("{\"process\":{\"cwd\":\"/\"},\"root\":{\"path\":\"%s/rootfs\","
		      "\"readonly\":true},\"mounts\":[{\"destination\":\"/etc//hosts/\","
		      "\"type\":\"bind\",\"source\":\"/mine\",\"options\":[\"rbind\"]}]}");
	o = opts("c2", "b2");
	CHECK_OK(prepare(s, &o, &p, &e));
	CHECK_STREQ(mount_of(s, "/etc//hosts/"), "{\"destination\":\"/etc//hosts/\",\"type\":"
						 "\"bind\",\"source\":\"/mine\",\"options\":"
						 "[\"rbind\"]}");
	CHECK(mount_of(s, "/etc/hosts") == NULL);
	path(f, sizeof(f), "b2/hosts");
	CHECK(access(f, F_OK) < 0 && errno == ENOENT);
	snprintf(want, sizeof(want),
		 "{\"destination\":\"/etc/hostname\",\"type\":\"bind\",\"source\":\"%s/b2/"
		 "hostname\",\"options\":[\"bind\",\"ro\"]}",
		 tmp);
	CHECK_STREQ(mount_of(s, "/etc/hostname"), want);
	path(f, sizeof(f), "b2/hostname");
	CHECK_STREQ(read_file(f), "uvm-host\n");
	/* The bundle is created private. */
	path(f, sizeof(f), "b2");
	struct stat st;
	CHECK_EQ(stat(f, &st), 0);
	CHECK_EQ(st.st_mode & 0777, 0700);
	CHECK(!p.new_pid_ns);
	json_object_put(s);
}

TEST(hostname_and_dns_validation)
{
	struct json_object *s;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;
	char buf[512];
	const char *const many[] = {"a", "b", "c", "d", "e", "f", "g"};
	const char *const bad[] = {"evil\nnameserver 6.6.6.6"};
	struct net_dns dns = {.search = many, .nsearch = 7};
	char longname[300];

	CHECK(oci_hostname_valid(""));
	CHECK(oci_hostname_valid("a-b_c.d9"));
	CHECK(!oci_hostname_valid("a b"));
	CHECK(!oci_hostname_valid("a/b"));
	memset(longname, 'x', 256);
	longname[256] = '\0';
	CHECK(!oci_hostname_valid(longname));
	longname[255] = '\0';
	CHECK(oci_hostname_valid(longname));

	CHECK(oci_resolv_content(&dns, buf, sizeof(buf), &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	dns.nsearch = 6;
	CHECK(oci_resolv_content(&dns, buf, sizeof(buf), &e) > 0);
	CHECK_STREQ(buf, "search a b c d e f\n");
	dns = (struct net_dns){.servers = bad, .nservers = 1};
	CHECK(oci_resolv_content(&dns, buf, sizeof(buf), &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	dns = (struct net_dns){0};
	CHECK_EQ(oci_resolv_content(&dns, buf, sizeof(buf), &e), 0);
	CHECK_STREQ(buf, "");

	setup();
	s = spec_with(ROOTFS_SPEC(",\"hostname\":\"bad host!\""));
	o = opts("c3", "b3");
	CHECK(prepare(s, &o, &p, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK(strstr(e.msg, "bad host!") != NULL);
	json_object_put(s);
}

/* No host names the UVM, so the kernel's "(none)" is its hostname: a
 * container without a hostname of its own gets it, as with the reference
 * (which checks only the spec's name). */
TEST(unnamed_uvm_hostname_is_used_as_is)
{
	struct json_object *s;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;
	char f[256];

	setup();
	s = spec_with(ROOTFS_SPEC(""));
	o = opts("c4", "b4");
	o.uvm_hostname = "(none)";
	CHECK_OK(prepare(s, &o, &p, &e));
	path(f, sizeof(f), "b4/hostname");
	CHECK_STREQ(read_file(f), "(none)\n");
	path(f, sizeof(f), "b4/hosts");
	CHECK(strstr(read_file(f), "127.0.0.1 (none)\n") != NULL);
	json_object_put(s);

	s = spec_with(ROOTFS_SPEC(""));
	o = opts("c5", "b5");
	o.uvm_hostname = "two\nlines";
	CHECK(prepare(s, &o, &p, &e) < 0);
	CHECK(strstr(e.msg, "cannot go into /etc/hosts") != NULL);
	json_object_put(s);
}

TEST(config_json_keeps_every_other_value_byte_for_byte)
{
	/* Values the guest does not mean to change must reach runc exactly:
	 * RLIM_INFINITY as uint64, big signed values, doubles as written,
	 * escapes, non-ASCII text, slashes, unknown keys. */
	static const char *const kept[] = {
		"\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":18446744073709551615,"
		"\"soft\":18446744073709551615}]",
		"\"memory\":{\"limit\":9223372036854775807,\"swap\":18446744073709551615,"
		"\"swappiness\":0}",
		"\"cpu\":{\"shares\":1024,\"quota\":-1,\"period\":100000,\"weird\":1.50}",
		"\"env\":[\"PATH=/usr/bin:/bin\",\"Q=\\\"quoted\\\" \\\\ "
		"tab\\t\",\"U=\xc3\xa9\xe2\x82\xac\"]",
		"\"annotations\":{\"x.y/z\":\"http://a/b?c=d\",\"n\":\"-0.0\"}",
		"\"vendorExtension\":{\"deep\":[1,-2,3.25e+10,true,null,{}]}",
	};
	char text[4096], f[256];
	struct json_object *s, *back;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;
	const char *out;

	setup();
	snprintf(text, sizeof(text),
		 "{\"ociVersion\":\"1.0.2\",\"process\":{\"args\":[\"sh\"],\"cwd\":\"/\",%s,%s},"
		 "\"root\":{\"path\":\"%s/rootfs\"},\"linux\":{\"resources\":{%s,%s}},%s,%s}",
		 kept[0], kept[3], tmp, kept[1], kept[2], kept[4], kept[5]);
	s = parse(text);
	o = opts("c4", "b4");
	CHECK_OK(prepare(s, &o, &p, &e));
	path(f, sizeof(f), "b4/config.json");
	CHECK_OK(json_file_write(f, s, &e));
	out = read_file(f);
	for (size_t i = 0; i < ARRAY_SIZE(kept); i++)
		if (!strstr(out, kept[i]))
			unit_fail(__FILE__, __LINE__, "config.json lost %s:\n%s", kept[i], out);
	CHECK(strstr(out, "\\/") == NULL);
	/* And the file parses back to the same document. */
	CHECK_OK(json_file_read(f, &back, &e));
	CHECK(json_object_equal(back, s));
	struct json_object *hard;
	CHECK_EQ(json_pointer_get(back, "/process/rlimits/0/hard", &hard), 0);
	CHECK(json_object_get_uint64(hard) == UINT64_MAX);
	json_object_put(back);
	json_object_put(s);
}

TEST(username_resolved_in_rootfs)
{
	struct json_object *s;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;

	setup();
	s = spec_with("{\"process\":{\"cwd\":\"/work/dir\",\"user\":{\"uid\":0,\"gid\":0,"
		      "\"additionalGids\":[7],\"username\":\"alice\"}},\"root\":{\"path\":"
		      "\"%s/rootfs\"}}");
	o = opts("c5", "b5");
	CHECK_OK(prepare(s, &o, &p, &e));
	CHECK(p.has_username);
	CHECK_STREQ(json(json_object_object_get(json_object_object_get(s, "process"), "user")),
		    "{\"uid\":1000,\"gid\":1000,\"additionalGids\":[7,10,50],\"username\":"
		    "\"alice\"}");
	/* runc needs the cwd inside the rootfs. */
	char d[256];
	struct stat st;
	path(d, sizeof(d), "rootfs/work/dir");
	CHECK(stat(d, &st) == 0 && S_ISDIR(st.st_mode));
	json_object_put(s);

	s = spec_with("{\"process\":{\"user\":{\"username\":\"mallory\"}},\"root\":{\"path\":"
		      "\"%s/rootfs\"}}");
	CHECK(prepare(s, &o, &p, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK(strstr(e.msg, "\"mallory\" not found") != NULL);
	json_object_put(s);
}

TEST(cwd_creation_does_not_follow_symlinks_out_of_rootfs)
{
	struct json_object *s;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;
	char link[256], outside[256];

	setup();
	/* rootfs/escape -> <tmp>/outside: the cwd must not be created there. */
	path(outside, sizeof(outside), "outside");
	CHECK_EQ(mkdir(outside, 0755), 0);
	path(link, sizeof(link), "rootfs/escape");
	CHECK_EQ(symlink(outside, link), 0);
	s = spec_with("{\"process\":{\"cwd\":\"/escape/new\"},\"root\":{\"path\":\"%s/rootfs\"}}");
	o = opts("c6", "b6");
	CHECK_OK(prepare(s, &o, &p, &e));
	strcat(outside, "/new");
	CHECK(access(outside, F_OK) < 0);
	json_object_put(s);
}

TEST(workload_uses_sandbox_files_and_rewrites_mounts)
{
	struct json_object *s;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;
	char want[512], f[256], sbroot[256], text[2048];
	struct stat st;

	if (geteuid() != 0)
		SKIP("needs root (bind mounts)");
	setup();
	/* The sandbox first: it writes the files and makes the pod dirs. */
	s = spec_with(ROOTFS_SPEC(",\"hostname\":\"pod1\",\"annotations\":{"
				  "\"io.kubernetes.cri.container-type\":\"sandbox\","
				  "\"io.kubernetes.cri.sandbox-id\":\"sb\"}"));
	o = opts("sb", "sb");
	CHECK_OK(prepare(s, &o, &p, &e));
	CHECK_STREQ(p.cgroups_path, "/pods/sb/sb");
	json_object_put(s);
	path(sbroot, sizeof(sbroot), "sb");
	path(f, sizeof(f), "sb/sandboxMounts");
	CHECK(stat(f, &st) == 0 && S_ISDIR(st.st_mode));

	snprintf(text, sizeof(text),
		 "{\"process\":{\"cwd\":\"/\"},\"root\":{\"path\":\"%s/rootfs\"},\"annotations\":{"
		 "\"io.kubernetes.cri.container-type\":\"container\","
		 "\"io.kubernetes.cri.sandbox-id\":\"sb\"},\"mounts\":["
		 "{\"destination\":\"/data\",\"type\":\"bind\",\"source\":\"sandbox://vol/a\"},"
		 "{\"destination\":\"/scratch\",\"type\":\"bind\",\"source\":\"sandbox-tmp://t1\"},"
		 "{\"destination\":\"/host\",\"type\":\"bind\",\"source\":\"uvm://%s/rootfs/etc\"},"
		 "{\"destination\":\"/plain\",\"type\":\"bind\",\"source\":\"/run/x\"}]}",
		 tmp, tmp);
	s = parse(text);
	o = opts("w1", "w1");
	o.sandbox_root = sbroot;
	CHECK_OK(prepare(s, &o, &p, &e));
	CHECK_STREQ(p.cgroups_path, "/pods/sb/w1");
	snprintf(want, sizeof(want),
		 "{\"destination\":\"/etc/hosts\",\"type\":\"bind\",\"source\":\"%s/sb/hosts\","
		 "\"options\":[\"bind\"]}",
		 tmp);
	CHECK_STREQ(mount_of(s, "/etc/hosts"), want);
	path(f, sizeof(f), "w1");
	snprintf(want, sizeof(want), "%s/sb/sandboxMounts/vol/a", tmp);
	check_bound_source(get_str(s, "/mounts/0/source"), f, want);
	/* Made for runc, as the reference makes it: 0777, missing parents too. */
	CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0777);
	snprintf(want, sizeof(want), "%s/sb/sandboxTmpfsMounts/t1", tmp);
	check_bound_source(get_str(s, "/mounts/1/source"), f, want);
	CHECK(stat(want, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK_EQ(st.st_mode & 0777, 0777);
	CHECK_EQ(p.n_bound, 2);
	oci_prepared_release(&p);
	CHECK_EQ(p.n_bound, 0);
	path(f, sizeof(f), "w1/sources");
	CHECK(access(f, F_OK) < 0); /* unbound and removed */
	snprintf(want, sizeof(want), "%s/rootfs/etc", tmp);
	CHECK_STREQ(get_str(s, "/mounts/2/source"), want);
	CHECK_STREQ(get_str(s, "/mounts/3/source"), "/run/x");
	/* The workload wrote no files of its own. */
	path(f, sizeof(f), "w1/hosts");
	CHECK(access(f, F_OK) < 0);
	json_object_put(s);

	/* The v0.11 layout puts every container directly under the parent. */
	s = spec_with(ROOTFS_SPEC(",\"annotations\":{\"io.kubernetes.cri.container-type\":"
				  "\"container\",\"io.kubernetes.cri.sandbox-id\":\"sb\"}"));
	o = opts("w2", "w2");
	o.sandbox_root = sbroot;
	o.cgroup_parent = "/containers";
	o.cgroup_per_pod = false;
	CHECK_OK(prepare(s, &o, &p, &e));
	CHECK_STREQ(get_str(s, "/linux/cgroupsPath"), "/containers/w2");
	json_object_put(s);
}

static void expect_prepare_error(const char *spec_fmt, const char *id, const char *sbroot_rel,
				 enum error_kind kind, const char *needle)
{
	struct json_object *s = spec_with(spec_fmt);
	struct oci_prepare_opts o = opts(id, id);
	struct oci_prepared p;
	struct error e;
	char sbroot[256];

	if (sbroot_rel) {
		path(sbroot, sizeof(sbroot), sbroot_rel);
		o.sandbox_root = sbroot;
	}
	CHECK(prepare(s, &o, &p, &e) < 0);
	if ((int)e.kind != (int)kind || !strstr(e.msg, needle))
		unit_fail(__FILE__, __LINE__, "kind %d \"%s\", want kind %d with \"%s\"", e.kind,
			  e.msg, kind, needle);
	json_object_put(s);
}

#define WORKLOAD_ANN                                                                               \
	"\"annotations\":{\"io.kubernetes.cri.container-type\":\"container\","                     \
	"\"io.kubernetes.cri.sandbox-id\":\"sb\"}"

/* Prepares a workload of the sandbox "sb" (under tmp) whose only mount binds
 * source at /d; process is the spec's "process" member ("" for none). The
 * spec is left in *spec. */
static int prepare_volume_workload(const char *id, const char *source, const char *process,
				   struct json_object **spec, struct oci_prepared *p,
				   struct error *e)
{
	char text[1024], sbroot[256];
	struct oci_prepare_opts o = opts(id, id);

	path(sbroot, sizeof(sbroot), "sb");
	o.sandbox_root = sbroot;
	snprintf(text, sizeof(text),
		 "{%s\"root\":{\"path\":\"%s/rootfs\"}," WORKLOAD_ANN
		 ",\"mounts\":[{\"destination\":\"/d\",\"type\":\"bind\",\"source\":"
		 "\"%s\"}]}",
		 process, tmp, source);
	*spec = parse(text);
	return prepare(*spec, &o, p, e);
}

/* A workload may plant symlinks in the shared sandbox volume: a mount source
 * through one must neither create anything outside nor be handed to runc. */
TEST(sandbox_mount_sources_never_follow_planted_symlinks)
{
	static const char *const sources[] = {"sandbox://evil/new", "sandbox://evil",
					      "sandbox-tmp://evil/new", "sandbox://file/x"};
	char f[256], outside[256], link[512];
	struct oci_prepared p;
	struct json_object *s;
	struct error e;

	if (geteuid() != 0)
		SKIP("needs root (bind mounts)");
	setup();
	mkdirs("outside");
	mkdirs("sb/sandboxMounts");
	mkdirs("sb/sandboxTmpfsMounts");
	path(outside, sizeof(outside), "outside");
	path(f, sizeof(f), "sb/sandboxMounts/evil");
	CHECK(symlink(outside, f) == 0);
	path(f, sizeof(f), "sb/sandboxTmpfsMounts/evil");
	CHECK(symlink(outside, f) == 0);
	write_file("sb/sandboxMounts/file", "a shared file\n");
	for (size_t i = 0; i < sizeof(sources) / sizeof(sources[0]); i++) {
		if (prepare_volume_workload("w9", sources[i], "", &s, &p, &e) == 0)
			unit_fail(__FILE__, __LINE__, "%s was accepted", sources[i]);
		CHECK(strstr(e.msg, sources[i]) != NULL);
		json_object_put(s);
	}
	snprintf(link, sizeof(link), "%s/new", outside);
	CHECK(access(link, F_OK) < 0);

	/* A plain shared file is a fine bind source. */
	CHECK_OK(prepare_volume_workload("w10", "sandbox://file", "", &s, &p, &e));
	path(f, sizeof(f), "w10");
	path(link, sizeof(link), "sb/sandboxMounts/file");
	check_bound_source(get_str(s, "/mounts/0/source"), f, link);
	oci_prepared_release(&p);
	json_object_put(s);
}

/* A workload swaps a volume directory for a symlink after the gcs checked
 * it (issue 18, item 2): the source runc gets still shows the checked
 * directory, and release takes the bind away again. */
TEST(sandbox_mount_sources_survive_a_swap_until_runc_mounts)
{
	char vol[256], moved[256], outside[256], want[512], source[PATH_MAX];
	struct oci_prepared p;
	struct json_object *s;
	struct stat before, after, out;
	struct error e;

	if (geteuid() != 0)
		SKIP("needs root (bind mounts)");
	setup();
	mkdirs("outside");
	mkdirs("sb/sandboxMounts/vol/a");
	path(vol, sizeof(vol), "sb/sandboxMounts/vol");
	path(moved, sizeof(moved), "sb/sandboxMounts/vol.old");
	path(outside, sizeof(outside), "outside");
	snprintf(want, sizeof(want), "%s/a", vol);
	CHECK(stat(want, &before) == 0);
	CHECK_OK(prepare_volume_workload("w11", "sandbox://vol/a", "", &s, &p, &e));
	snprintf(source, sizeof(source), "%s", get_str(s, "/mounts/0/source"));
	CHECK(rename(vol, moved) == 0);
	CHECK(symlink(outside, vol) == 0);
	mkdirs("outside/a");
	CHECK(stat(source, &after) == 0);
	CHECK(stat(want, &out) == 0); /* the path itself now leads outside */
	CHECK(after.st_ino == before.st_ino && after.st_dev == before.st_dev);
	CHECK(out.st_ino != before.st_ino);
	CHECK_EQ(p.n_bound, 1);
	oci_prepared_release(&p);
	CHECK(access(source, F_OK) < 0);
	snprintf(want, sizeof(want), "%s/a", moved);
	CHECK(access(want, F_OK) == 0); /* the volume itself is untouched */
	json_object_put(s);
}

/* Nothing stays bound when prepare fails after a source was bound. */
TEST(a_failed_prepare_binds_nothing)
{
	char f[256];
	struct oci_prepared p;
	struct json_object *s;
	struct error e;

	if (geteuid() != 0)
		SKIP("needs root (bind mounts)");
	setup();
	mkdirs("sb/sandboxMounts");
	/* The sandbox mount is bound, then the unknown user fails the prepare. */
	CHECK(prepare_volume_workload("w12", "sandbox://vol",
				      "\"process\":{\"user\":{\"username\":\"nobody-here\"}},", &s,
				      &p, &e) < 0);
	CHECK_EQ(p.n_bound, 0);
	CHECK(p.bound == NULL);
	path(f, sizeof(f), "w12/sources");
	CHECK(access(f, F_OK) < 0);
	json_object_put(s);
}

TEST(bad_mounts_and_workload_rules)
{
	setup();
	mkdirs("sb");
	expect_prepare_error(ROOTFS_SPEC(",\"hostname\":\"own\"," WORKLOAD_ANN), "w3", "sb",
			     ERR_INVALID_ARG, "must not set a hostname");
	expect_prepare_error(ROOTFS_SPEC("," WORKLOAD_ANN), "w4", NULL, ERR_NO_CONTAINER,
			     "sandbox sb of w4 not found");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"mounts\":[{\"destination\":"
			     "\"/d\",\"source\":\"sandbox://x\"}]}",
			     "c7", NULL, ERR_INVALID_ARG, "needs a pod sandbox");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"}," WORKLOAD_ANN
			     ",\"mounts\":[{\"destination\":\"/d\",\"source\":\"sandbox://a/../../"
			     "etc\"}]}",
			     "w5", "sb", ERR_INVALID_ARG, "\"..\"");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"mounts\":[{\"destination\":"
			     "\"/d\",\"source\":\"uvm:///no/such/lcow/path\"}]}",
			     "c8", NULL, ERR_INVALID_ARG, "/no/such/lcow/path");
	expect_prepare_error(
		"{\"root\":{\"path\":\"%s/rootfs\"}," WORKLOAD_ANN
		",\"mounts\":[{\"destination\":\"/h\",\"source\":\"hugepages://2M\"}]}",
		"w6", "sb", ERR_INVALID_ARG, "expected hugepages://<page size>/<name>");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"}," WORKLOAD_ANN
			     ",\"mounts\":[{\"destination\":\"/h\",\"source\":\"hugepages://2M,"
			     "uid=0/x\"}]}",
			     "w6", "sb", ERR_INVALID_ARG, "is not a size such as 2M");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"mounts\":[{\"destination\":"
			     "\"/h\",\"source\":\"hugepages://2M/x\"}]}",
			     "c6", NULL, ERR_INVALID_ARG, "needs a pod sandbox");
	expect_prepare_error("{\"process\":{},\"mounts\":[]}", "c9", NULL, ERR_INVALID_ARG,
			     "root.path");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"mounts\":{}}", "c10", NULL,
			     ERR_INVALID_ARG, "\"mounts\" has the wrong type");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"}}", "bad/id", NULL, ERR_INVALID_ARG,
			     "invalid container id");
	/* A key runc would read as one the gcs checks (Go folds case, and
	 * U+212A / U+017F to k / s): refused, alone or next to the real one. */
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"Mounts\":[{\"destination\":"
			     "\"/x\",\"source\":\"/etc\",\"type\":\"bind\"}]}",
			     "k1", NULL, ERR_INVALID_ARG, "key \"Mounts\" in the spec");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"mounts\":[],\"mounts\":[],"
			     "\"MOUNTS\":[]}",
			     "k2", NULL, ERR_INVALID_ARG, "\"MOUNTS\"");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"mounts\":[{\"destination\":"
			     "\"/x\",\"Source\":\"/etc\"}]}",
			     "k3", NULL, ERR_INVALID_ARG, "in the spec.mounts[0]");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"mount\xc5\xbf\":[]}", "k4", NULL,
			     ERR_INVALID_ARG, "read by runc as \"mounts\"");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"process\":{\"terminal\":"
			     "\"yes\"}}",
			     "k5", NULL, ERR_INVALID_ARG, "process.terminal must be a boolean");
	/* An option to runc, or a dot path: refused before runc sees it. */
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"}}", "-rf", NULL, ERR_INVALID_ARG,
			     "invalid container id \"-rf\"");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"}}", "--help", NULL, ERR_INVALID_ARG,
			     "invalid container id");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"}}", ".x", NULL, ERR_INVALID_ARG,
			     "invalid container id");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"}}", "..", NULL, ERR_INVALID_ARG,
			     "invalid container id");
}

TEST(annotations_shm_rlimit_core_host_network)
{
	struct json_object *s;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;

	setup();
	s = spec_with("{\"process\":{\"rlimits\":[{\"type\":\"RLIMIT_CORE\",\"hard\":0,\"soft\":"
		      "0}]},\"root\":{\"path\":\"%s/rootfs\"},\"mounts\":[{\"destination\":\"/dev/"
		      "shm\",\"type\":\"bind\",\"source\":\"/x\",\"options\":[\"rbind\"]}],"
		      "\"linux\":{\"namespaces\":[{\"type\":\"network\"},{\"type\":\"pid\"},"
		      "{\"type\":\"network\",\"path\":\"/proc/1/ns/net\"}]},\"annotations\":{"
		      "\"io.microsoft.lcow.shm.size-kb\":\"65536\","
		      "\"io.microsoft.lcow.rlimitcore\":\"1024;18446744073709551615\","
		      "\"io.microsoft.virtualmachine.lcow.hostnetwork\":\"true\"}}");
	o = opts("c11", "b11");
	CHECK_OK(prepare(s, &o, &p, &e));
	CHECK_STREQ(mount_of(s, "/dev/shm"),
		    "{\"destination\":\"/dev/shm\",\"type\":\"tmpfs\",\"source\":\"shm\","
		    "\"options\":[\"nosuid\",\"noexec\",\"nodev\",\"mode=1777\",\"size=65536k\"]}");
	CHECK_STREQ(json(json_object_object_get(json_object_object_get(s, "process"), "rlimits")),
		    "[{\"type\":\"RLIMIT_CORE\",\"hard\":18446744073709551615,\"soft\":1024}]");
	CHECK_STREQ(json(json_object_object_get(json_object_object_get(s, "linux"), "namespaces")),
		    "[{\"type\":\"pid\"}]");
	json_object_put(s);

	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"annotations\":{"
			     "\"io.microsoft.lcow.rlimitcore\":\"9;1\"}}",
			     "c12", NULL, ERR_INVALID_ARG, "rlimitcore");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"annotations\":{"
			     "\"io.microsoft.lcow.shm.size-kb\":\"lots\"}}",
			     "c13", NULL, ERR_INVALID_ARG, "shm.size-kb");
}

/* A blockdev:// mount of dev (with extra mount members) becomes a mount at
 * /dev/xvda and exactly one device rule with access. */
static void check_blockdev_rule(const char *id, const char *dev, const char *extra,
				const char *access)
{
	struct oci_prepare_opts o = opts(id, id);
	struct oci_prepared p;
	struct json_object *s;
	struct error e;
	struct stat st;
	char text[1024], want[256];

	CHECK(stat(dev, &st) == 0);
	snprintf(text, sizeof(text),
		 "{\"root\":{\"path\":\"%%s/rootfs\"},\"mounts\":[{\"destination\":\"blockdev:///"
		 "dev/xvda\",\"type\":\"bind\",\"source\":\"%s\"%s}]}",
		 dev, extra);
	s = spec_with(text);
	CHECK_OK(prepare(s, &o, &p, &e));
	CHECK_STREQ(get_str(s, "/mounts/0/destination"), "/dev/xvda");
	snprintf(want, sizeof(want),
		 "[{\"allow\":true,\"type\":\"b\",\"major\":%u,\"minor\":%u,\"access\":\"%s\"}]",
		 major(st.st_rdev), minor(st.st_rdev), access);
	CHECK_STREQ(json(json_object_object_get(
			    json_object_object_get(json_object_object_get(s, "linux"), "resources"),
			    "devices")),
		    want);
	json_object_put(s);
}

TEST(blockdev_destination_gets_device_rule)
{
	const char *const candidates[] = {"/dev/loop0", "/dev/vda", "/dev/sda", "/dev/nvme0n1",
					  "/dev/ram0"};
	const char *dev = NULL;
	struct stat st;

	for (size_t i = 0; i < ARRAY_SIZE(candidates) && !dev; i++)
		if (stat(candidates[i], &st) == 0 && S_ISBLK(st.st_mode))
			dev = candidates[i];
	if (!dev)
		SKIP("no block device node found in /dev");
	setup();
	check_blockdev_rule("c14", dev, "", "rwm");
	expect_prepare_error("{\"root\":{\"path\":\"%s/rootfs\"},\"mounts\":[{\"destination\":"
			     "\"blockdev:///x\",\"source\":\"/dev/null\"}]}",
			     "c15", NULL, ERR_INVALID_ARG, "not a block device");
	/* Read-only: read access only. */
	check_blockdev_rule("c16", dev, ",\"options\":[\"bind\",\"ro\"]", "r");
}

/* ---- pod volumes, hugepages, devices (issue 13 items 2, 3, 5) ----------- */

/* The mountinfo line of the mount at mp (the last one: the top), or NULL. */
static const char *mountinfo_of(const char *mp)
{
	static char found[1024];
	char line[1024], point[512];
	FILE *f = fopen("/proc/self/mountinfo", "re");

	found[0] = '\0';
	while (f && fgets(line, sizeof(line), f))
		if (sscanf(line, "%*s %*s %*s %*s %511s", point) == 1 && !strcmp(point, mp))
			snprintf(found, sizeof(found), "%s", line);
	if (f)
		fclose(f);
	return found[0] ? found : NULL;
}

static void prepare_sandbox(const char *id, struct oci_prepared *p)
{
	struct oci_prepare_opts o = opts(id, id);
	struct json_object *s;
	struct error e;
	char text[512];

	snprintf(text, sizeof(text),
		 "{\"root\":{\"path\":\"%%s/rootfs\"},\"annotations\":{"
		 "\"io.kubernetes.cri.container-type\":\"sandbox\","
		 "\"io.kubernetes.cri.sandbox-id\":\"%s\"}}",
		 id);
	s = spec_with(text);
	CHECK_OK(prepare(s, &o, p, &e));
	json_object_put(s);
}

TEST(sandbox_volumes_are_rshared_mounts_and_go_with_the_sandbox)
{
	static const char *const dirs[] = {"sandboxMounts", "sandboxTmpfsMounts", "hugepages"};
	char dir[512], inner[512], sb[256];
	struct oci_prepared p;
	struct error e;
	const char *line;

	if (geteuid() != 0)
		SKIP("needs root (mounts)");
	setup();
	prepare_sandbox("sb", &p);
	CHECK(p.sandbox_mounts);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(dir, sizeof(dir), "%s/sb/%s", tmp, dirs[i]);
		line = mountinfo_of(dir);
		if (!line)
			unit_fail(__FILE__, __LINE__, "%s is not a mount point", dir);
		/* Bidirectional volumes need a shared mount to propagate through. */
		CHECK_CONTAINS(line, " shared:");
		if (i == 1)
			CHECK_CONTAINS(line, " - tmpfs ");
	}
	/* A mount a workload propagated into a volume goes with the sandbox. */
	snprintf(inner, sizeof(inner), "%s/sb/sandboxMounts/vol", tmp);
	CHECK(mkdir(inner, 0755) == 0);
	CHECK(mount("tmpfs", inner, "tmpfs", 0, "size=1m") == 0);
	path(sb, sizeof(sb), "sb");
	CHECK_OK(sandbox_mounts_teardown(sb, &e));
	CHECK(mountinfo_of(inner) == NULL);
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		snprintf(dir, sizeof(dir), "%s/sb/%s", tmp, dirs[i]);
		CHECK(mountinfo_of(dir) == NULL);
	}
	CHECK_OK(sandbox_mounts_teardown(sb, &e)); /* nothing left: still fine */
}

TEST(hugepages_sources_are_hugetlbfs_mounts_made_once)
{
	char text[1024], sbroot[256], point[512], src1[512];
	struct oci_prepare_opts o;
	struct oci_prepared sb, p;
	struct json_object *s;
	struct error e;
	const char *line;
	struct stat a, b;

	if (geteuid() != 0)
		SKIP("needs root (mounts)");
	setup();
	prepare_sandbox("sb", &sb);
	path(sbroot, sizeof(sbroot), "sb");
	snprintf(text, sizeof(text),
		 "{\"root\":{\"path\":\"%s/rootfs\"}," WORKLOAD_ANN
		 ",\"mounts\":[{\"destination\":\"/hp\",\"type\":\"bind\",\"source\":"
		 "\"hugepages://2M/hp\"}]}",
		 tmp);
	s = parse(text);
	o = opts("w20", "w20");
	o.sandbox_root = sbroot;
	if (prepare(s, &o, &p, &e) < 0 && strstr(e.msg, "hugetlbfs"))
		SKIP("this kernel has no 2M hugetlbfs: %s", e.msg);
	snprintf(point, sizeof(point), "%s/sb/hugepages/2M/hp", tmp);
	line = mountinfo_of(point);
	if (!line)
		unit_fail(__FILE__, __LINE__, "%s is not mounted", point);
	CHECK_CONTAINS(line, " - hugetlbfs ");
	CHECK_CONTAINS(line, "pagesize=2M");
	snprintf(src1, sizeof(src1), "%s", get_str(s, "/mounts/0/source"));
	CHECK(stat(src1, &a) == 0 && stat(point, &b) == 0);
	CHECK(a.st_dev == b.st_dev && a.st_ino == b.st_ino);
	oci_prepared_release(&p);
	json_object_put(s);
	/* A second workload shares the same mount: not stacked. */
	s = parse(text);
	o = opts("w21", "w21");
	o.sandbox_root = sbroot;
	CHECK_OK(prepare(s, &o, &p, &e));
	oci_prepared_release(&p);
	json_object_put(s);
	CHECK_OK(sandbox_mounts_teardown(sbroot, &e));
	CHECK(mountinfo_of(point) == NULL);
}

static struct json_object *workload_devices_spec(const char *id, const char *extra)
{
	char text[1024], sbroot[256];
	struct oci_prepare_opts o = opts(id, id);
	struct oci_prepared p;
	struct json_object *s;
	struct error e;

	path(sbroot, sizeof(sbroot), "sb");
	mkdirs("sb");
	o.sandbox_root = sbroot;
	snprintf(text, sizeof(text),
		 "{\"root\":{\"path\":\"%s/rootfs\"},\"annotations\":{"
		 "\"io.kubernetes.cri.container-type\":\"container\","
		 "\"io.kubernetes.cri.sandbox-id\":\"sb\"%s",
		 tmp, extra);
	s = parse(text);
	if (prepare(s, &o, &p, &e) < 0) {
		json_object_put(s);
		errno = e.errnum;
		snprintf(last_error, sizeof(last_error), "%s", e.msg);
		return NULL;
	}
	return s;
}

TEST(privileged_workload_gets_every_uvm_device)
{
	struct json_object *s, *devs, *rules;
	bool null_seen = false, pts_seen = false;

	setup();
	s = workload_devices_spec("w30", ",\"io.microsoft.virtualmachine.lcow.privileged\":"
					 "\"true\"},\"linux\":{\"resources\":{\"devices\":[{"
					 "\"allow\":false,\"access\":\"rwm\"}]}}}");
	CHECK(s != NULL);
	devs = json_object_object_get(json_object_object_get(s, "linux"), "devices");
	for (size_t i = 0; i < json_object_array_length(devs); i++) {
		struct json_object *d = json_object_array_get_idx(devs, i);
		const char *path = json_object_get_string(json_object_object_get(d, "path"));

		if (!strcmp(path, "/dev/null")) {
			null_seen = true;
			CHECK_STREQ(json_object_get_string(json_object_object_get(d, "type")), "c");
			CHECK_EQ(json_object_get_int(json_object_object_get(d, "major")), 1);
			CHECK_EQ(json_object_get_int(json_object_object_get(d, "minor")), 3);
		}
		if (!strncmp(path, "/dev/pts/", 9) || !strcmp(path, "/dev/console"))
			pts_seen = true;
	}
	CHECK(null_seen);
	CHECK(!pts_seen);
	rules = json_object_object_get(
		json_object_object_get(json_object_object_get(s, "linux"), "resources"), "devices");
	CHECK_STREQ(json(rules), "[{\"allow\":true,\"access\":\"rwm\"}]");
	json_object_put(s);
	/* Not a boolean as Go reads one: not privileged (the reference logs it). */
	s = workload_devices_spec("w31", ",\"io.microsoft.virtualmachine.lcow.privileged\":"
					 "\"yes\"}}");
	CHECK(s != NULL);
	CHECK(json_object_object_get(json_object_object_get(s, "linux"), "devices") == NULL ||
	      json_object_array_length(
		      json_object_object_get(json_object_object_get(s, "linux"), "devices")) == 0);
	json_object_put(s);
}

TEST(listed_devices_are_resolved_in_the_uvm)
{
	struct json_object *s;

	setup();
	/* The host's numbers are wrong on purpose: the UVM's node decides. */
	s = workload_devices_spec("w32", "},\"linux\":{\"devices\":[{\"path\":\"/dev/null\","
					 "\"type\":\"b\",\"major\":7,\"minor\":7}]}}");
	CHECK(s != NULL);
	CHECK_STREQ(json(json_object_object_get(json_object_object_get(s, "linux"), "devices")),
		    "[{\"path\":\"/dev/null\",\"type\":\"c\",\"major\":1,\"minor\":3,"
		    "\"fileMode\":438,\"uid\":0,\"gid\":0}]");
	CHECK_STREQ(json(json_object_object_get(
			    json_object_object_get(json_object_object_get(s, "linux"), "resources"),
			    "devices")),
		    "[{\"allow\":true,\"type\":\"c\",\"major\":1,\"minor\":3,\"access\":\"rwm\"}]");
	json_object_put(s);
	CHECK(workload_devices_spec("w33", "},\"linux\":{\"devices\":[{\"path\":"
					   "\"/dev/lcow-no-such-device\"}]}}") == NULL);
	CHECK_CONTAINS(last_error, "/dev/lcow-no-such-device: no such device in the UVM");
	CHECK(workload_devices_spec("w34", "},\"linux\":{\"devices\":[{\"path\":"
					   "\"/etc/passwd\"}]}}") == NULL);
	CHECK_CONTAINS(last_error, "not a path below /dev");
}

TEST(exec_process_inherits_rlimits_and_user)
{
	struct json_object *cspec, *proc;
	struct error e;

	setup();
	cspec = parse("{\"process\":{\"user\":{\"uid\":1001,\"gid\":1001,\"username\":\"bob\"},"
		      "\"rlimits\":[{\"type\":\"RLIMIT_NOFILE\",\"hard\":18446744073709551615,"
		      "\"soft\":1024},{\"type\":\"RLIMIT_NPROC\",\"hard\":77,\"soft\":77}]}}");
	/* The exec sets its own NPROC and no user: it keeps NPROC, gets NOFILE
	 * and the container's resolved user. */
	proc = parse("{\"args\":[\"id\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":\"RLIMIT_NPROC\","
		     "\"hard\":5,\"soft\":5}]}");
	CHECK_OK(oci_process_prepare(proc, cspec, NULL, &e));
	CHECK_STREQ(json(proc), "{\"args\":[\"id\"],\"cwd\":\"/\",\"rlimits\":[{\"type\":"
				"\"RLIMIT_NPROC\",\"hard\":5,\"soft\":5},{\"type\":"
				"\"RLIMIT_NOFILE\",\"hard\":18446744073709551615,\"soft\":1024}],"
				"\"user\":{\"uid\":1001,\"gid\":1001,\"username\":\"bob\"}}");
	json_object_put(proc);

	/* Its own username wins and is resolved in the rootfs. */
	char rootfs[128];
	path(rootfs, sizeof(rootfs), "rootfs");
	proc = parse("{\"args\":[\"id\"],\"user\":{\"uid\":0,\"gid\":0,\"username\":\"alice\"}}");
	CHECK_OK(oci_process_prepare(proc, cspec, rootfs, &e));
	CHECK_STREQ(
		json(json_object_object_get(proc, "user")),
		"{\"uid\":1000,\"gid\":1000,\"username\":\"alice\",\"additionalGids\":[10,50]}");
	json_object_put(proc);

	proc = parse("{\"user\":{\"username\":\"nobody-here\"}}");
	CHECK(oci_process_prepare(proc, cspec, rootfs, &e) < 0);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK(strstr(e.msg, "nobody-here") != NULL);
	json_object_put(proc);
	json_object_put(cspec);

	/* A container without a username leaves the exec's user alone. */
	cspec = parse("{\"process\":{\"user\":{\"uid\":5,\"gid\":5}}}");
	proc = parse("{\"user\":{\"uid\":0,\"gid\":0}}");
	CHECK_OK(oci_process_prepare(proc, cspec, rootfs, &e));
	CHECK_STREQ(json(proc), "{\"user\":{\"uid\":0,\"gid\":0}}");
	json_object_put(proc);
	json_object_put(cspec);
}

TEST(json_parse_errors)
{
	struct json_object *o;
	struct error e;

	CHECK(json_text_parse("{\"a\":1} x", 9, &o, &e) < 0);
	CHECK_EQ(e.kind, ERR_BAD_JSON);
	CHECK(json_text_parse("{\"a\":", 5, &o, &e) < 0);
	CHECK_EQ(e.kind, ERR_BAD_JSON);
	CHECK_OK(json_text_parse("null\n", 5, &o, &e));
	CHECK(o == NULL);
	CHECK_OK(json_text_parse(" [1] \n", 6, &o, &e));
	CHECK(json_object_is_type(o, json_type_array));
	json_object_put(o);
}

/* Map keys are Go's exactly as written: an annotation or sysctl named like
 * a field the gcs reads is not a second spelling of it. */
TEST(map_keys_may_look_like_fields)
{
	struct json_object *s;
	struct oci_prepare_opts o;
	struct oci_prepared p;
	struct error e;

	setup();
	s = spec_with(ROOTFS_SPEC(",\"annotations\":{\"Mounts\":\"x\",\"ROOT\":\"y\"},"
				  "\"linux\":{\"sysctl\":{\"Process\":\"1\"}}"));
	o = opts("m1", "bm1");
	CHECK_OK(prepare(s, &o, &p, &e));
	json_object_put(s);
}
