#include "containers/oci_spec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/json_file.h"
#include "core/dir_beneath.h"
#include "containers/user_lookup.h"

#define SANDBOX_PREFIX "sandbox://"
#define SANDBOX_TMP_PREFIX "sandbox-tmp://"
#define HUGEPAGES_PREFIX "hugepages://"
#define UVM_PREFIX "uvm://"
#define BLOCKDEV_PREFIX "blockdev://"

#define SANDBOX_MOUNTS_DIR "sandboxMounts"
#define SANDBOX_TMPFS_DIR "sandboxTmpfsMounts"

/* ---- json-c helpers ------------------------------------------------------ */

/* The member `key` of o if it has type t, else NULL. */
static struct json_object *member(struct json_object *o, const char *key, enum json_type t)
{
	struct json_object *v;

	if (!o || !json_object_is_type(o, json_type_object) ||
	    !json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, t))
		return NULL;
	return v;
}

static const char *member_str(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key, json_type_string);

	return v ? json_object_get_string(v) : NULL;
}

static bool member_bool(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key, json_type_boolean);

	return v && json_object_get_boolean(v);
}

/* The member `key` of type t, created empty when absent or null. A member of
 * another type is ERR_INVALID_ARG: the spec is malformed. */
static struct json_object *member_ensure(struct json_object *o, const char *key, enum json_type t,
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

static int set_member(struct json_object *o, const char *key, struct json_object *v,
		      struct error *e)
{
	if (!v || json_object_object_add(o, key, v) < 0) {
		json_object_put(v);
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	}
	return 0;
}

static int array_push(struct json_object *a, struct json_object *v, struct error *e)
{
	if (!v || json_object_array_add(a, v) < 0) {
		json_object_put(v);
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	}
	return 0;
}

/* ---- files --------------------------------------------------------------- */

/* mkdir -p; directories it creates get exactly `mode` (umask ignored). */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	memcpy(buf, path, len + 1);
	for (char *p = buf + 1;; p++) {
		if (*p != '/' && *p != '\0')
			continue;
		char c = *p;

		*p = '\0';
		if (mkdir(buf, mode) == 0) {
			if (chmod(buf, mode) < 0)
				return -errno;
		} else if (errno != EEXIST) {
			return -errno;
		}
		if (c == '\0')
			break;
		*p = c;
	}
	return 0;
}

/* ---- one spelling per key --------------------------------------------------- */

/* runc decodes the spec with Go's encoding/json, which matches a key to a
 * field case-insensitively (Unicode simple folding) and lets the last
 * match win; the gcs reads exact names. A "Mounts" next to, or instead of,
 * "mounts" would be honoured by runc and never seen by the gcs: a key that
 * folds to one the gcs reads must be that exact key. */
static const char *const read_keys[] = {
	"access",
	"additionalGids",
	"allow",
	"annotations",
	"cgroupsPath",
	"cwd",
	"destination",
	"devices",
	"gid",
	"hard",
	"hostname",
	"linux",
	"major",
	"minor",
	"mounts",
	"network",
	"networkNamespace",
	"options",
	"path",
	"process",
	"resources",
	"rlimits",
	"root",
	"soft",
	"source",
	"terminal",
	"type",
	"uid",
	"user",
	"username",
	"windows",
};

/* Maps, whose keys Go keeps as they are: not walked. */
static const char *const map_keys[] = {"annotations", "sysctl", "unified", "rdma"};

/* key folded as Go compares field names: ASCII case, and the two non-ASCII
 * letters whose simple fold is ASCII (U+212A KELVIN SIGN, U+017F LONG S). */
static void fold_key(const char *k, char *out, size_t size)
{
	size_t n = 0;

	while (*k && n + 1 < size) {
		if (!strncmp(k, "\xe2\x84\xaa", 3)) {
			out[n++] = 'k';
			k += 3;
		} else if (!strncmp(k, "\xc5\xbf", 2)) {
			out[n++] = 's';
			k += 2;
		} else {
			out[n++] = (char)((*k >= 'A' && *k <= 'Z') ? *k + 32 : *k);
			k++;
		}
	}
	out[n] = '\0';
}

static bool in_list(const char *const *list, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(list[i], key))
			return true;
	return false;
}

static int check_key(const char *key, const char *where, struct error *e)
{
	char f[128], g[128];

	if (in_list(read_keys, ARRAY_SIZE(read_keys), key))
		return 0;
	fold_key(key, f, sizeof(f));
	for (size_t i = 0; i < ARRAY_SIZE(read_keys); i++) {
		fold_key(read_keys[i], g, sizeof(g));
		if (!strcmp(f, g))
			return error_set(e, ERR_INVALID_ARG, EINVAL,
					 "OCI spec: key \"%s\" in %s would be read by runc as "
					 "\"%s\", which the gcs checks; use that exact name",
					 key, where, read_keys[i]);
	}
	return 0;
}

/* Every object below o, but for maps; where names it for the error. */
static int keys_canonical(struct json_object *o, const char *where, int depth, struct error *e)
{
	char sub[256];

	if (depth > 64)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "OCI spec: nested too deeply");
	if (json_object_is_type(o, json_type_array)) {
		for (size_t i = 0; i < json_object_array_length(o); i++) {
			snprintf(sub, sizeof(sub), "%s[%zu]", where, i);
			if (keys_canonical(json_object_array_get_idx(o, i), sub, depth + 1, e) < 0)
				return -EINVAL;
		}
		return 0;
	}
	if (!json_object_is_type(o, json_type_object))
		return 0;
	json_object_object_foreach (o, key, val) {
		if (check_key(key, where, e) < 0)
			return -EINVAL;
		if (in_list(map_keys, ARRAY_SIZE(map_keys), key))
			continue;
		snprintf(sub, sizeof(sub), "%s.%s", where, key);
		if (keys_canonical(val, sub, depth + 1, e) < 0)
			return -EINVAL;
	}
	return 0;
}

bool oci_process_terminal(struct json_object *process)
{
	return member_bool(process, "terminal");
}

/* process.terminal, when present, is a boolean: runc and the gcs must not
 * read it two ways. */
static int check_terminal(struct json_object *process, struct error *e)
{
	struct json_object *t;

	if (json_object_object_get_ex(process, "terminal", &t) && t &&
	    !json_object_is_type(t, json_type_boolean))
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "OCI spec: process.terminal must be a boolean");
	return 0;
}

/* ---- classification ------------------------------------------------------ */

/* Ids end up in cgroup and file paths and on runc's command line: keep them
 * to runc's id alphabet, starting with a letter, digit or '_' so that
 * neither runc ("-rf") nor a path ("..", ".x") can misread one. */
static bool id_valid(const char *id)
{
	if (!id || !*id || strlen(id) >= OCI_ID_MAX || strchr("+-.", id[0]))
		return false;
	for (const char *p = id; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && !strchr("_+-.", *p))
			return false;
	return true;
}

int oci_spec_classify(struct json_object *spec, const char *id, struct oci_class *out,
		      struct error *e)
{
	struct json_object *ann = member(spec, "annotations", json_type_object);
	const char *type = member_str(ann, OCI_ANN_CONTAINER_TYPE);
	const char *sbid = member_str(ann, OCI_ANN_SANDBOX_ID);

	memset(out, 0, sizeof(*out));
	if (!json_object_is_type(spec, json_type_object))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "OCI spec is not an object");
	if (!type) {
		out->kind = OCI_STANDALONE;
		return 0;
	}
	if (!strcmp(type, "sandbox")) {
		if (sbid && *sbid && strcmp(sbid, id) != 0)
			return error_set(e, ERR_INVALID_ARG, EINVAL,
					 "sandbox %s: annotation %s names another sandbox (%s)", id,
					 OCI_ANN_SANDBOX_ID, sbid);
		out->kind = OCI_SANDBOX;
		sbid = id;
	} else if (!strcmp(type, "container")) {
		if (!sbid || !*sbid)
			return error_set(e, ERR_INVALID_ARG, EINVAL,
					 "workload container %s has no %s annotation", id,
					 OCI_ANN_SANDBOX_ID);
		out->kind = OCI_WORKLOAD;
	} else {
		return error_set(e, ERR_INVALID_ARG, EINVAL, "unknown %s \"%s\"",
				 OCI_ANN_CONTAINER_TYPE, type);
	}
	if (!id_valid(sbid))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid sandbox id \"%s\"", sbid);
	snprintf(out->sandbox_id, sizeof(out->sandbox_id), "%s", sbid);
	return 0;
}

/* ---- hostname, hosts, resolv.conf ---------------------------------------- */

bool oci_hostname_valid(const char *h)
{
	size_t n = 0;

	for (; h[n]; n++)
		if (!(h[n] >= 'a' && h[n] <= 'z') && !(h[n] >= 'A' && h[n] <= 'Z') &&
		    !(h[n] >= '0' && h[n] <= '9') && !strchr("_-.", h[n]))
			return false;
	return n <= 255;
}

int oci_hosts_content(const char *hostname, char *buf, size_t size, struct error *e)
{
	size_t short_len = strcspn(hostname, ".");
	char line[600] = "";
	int n = 0;

	/* Whitespace or a control character would break the file's lines. */
	for (const char *p = hostname; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f)
			return error_set(e, ERR_INVALID_ARG, EINVAL,
					 "hostname \"%s\" cannot go into /etc/hosts", hostname);
	/* "127.0.0.1 name.domain name" so that the short name resolves too. */
	if (*hostname && hostname[short_len] && short_len > 0)
		n = snprintf(line, sizeof(line), "127.0.0.1 %s %.*s\n", hostname, (int)short_len,
			     hostname);
	else if (*hostname)
		n = snprintf(line, sizeof(line), "127.0.0.1 %s\n", hostname);
	/* Cut short, the line would lose its newline and swallow the next. */
	if (n < 0 || (size_t)n >= sizeof(line))
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG,
				 "hostname \"%.64s...\" is too long for /etc/hosts", hostname);
	n = snprintf(buf, size,
		     "127.0.0.1 localhost\n"
		     "%s"
		     "::1 localhost ip6-localhost ip6-loopback\n"
		     "fe00::0 ip6-localnet\n"
		     "ff00::0 ip6-mcastprefix\n"
		     "ff02::1 ip6-allnodes\n"
		     "ff02::2 ip6-allrouters\n",
		     line);
	if (n < 0 || (size_t)n >= size)
		return error_set(e, ERR_FAIL, ENOSPC, "hosts content too long");
	return n;
}

static int append(char *buf, size_t size, size_t *off, const char *s, struct error *e)
{
	size_t len = strlen(s);

	if (len >= size - *off)
		return error_set(e, ERR_FAIL, ENOSPC, "resolv.conf content too long");
	memcpy(buf + *off, s, len + 1);
	*off += len;
	return 0;
}

/* "<word> v1 v2 ...\n" as one line, or one "<word> v\n" line per value. */
static int resolv_append(char *buf, size_t size, size_t *off, const char *word,
			 const char *const *vals, size_t n, bool one_line, struct error *e)
{
	for (size_t i = 0; i < n; i++) {
		bool first = !one_line || i == 0, last = !one_line || i + 1 == n;

		if (!vals[i] || !*vals[i] || strpbrk(vals[i], " \t\r\n#;"))
			return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid DNS %s value \"%s\"",
					 word, vals[i] ? vals[i] : "");
		if ((first && append(buf, size, off, word, e) < 0) ||
		    append(buf, size, off, " ", e) < 0 || append(buf, size, off, vals[i], e) < 0 ||
		    (last && append(buf, size, off, "\n", e) < 0))
			return -ENOSPC;
	}
	return 0;
}

int oci_resolv_content(const struct net_dns *dns, char *buf, size_t size, struct error *e)
{
	size_t off = 0;
	int rc;

	if (size == 0)
		return error_set(e, ERR_FAIL, ENOSPC, "resolv.conf content too long");
	buf[0] = '\0';
	if (dns->nsearch > NET_DNS_SEARCH_MAX)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "%zu DNS search domains, at most %d are allowed", dns->nsearch,
				 NET_DNS_SEARCH_MAX);
	rc = resolv_append(buf, size, &off, "search", dns->search, dns->nsearch, true, e);
	if (rc == 0)
		rc = resolv_append(buf, size, &off, "nameserver", dns->servers, dns->nservers,
				   false, e);
	if (rc == 0)
		rc = resolv_append(buf, size, &off, "options", dns->options, dns->noptions, true,
				   e);
	return rc < 0 ? rc : (int)off;
}

/* ---- mounts -------------------------------------------------------------- */

/* Canonical form of an absolute path for comparison: no "//", "/./" or
 * trailing "/". */
static void path_clean(const char *in, char *out, size_t size)
{
	size_t o = 0;

	while (*in && o + 2 < size) {
		while (*in == '/')
			in++;
		if (in[0] == '.' && (in[1] == '/' || in[1] == '\0')) {
			in++;
			continue;
		}
		if (!*in)
			break;
		out[o++] = '/';
		while (*in && *in != '/' && o + 1 < size)
			out[o++] = *in++;
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = '\0';
}

static bool mount_present(struct json_object *mounts, const char *dest)
{
	size_t n = json_object_array_length(mounts);
	char a[PATH_MAX], b[PATH_MAX];

	path_clean(dest, b, sizeof(b));
	for (size_t i = 0; i < n; i++) {
		const char *d = member_str(json_object_array_get_idx(mounts, i), "destination");

		if (!d)
			continue;
		path_clean(d, a, sizeof(a));
		if (!strcmp(a, b))
			return true;
	}
	return false;
}

static struct json_object *string_array(const char *const *v, size_t n)
{
	struct json_object *a = json_object_new_array();

	for (size_t i = 0; a && i < n; i++)
		if (json_object_array_add(a, json_object_new_string(v[i])) < 0) {
			json_object_put(a);
			return NULL;
		}
	return a;
}

static int mount_add(struct json_object *mounts, const char *dest, const char *type,
		     const char *src, const char *const *opts, size_t nopts, struct error *e)
{
	struct json_object *m = json_object_new_object();

	if (!m)
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	if (set_member(m, "destination", json_object_new_string(dest), e) < 0 ||
	    set_member(m, "type", json_object_new_string(type), e) < 0 ||
	    set_member(m, "source", json_object_new_string(src), e) < 0 ||
	    set_member(m, "options", string_array(opts, nopts), e) < 0) {
		json_object_put(m);
		return -ENOMEM;
	}
	return array_push(mounts, m, e);
}

/* /etc/hostname, /etc/hosts, /etc/resolv.conf (§6.1). */
static const char *const etc_files[] = {"hostname", "hosts", "resolv.conf"};

static int etc_content(const char *file, const char *hostname, const struct net_dns *dns, char *buf,
		       size_t size, struct error *e)
{
	int n;

	if (!strcmp(file, "hostname")) {
		n = snprintf(buf, size, "%s\n", hostname);
		return n < 0 || (size_t)n >= size ? error_set(e, ERR_FAIL, ENOSPC, "hostname") : n;
	}
	if (!strcmp(file, "hosts"))
		return oci_hosts_content(hostname, buf, size, e);
	return oci_resolv_content(dns, buf, size, e);
}

static int etc_mounts(struct json_object *spec, struct json_object *mounts,
		      const struct oci_prepare_opts *o, const char *hostname, struct error *e)
{
	const char *root = o->cls.kind == OCI_WORKLOAD ? o->sandbox_root : o->bundle;
	bool ro = member_bool(member(spec, "root", json_type_object), "readonly");
	const char *opts[] = {"bind", "ro"};
	char dest[64], src[PATH_MAX], content[4096];

	for (size_t i = 0; i < ARRAY_SIZE(etc_files); i++) {
		int n;

		snprintf(dest, sizeof(dest), "/etc/%s", etc_files[i]);
		if (mount_present(mounts, dest))
			continue;
		if (snprintf(src, sizeof(src), "%s/%s", root, etc_files[i]) >= (int)sizeof(src))
			return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "path too long: %s",
					 root);
		/* A workload shares the files its sandbox wrote. */
		if (o->cls.kind != OCI_WORKLOAD) {
			n = etc_content(etc_files[i], hostname, &o->dns, content, sizeof(content),
					e);
			if (n < 0 || file_write_atomic(src, content, (size_t)n, 0644, e) < 0)
				return error_prefix(e, "%s", dest);
		}
		if (mount_add(mounts, dest, "bind", src, opts, ro ? 2 : 1, e) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Joins base + "/" + rel, refusing ".." components (rel comes from the
 * host and must stay under base). */
static int join_under(const char *base, const char *rel, char *out, size_t size, struct error *e)
{
	const char *p = rel;

	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 2 && p[0] == '.' && p[1] == '.')
			return error_set(e, ERR_INVALID_ARG, EINVAL,
					 "\"..\" in mount source \"%s\"", rel);
		p += len;
		p += strspn(p, "/");
	}
	while (*rel == '/')
		rel++;
	if (snprintf(out, size, "%s/%s", base, rel) >= (int)size)
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "path too long: %s", rel);
	return 0;
}

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* The rewritten source of one mount, or "" when it stays as it is. */
static int rewrite_source(const char *src, const struct oci_prepare_opts *o, char *out, size_t size,
			  struct error *e)
{
	const char *sbroot = o->cls.kind == OCI_SANDBOX ? o->bundle : o->sandbox_root;
	bool pod = o->cls.kind != OCI_STANDALONE;
	char base[PATH_MAX];
	const char *rel;
	struct stat st;
	int rc;

	out[0] = '\0';
	if (has_prefix(src, UVM_PREFIX)) {
		src += strlen(UVM_PREFIX);
		if (stat(src, &st) < 0)
			return error_set(e, ERR_INVALID_ARG, errno, "uvm mount source %s: %s", src,
					 strerror(errno));
		snprintf(out, size, "%s", src);
		return 0;
	}
	if (has_prefix(src, HUGEPAGES_PREFIX))
		return error_set(e, ERR_NOT_IMPLEMENTED, ENOTSUP,
				 "mount source %s: hugepages mounts are not supported", src);
	if (!has_prefix(src, SANDBOX_PREFIX) && !has_prefix(src, SANDBOX_TMP_PREFIX))
		return 0;
	if (!pod)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "mount source %s needs a pod sandbox, %s is standalone", src,
				 o->id);
	if (has_prefix(src, SANDBOX_PREFIX)) {
		rel = src + strlen(SANDBOX_PREFIX);
		snprintf(base, sizeof(base), "%s/%s", sbroot, SANDBOX_MOUNTS_DIR);
	} else {
		rel = src + strlen(SANDBOX_TMP_PREFIX);
		snprintf(base, sizeof(base), "%s/%s", sbroot, SANDBOX_TMPFS_DIR);
	}
	rc = join_under(base, rel, out, size, e);
	if (rc < 0)
		return rc;
	/* Missing sources are made, 0777 as the reference does, inside the
	 * sandbox only: the volume is shared with workloads, which may have
	 * planted symlinks in it. */
	rc = dir_mkdirs_beneath(base, rel, 0777, DIR_BENEATH_FILE_OK, NULL, e);
	if (rc < 0)
		return error_prefix(e, "mount source %s", src);
	return 0;
}

/* A "blockdev://" destination: the source device node is bind-mounted, so the
 * container's device cgroup must allow it. */
static int blockdev_mount(struct json_object *spec, struct json_object *m, const char *dest,
			  struct error *e)
{
	const char *src = member_str(m, "source");
	struct json_object *lnx, *res, *devs, *rule;
	struct stat st;

	if (!src || stat(src, &st) < 0)
		return error_set(e, ERR_INVALID_ARG, src ? errno : EINVAL,
				 "block device mount %s: source %s not found", dest,
				 src ? src : "(none)");
	if (!S_ISBLK(st.st_mode))
		return error_set(e, ERR_INVALID_ARG, ENOTBLK,
				 "block device mount %s: %s is not a block device", dest, src);
	if (!(lnx = member_ensure(spec, "linux", json_type_object, e)) ||
	    !(res = member_ensure(lnx, "resources", json_type_object, e)) ||
	    !(devs = member_ensure(res, "devices", json_type_array, e)))
		return -EINVAL;
	rule = json_object_new_object();
	if (!rule || set_member(rule, "allow", json_object_new_boolean(1), e) < 0 ||
	    set_member(rule, "type", json_object_new_string("b"), e) < 0 ||
	    set_member(rule, "major", json_object_new_int64(major(st.st_rdev)), e) < 0 ||
	    set_member(rule, "minor", json_object_new_int64(minor(st.st_rdev)), e) < 0 ||
	    set_member(rule, "access", json_object_new_string("rwm"), e) < 0) {
		json_object_put(rule);
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	}
	if (array_push(devs, rule, e) < 0)
		return -ENOMEM;
	return set_member(m, "destination", json_object_new_string(dest + strlen(BLOCKDEV_PREFIX)),
			  e);
}

static int rewrite_mounts(struct json_object *spec, struct json_object *mounts,
			  const struct oci_prepare_opts *o, struct error *e)
{
	size_t n = json_object_array_length(mounts);
	char src[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i);
		const char *s = member_str(m, "source"), *d = member_str(m, "destination");
		int rc;

		if (d && has_prefix(d, BLOCKDEV_PREFIX)) {
			rc = blockdev_mount(spec, m, d, e);
			if (rc < 0)
				return rc;
		}
		if (!s)
			continue;
		rc = rewrite_source(s, o, src, sizeof(src), e);
		if (rc < 0)
			return rc;
		if (src[0] && set_member(m, "source", json_object_new_string(src), e) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* ---- annotations --------------------------------------------------------- */

static bool parse_u64(const char *s, uint64_t *out)
{
	char *end;

	if (!s || *s < '0' || *s > '9')
		return false;
	errno = 0;
	*out = strtoull(s, &end, 10);
	return errno == 0 && *end == '\0';
}

static int shm_size(struct json_object *mounts, const char *val, struct error *e)
{
	char size_opt[48];
	const char *opts[] = {"nosuid", "noexec", "nodev", "mode=1777", size_opt};
	size_t n = json_object_array_length(mounts);
	uint64_t kb;

	if (!parse_u64(val, &kb) || kb == 0)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid %s \"%s\"",
				 OCI_ANN_SHM_SIZE_KB, val);
	snprintf(size_opt, sizeof(size_opt), "size=%" PRIu64 "k", kb);
	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i);
		const char *d = member_str(m, "destination");
		char c[PATH_MAX];

		if (!d)
			continue;
		path_clean(d, c, sizeof(c));
		if (strcmp(c, "/dev/shm") != 0)
			continue;
		if (set_member(m, "type", json_object_new_string("tmpfs"), e) < 0 ||
		    set_member(m, "source", json_object_new_string("shm"), e) < 0 ||
		    set_member(m, "options", string_array(opts, ARRAY_SIZE(opts)), e) < 0)
			return -ENOMEM;
		return 0;
	}
	return mount_add(mounts, "/dev/shm", "tmpfs", "shm", opts, ARRAY_SIZE(opts), e);
}

static int rlimit_core(struct json_object *process, const char *val, struct error *e)
{
	char buf[64], *semi;
	uint64_t soft, hard;
	struct json_object *rl, *entry = NULL;
	size_t n;

	snprintf(buf, sizeof(buf), "%s", val);
	semi = strchr(buf, ';');
	if (semi)
		*semi++ = '\0';
	if (!semi || !parse_u64(buf, &soft) || !parse_u64(semi, &hard) || soft > hard)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid %s \"%s\" (want soft;hard)",
				 OCI_ANN_RLIMIT_CORE, val);
	rl = member_ensure(process, "rlimits", json_type_array, e);
	if (!rl)
		return -EINVAL;
	n = json_object_array_length(rl);
	for (size_t i = 0; i < n && !entry; i++) {
		const char *t = member_str(json_object_array_get_idx(rl, i), "type");

		if (t && !strcmp(t, "RLIMIT_CORE"))
			entry = json_object_array_get_idx(rl, i);
	}
	if (!entry) {
		entry = json_object_new_object();
		if (set_member(entry, "type", json_object_new_string("RLIMIT_CORE"), e) < 0 ||
		    array_push(rl, entry, e) < 0)
			return -ENOMEM;
	}
	if (set_member(entry, "hard", json_object_new_uint64(hard), e) < 0 ||
	    set_member(entry, "soft", json_object_new_uint64(soft), e) < 0)
		return -ENOMEM;
	return 0;
}

static void drop_namespace(struct json_object *spec, const char *type)
{
	struct json_object *ns =
		member(member(spec, "linux", json_type_object), "namespaces", json_type_array);

	for (size_t i = 0; ns && i < json_object_array_length(ns); i++) {
		const char *t = member_str(json_object_array_get_idx(ns, i), "type");

		if (t && !strcmp(t, type)) {
			json_object_array_del_idx(ns, i, 1);
			i--;
		}
	}
}

static bool new_namespace(struct json_object *spec, const char *type)
{
	struct json_object *ns =
		member(member(spec, "linux", json_type_object), "namespaces", json_type_array);

	for (size_t i = 0; ns && i < json_object_array_length(ns); i++) {
		struct json_object *n = json_object_array_get_idx(ns, i);
		const char *t = member_str(n, "type"), *p = member_str(n, "path");

		if (t && !strcmp(t, type) && (!p || !*p))
			return true;
	}
	return false;
}

static int apply_annotations(struct json_object *spec, struct json_object *process,
			     struct json_object *mounts, struct error *e)
{
	struct json_object *ann = member(spec, "annotations", json_type_object);
	const char *v;
	int rc;

	v = member_str(ann, OCI_ANN_SHM_SIZE_KB);
	if (v && (rc = shm_size(mounts, v, e)) < 0)
		return rc;
	v = member_str(ann, OCI_ANN_RLIMIT_CORE);
	if (v && (rc = rlimit_core(process, v, e)) < 0)
		return rc;
	v = member_str(ann, OCI_ANN_HOST_NETWORK);
	if (v && !strcmp(v, "true"))
		drop_namespace(spec, "network");
	return 0;
}

/* ---- user ---------------------------------------------------------------- */

static bool array_has_int(struct json_object *a, int64_t v)
{
	for (size_t i = 0; i < json_object_array_length(a); i++) {
		struct json_object *x = json_object_array_get_idx(a, i);

		if (json_object_is_type(x, json_type_int) && json_object_get_int64(x) == v)
			return true;
	}
	return false;
}

/* Resolves process.user.username into uid, gid and additionalGids (the
 * user's groups are added to any the host listed). */
static int resolve_user(struct json_object *process, const char *rootfs, struct error *e)
{
	struct json_object *user = member(process, "user", json_type_object), *add;
	const char *name = member_str(user, "username");
	struct user_ids ids;
	int rc;

	if (!name || !*name)
		return 0;
	rc = user_lookup(rootfs, name, &ids, e);
	if (rc < 0)
		return rc;
	if (set_member(user, "uid", json_object_new_int64(ids.uid), e) < 0 ||
	    set_member(user, "gid", json_object_new_int64(ids.gid), e) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (ids.n_additional == 0)
		goto out;
	add = member_ensure(user, "additionalGids", json_type_array, e);
	if (!add) {
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < ids.n_additional && rc == 0; i++)
		if (!array_has_int(add, ids.additional_gids[i]))
			rc = array_push(add, json_object_new_int64(ids.additional_gids[i]), e);
out:
	user_ids_free(&ids);
	return rc;
}

/* ---- cwd ----------------------------------------------------------------- */

/* mkdir -p <rootfs>/<cwd> without following symlinks, so an image cannot make
 * the GCS create directories outside its rootfs. runc reports a cwd it still
 * cannot use, so failures here are ignored. */
static void make_cwd(const char *rootfs, const char *cwd)
{
	struct error ignored;

	dir_mkdirs_beneath(rootfs, cwd, 0755, 0, NULL, &ignored);
}

/* ---- prepare ------------------------------------------------------------- */

static int root_path(struct json_object *spec, const char *bundle, struct oci_prepared *out,
		     struct error *e)
{
	const char *p = member_str(member(spec, "root", json_type_object), "path");
	int n;

	if (!p || !*p)
		return error_set(e, ERR_INVALID_ARG, EINVAL, "spec has no root.path");
	n = p[0] == '/' ? snprintf(out->rootfs, sizeof(out->rootfs), "%s", p)
			: snprintf(out->rootfs, sizeof(out->rootfs), "%s/%s", bundle, p);
	if (n >= (int)sizeof(out->rootfs))
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "root.path too long");
	return 0;
}

static int take_windows(struct json_object *spec, struct oci_prepared *out)
{
	struct json_object *win = member(spec, "windows", json_type_object);
	const char *ns = member_str(member(win, "network", json_type_object), "networkNamespace");

	if (ns)
		snprintf(out->network_namespace, sizeof(out->network_namespace), "%s", ns);
	json_object_object_del(spec, "windows");
	return 0;
}

static int choose_hostname(struct json_object *spec, const struct oci_prepare_opts *o, char *buf,
			   size_t size, struct error *e)
{
	const char *h = member_str(spec, "hostname");

	if (o->cls.kind == OCI_WORKLOAD) {
		if (h && *h)
			return error_set(e, ERR_INVALID_ARG, EINVAL,
					 "workload container %s must not set a hostname (\"%s\")",
					 o->id, h);
		return 0;
	}
	/* Only the spec's name is checked, as the reference does: the UVM's
	 * is whatever the kernel has, "(none)" when nobody named the UVM,
	 * which is the case under every host. */
	if (h && *h) {
		if (!oci_hostname_valid(h))
			return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid hostname \"%s\"", h);
		snprintf(buf, size, "%s", h);
	} else if (o->uvm_hostname) {
		snprintf(buf, size, "%s", o->uvm_hostname);
	} else if (gethostname(buf, size) < 0) {
		return error_errno(e, errno, "gethostname");
	}
	buf[size - 1] = '\0';
	return 0;
}

static int set_cgroups_path(struct json_object *lnx, const struct oci_prepare_opts *o,
			    struct oci_prepared *out, struct error *e)
{
	int n;

	if (o->cgroup_per_pod && o->cls.kind != OCI_STANDALONE)
		n = snprintf(out->cgroups_path, sizeof(out->cgroups_path), "%s/%s/%s",
			     o->cgroup_parent, o->cls.sandbox_id, o->id);
	else
		n = snprintf(out->cgroups_path, sizeof(out->cgroups_path), "%s/%s",
			     o->cgroup_parent, o->id);
	if (n >= (int)sizeof(out->cgroups_path))
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "cgroups path too long");
	return set_member(lnx, "cgroupsPath", json_object_new_string(out->cgroups_path), e);
}

static int sandbox_dirs(const char *bundle, struct error *e)
{
	static const char *const dirs[] = {SANDBOX_MOUNTS_DIR, SANDBOX_TMPFS_DIR, "logs"};
	char p[PATH_MAX];

	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		int rc;

		snprintf(p, sizeof(p), "%s/%s", bundle, dirs[i]);
		rc = mkdir_p(p, 0755);
		if (rc < 0)
			return error_errno(e, -rc, "create %s", p);
	}
	return 0;
}

int oci_spec_prepare(struct json_object *spec, const struct oci_prepare_opts *o,
		     struct oci_prepared *out, struct error *e)
{
	struct json_object *process, *lnx, *mounts;
	char hostname[256] = "";
	const char *cwd;
	int rc;

	memset(out, 0, sizeof(out[0]));
	if (!json_object_is_type(spec, json_type_object))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "OCI spec is not an object");
	if (keys_canonical(spec, "the spec", 0, e) < 0 ||
	    check_terminal(member(spec, "process", json_type_object), e) < 0)
		return -EINVAL;
	if (!id_valid(o->id))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid container id \"%s\"",
				 o->id ? o->id : "");
	if (o->cls.kind == OCI_WORKLOAD && (!o->sandbox_root || !*o->sandbox_root))
		return error_set(e, ERR_NO_CONTAINER, ENOENT, "sandbox %s of %s not found",
				 o->cls.sandbox_id, o->id);
	if (!(process = member_ensure(spec, "process", json_type_object, e)) ||
	    !(lnx = member_ensure(spec, "linux", json_type_object, e)) ||
	    !(mounts = member_ensure(spec, "mounts", json_type_array, e)))
		return -EINVAL;
	if ((rc = root_path(spec, o->bundle, out, e)) < 0 || (rc = take_windows(spec, out)) < 0 ||
	    (rc = choose_hostname(spec, o, hostname, sizeof(hostname), e)) < 0)
		return rc;
	rc = mkdir_p(o->bundle, 0700);
	if (rc < 0)
		return error_errno(e, -rc, "create bundle %s", o->bundle);
	if (o->cls.kind == OCI_SANDBOX && (rc = sandbox_dirs(o->bundle, e)) < 0)
		return rc;
	if ((rc = apply_annotations(spec, process, mounts, e)) < 0 ||
	    (rc = etc_mounts(spec, mounts, o, hostname, e)) < 0 ||
	    (rc = rewrite_mounts(spec, mounts, o, e)) < 0 ||
	    (rc = set_cgroups_path(lnx, o, out, e)) < 0 ||
	    (rc = resolve_user(process, out->rootfs, e)) < 0)
		return rc;
	cwd = member_str(process, "cwd");
	if (cwd && *cwd && strcmp(cwd, "/") != 0)
		make_cwd(out->rootfs, cwd);
	out->terminal = member_bool(process, "terminal");
	out->new_pid_ns = new_namespace(spec, "pid");
	out->has_username = member_str(member(process, "user", json_type_object), "username") &&
			    *member_str(member(process, "user", json_type_object), "username");
	return 0;
}

/* ---- exec'd process ------------------------------------------------------ */

static bool rlimit_listed(struct json_object *rl, const char *type)
{
	for (size_t i = 0; i < json_object_array_length(rl); i++) {
		const char *t = member_str(json_object_array_get_idx(rl, i), "type");

		if (t && !strcmp(t, type))
			return true;
	}
	return false;
}

static int copy_into(struct json_object *dst_array, struct json_object *src, struct error *e)
{
	struct json_object *copy = NULL;

	if (json_object_deep_copy(src, &copy, NULL) < 0)
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	return array_push(dst_array, copy, e);
}

static int inherit_rlimits(struct json_object *process, struct json_object *cproc, struct error *e)
{
	struct json_object *crl = member(cproc, "rlimits", json_type_array), *rl;

	if (!crl || json_object_array_length(crl) == 0)
		return 0;
	rl = member_ensure(process, "rlimits", json_type_array, e);
	if (!rl)
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(crl); i++) {
		struct json_object *r = json_object_array_get_idx(crl, i);
		const char *t = member_str(r, "type");
		int rc;

		if (!t || rlimit_listed(rl, t))
			continue;
		rc = copy_into(rl, r, e);
		if (rc < 0)
			return rc;
	}
	return 0;
}

int oci_process_prepare(struct json_object *process, struct json_object *container_spec,
			const char *rootfs, struct error *e)
{
	struct json_object *cproc = member(container_spec, "process", json_type_object);
	struct json_object *cuser = member(cproc, "user", json_type_object), *copy = NULL;
	const char *name = member_str(member(process, "user", json_type_object), "username");
	const char *cname = member_str(cuser, "username");
	int rc;

	if (!json_object_is_type(process, json_type_object))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "OciProcess is not an object");
	if (keys_canonical(process, "the OciProcess", 0, e) < 0 || check_terminal(process, e) < 0)
		return -EINVAL;
	rc = inherit_rlimits(process, cproc, e);
	if (rc < 0)
		return rc;
	if (name && *name)
		return resolve_user(process, rootfs, e);
	if (!cname || !*cname)
		return 0;
	/* The container's user, already resolved at Create. */
	if (json_object_deep_copy(cuser, &copy, NULL) < 0)
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	return set_member(process, "user", copy, e);
}
