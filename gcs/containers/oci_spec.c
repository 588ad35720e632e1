#include "containers/oci_spec.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/json_file.h"
#include "core/log.h"
#include "core/dir_beneath.h"
#include "containers/devices.h"
#include "containers/sandbox_mounts.h"
#include "containers/spec_json.h"
#include "containers/user_lookup.h"

#define SANDBOX_PREFIX "sandbox://"
#define SANDBOX_TMP_PREFIX "sandbox-tmp://"
#define HUGEPAGES_PREFIX "hugepages://"
#define UVM_PREFIX "uvm://"
#define BLOCKDEV_PREFIX "blockdev://"

/* ---- files --------------------------------------------------------------- */

/* mkdir -p; directories it creates get exactly `mode` (umask ignored). */
static int mkdir_p(const char *path, mode_t mode)
{
	char buf[PATH_MAX];
	size_t len = strlen(path);

	if (len == 0 || len >= sizeof(buf))
		return -ENAMETOOLONG;
	/* The usual case first, one call: the path or only its last part is
	 * missing, or it exists (the host made the bundle). */
	if (mkdir(path, mode) == 0)
		return chmod(path, mode) < 0 ? -errno : 0;
	if (errno == EEXIST)
		return 0;
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
	return spec_member_bool(process, "terminal");
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
	struct json_object *ann = spec_member(spec, "annotations", json_type_object);
	const char *type = spec_member_str(ann, OCI_ANN_CONTAINER_TYPE);
	const char *sbid = spec_member_str(ann, OCI_ANN_SANDBOX_ID);

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
		const char *d =
			spec_member_str(json_object_array_get_idx(mounts, i), "destination");

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
	if (spec_set_member(m, "destination", json_object_new_string(dest), e) < 0 ||
	    spec_set_member(m, "type", json_object_new_string(type), e) < 0 ||
	    spec_set_member(m, "source", json_object_new_string(src), e) < 0 ||
	    spec_set_member(m, "options", string_array(opts, nopts), e) < 0) {
		json_object_put(m);
		return -ENOMEM;
	}
	return spec_array_push(mounts, m, e);
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
	bool ro = spec_member_bool(spec_member(spec, "root", json_type_object), "readonly");
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

#define BOUND_SOURCES_DIR "sources"

void oci_prepared_release(struct oci_prepared *p)
{
	char *slash;

	for (size_t i = 0; i < p->n_bound; i++) {
		/* Private first: the bind of a shared volume is a peer of it, and
		 * unmounting its copies of the volume's submounts would unmount
		 * them in every peer (the volume, the containers). Then detached:
		 * runc's mounts are copies in the container's namespace and stay. */
		mount(NULL, p->bound[i], NULL, MS_PRIVATE | MS_REC, NULL);
		if (umount2(p->bound[i], MNT_DETACH | UMOUNT_NOFOLLOW) == 0 &&
		    rmdir(p->bound[i]) < 0 && errno == ENOTDIR)
			unlink(p->bound[i]);
	}
	if (p->n_bound && (slash = strrchr(p->bound[0], '/'))) {
		*slash = '\0';
		rmdir(p->bound[0]); /* <bundle>/sources, once empty */
	}
	for (size_t i = 0; i < p->n_bound; i++)
		free(p->bound[i]);
	free(p->bound);
	p->bound = NULL;
	p->n_bound = 0;
}

/* The object fd was opened on (a directory or a file) bound at
 * <bundle>/sources/<n>, which becomes the mount's source. */
static int bind_held(int fd, const struct oci_prepare_opts *o, struct oci_prepared *p, char *out,
		     size_t size, struct error *e)
{
	char from[DIR_FD_PATH_MAX], dir[PATH_MAX];
	char **more = realloc(p->bound, (p->n_bound + 1) * sizeof(*more));
	struct stat st;
	int made;

	if (!more)
		return error_set(e, ERR_FAIL, ENOMEM, "out of memory");
	p->bound = more;
	snprintf(dir, sizeof(dir), "%s/%s", o->bundle, BOUND_SOURCES_DIR);
	if (snprintf(out, size, "%s/%zu", dir, p->n_bound) >= (int)size)
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "path too long: %s", dir);
	if (fstat(fd, &st) < 0)
		return error_errno(e, errno, "stat the mount source");
	if (mkdir(dir, 0700) < 0 && errno != EEXIST)
		return error_errno(e, errno, "create %s", dir);
	made = S_ISDIR(st.st_mode) ? mkdir(out, 0700) : mknodat(AT_FDCWD, out, S_IFREG | 0600, 0);
	if (made < 0)
		return error_errno(e, errno, "create %s", out);
	if (mount(dir_fd_path(fd, from), out, NULL, MS_BIND | MS_REC, NULL) < 0) {
		int err = errno;

		S_ISDIR(st.st_mode) ? rmdir(out) : unlink(out);
		return error_errno(e, err, "bind the mount source at %s", out);
	}
	if (!(p->bound[p->n_bound] = strdup(out))) {
		umount2(out, MNT_DETACH);
		return error_set(e, ERR_FAIL, ENOMEM, "out of memory");
	}
	p->n_bound++;
	return 0;
}

/* hugepages://<size>/<sub>: <sandbox>/hugepages/<size>/<sub>, a hugetlbfs
 * mount with that page size made on first use (workloads only, as the
 * reference), bound for runc like a volume. */
static int hugepages_source(const char *src, const char *sbroot, const struct oci_prepare_opts *o,
			    struct oci_prepared *p, char *out, size_t size, struct error *e)
{
	const char *rel = src + strlen(HUGEPAGES_PREFIX);
	char base[PATH_MAX], page[16], parent_rel[PATH_MAX], *name;
	_cleanup_close_ int parent = -1, dir = -1, top = -1;
	size_t n = strcspn(rel, "/");
	int rc;

	if (o->cls.kind != OCI_WORKLOAD)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "mount source %s: hugepages mounts are for pod workloads", src);
	if (n == 0 || n >= sizeof(page) || !rel[n] || !rel[n + 1 + strspn(rel + n + 1, "/")])
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "mount source %s: expected hugepages://<page size>/<name>", src);
	memcpy(page, rel, n);
	page[n] = '\0';
	if (!sandbox_page_size_valid(page))
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "mount source %s: page size \"%s\" is not a size such as 2M", src,
				 page);
	snprintf(base, sizeof(base), "%s/%s", sbroot, SANDBOX_HUGEPAGES_DIR);
	rc = join_under(base, rel, out, size, e);
	if (rc < 0)
		return rc;
	/* The parent is held, so the mount point found below it stays the
	 * one mounted on (a mount point cannot be renamed). */
	snprintf(parent_rel, sizeof(parent_rel), "%s", rel);
	for (n = strlen(parent_rel); n > 1 && parent_rel[n - 1] == '/'; n--)
		parent_rel[n - 1] = '\0';
	name = strrchr(parent_rel, '/'); /* there is one: <size>/<name> */
	*name++ = '\0';
	if ((parent = dir_open_beneath(base, parent_rel, 0777, 0, NULL, e)) < 0 ||
	    (dir = dir_openat_beneath(parent, out, name, 0777, 0, NULL, e)) < 0 ||
	    (rc = sandbox_hugetlbfs_mount(dir, page, out, e)) < 0)
		return error_prefix(e, "mount source %s", src);
	top = openat(parent, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (top < 0)
		return error_errno(e, errno, "mount source %s: open %s", src, out);
	return bind_held(top, o, p, out, size, e) < 0 ? error_prefix(e, "mount source %s", src) : 0;
}

/* The rewritten source of one mount, or "" when it stays as it is. */
static int rewrite_source(const char *src, const struct oci_prepare_opts *o, struct oci_prepared *p,
			  char *out, size_t size, struct error *e)
{
	_cleanup_close_ int fd = -1;
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
	if (!has_prefix(src, SANDBOX_PREFIX) && !has_prefix(src, SANDBOX_TMP_PREFIX) &&
	    !has_prefix(src, HUGEPAGES_PREFIX))
		return 0;
	if (!pod)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "mount source %s needs a pod sandbox, %s is standalone", src,
				 o->id);
	if (has_prefix(src, HUGEPAGES_PREFIX))
		return hugepages_source(src, sbroot, o, p, out, size, e);
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
	 * planted symlinks in it. runc resolves the source path again when it
	 * mounts: it gets a bind of what the walk reached, in the bundle. */
	fd = dir_open_beneath(base, rel, 0777, DIR_BENEATH_FILE_OK, NULL, e);
	if (fd < 0 || bind_held(fd, o, p, out, size, e) < 0)
		return error_prefix(e, "mount source %s", src);
	return 0;
}

static bool mount_has_option(struct json_object *m, const char *opt)
{
	struct json_object *opts = spec_member(m, "options", json_type_array);

	for (size_t i = 0; opts && i < json_object_array_length(opts); i++) {
		struct json_object *o = json_object_array_get_idx(opts, i);

		if (json_object_is_type(o, json_type_string) &&
		    !strcmp(json_object_get_string(o), opt))
			return true;
	}
	return false;
}

/* A "blockdev://" destination: the source device node is bind-mounted, so the
 * container's device cgroup must allow it. */
static int blockdev_mount(struct json_object *spec, struct json_object *m, const char *dest,
			  struct error *e)
{
	const char *src = spec_member_str(m, "source");
	struct json_object *lnx, *res, *devs, *rule;
	/* A read-only mount gets read access only, as the reference gives. */
	const char *access = mount_has_option(m, "ro") ? "r" : "rwm";
	struct stat st;

	if (!src || stat(src, &st) < 0)
		return error_set(e, ERR_INVALID_ARG, src ? errno : EINVAL,
				 "block device mount %s: source %s not found", dest,
				 src ? src : "(none)");
	if (!S_ISBLK(st.st_mode))
		return error_set(e, ERR_INVALID_ARG, ENOTBLK,
				 "block device mount %s: %s is not a block device", dest, src);
	if (!(lnx = spec_member_ensure(spec, "linux", json_type_object, e)) ||
	    !(res = spec_member_ensure(lnx, "resources", json_type_object, e)) ||
	    !(devs = spec_member_ensure(res, "devices", json_type_array, e)))
		return -EINVAL;
	rule = json_object_new_object();
	if (!rule || spec_set_member(rule, "allow", json_object_new_boolean(1), e) < 0 ||
	    spec_set_member(rule, "type", json_object_new_string("b"), e) < 0 ||
	    spec_set_member(rule, "major", json_object_new_int64(major(st.st_rdev)), e) < 0 ||
	    spec_set_member(rule, "minor", json_object_new_int64(minor(st.st_rdev)), e) < 0 ||
	    spec_set_member(rule, "access", json_object_new_string(access), e) < 0) {
		json_object_put(rule);
		return error_set(e, ERR_FAIL, ENOMEM, "spec: out of memory");
	}
	if (spec_array_push(devs, rule, e) < 0)
		return -ENOMEM;
	return spec_set_member(m, "destination",
			       json_object_new_string(dest + strlen(BLOCKDEV_PREFIX)), e);
}

static int rewrite_mounts(struct json_object *spec, struct json_object *mounts,
			  const struct oci_prepare_opts *o, struct oci_prepared *p, struct error *e)
{
	size_t n = json_object_array_length(mounts);
	char src[PATH_MAX];

	for (size_t i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(mounts, i);
		const char *s = spec_member_str(m, "source"),
			   *d = spec_member_str(m, "destination");
		int rc;

		if (d && has_prefix(d, BLOCKDEV_PREFIX)) {
			rc = blockdev_mount(spec, m, d, e);
			if (rc < 0)
				return rc;
		}
		if (!s)
			continue;
		rc = rewrite_source(s, o, p, src, sizeof(src), e);
		if (rc < 0)
			return rc;
		if (src[0] && spec_set_member(m, "source", json_object_new_string(src), e) < 0)
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
		const char *d = spec_member_str(m, "destination");
		char c[PATH_MAX];

		if (!d)
			continue;
		path_clean(d, c, sizeof(c));
		if (strcmp(c, "/dev/shm") != 0)
			continue;
		if (spec_set_member(m, "type", json_object_new_string("tmpfs"), e) < 0 ||
		    spec_set_member(m, "source", json_object_new_string("shm"), e) < 0 ||
		    spec_set_member(m, "options", string_array(opts, ARRAY_SIZE(opts)), e) < 0)
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
	rl = spec_member_ensure(process, "rlimits", json_type_array, e);
	if (!rl)
		return -EINVAL;
	n = json_object_array_length(rl);
	for (size_t i = 0; i < n && !entry; i++) {
		const char *t = spec_member_str(json_object_array_get_idx(rl, i), "type");

		if (t && !strcmp(t, "RLIMIT_CORE"))
			entry = json_object_array_get_idx(rl, i);
	}
	if (!entry) {
		entry = json_object_new_object();
		if (spec_set_member(entry, "type", json_object_new_string("RLIMIT_CORE"), e) < 0 ||
		    spec_array_push(rl, entry, e) < 0)
			return -ENOMEM;
	}
	if (spec_set_member(entry, "hard", json_object_new_uint64(hard), e) < 0 ||
	    spec_set_member(entry, "soft", json_object_new_uint64(soft), e) < 0)
		return -ENOMEM;
	return 0;
}

static void drop_namespace(struct json_object *spec, const char *type)
{
	struct json_object *ns = spec_member(spec_member(spec, "linux", json_type_object),
					     "namespaces", json_type_array);

	for (size_t i = 0; ns && i < json_object_array_length(ns); i++) {
		const char *t = spec_member_str(json_object_array_get_idx(ns, i), "type");

		if (t && !strcmp(t, type)) {
			json_object_array_del_idx(ns, i, 1);
			i--;
		}
	}
}

static bool new_namespace(struct json_object *spec, const char *type)
{
	struct json_object *ns = spec_member(spec_member(spec, "linux", json_type_object),
					     "namespaces", json_type_array);

	for (size_t i = 0; ns && i < json_object_array_length(ns); i++) {
		struct json_object *n = json_object_array_get_idx(ns, i);
		const char *t = spec_member_str(n, "type"), *p = spec_member_str(n, "path");

		if (t && !strcmp(t, type) && (!p || !*p))
			return true;
	}
	return false;
}

static int apply_annotations(struct json_object *spec, struct json_object *process,
			     struct json_object *mounts, const struct oci_prepare_opts *o,
			     struct error *e)
{
	struct json_object *ann = spec_member(spec, "annotations", json_type_object);
	const char *v;
	int rc;

	v = spec_member_str(ann, OCI_ANN_SHM_SIZE_KB);
	if (v && (rc = shm_size(mounts, v, e)) < 0)
		return rc;
	v = spec_member_str(ann, OCI_ANN_RLIMIT_CORE);
	if (v && (rc = rlimit_core(process, v, e)) < 0)
		return rc;
	if (o->cls.kind == OCI_WORKLOAD ? o->sandbox_host_network : oci_host_network(spec))
		drop_namespace(spec, "network");
	return 0;
}

bool oci_host_network(struct json_object *spec)
{
	const char *v = spec_member_str(spec_member(spec, "annotations", json_type_object),
					OCI_ANN_HOST_NETWORK);
	bool valid;

	return v && spec_parse_bool(v, &valid);
}

/* ---- devices ------------------------------------------------------------- */

/* The privileged annotation and linux.devices of a workload (devices.h). */
static int workload_devices(struct json_object *spec, const struct oci_prepare_opts *o,
			    struct error *e)
{
	struct json_object *ann = spec_member(spec, "annotations", json_type_object);
	const char *v = spec_member_str(ann, OCI_ANN_PRIVILEGED);
	bool valid = true, privileged = v && spec_parse_bool(v, &valid);

	if (!valid)
		log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("cid", o->id), LOG_STR("value", v)),
			   "annotation %s is not a boolean: the container is not privileged",
			   OCI_ANN_PRIVILEGED);
	return oci_devices_apply(spec, privileged, o->dev_root ? o->dev_root : "/dev", e);
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
	struct json_object *user = spec_member(process, "user", json_type_object), *add;
	const char *name = spec_member_str(user, "username");
	struct user_ids ids;
	int rc;

	if (!name || !*name)
		return 0;
	rc = user_lookup(rootfs, name, &ids, e);
	if (rc < 0)
		return rc;
	if (spec_set_member(user, "uid", json_object_new_int64(ids.uid), e) < 0 ||
	    spec_set_member(user, "gid", json_object_new_int64(ids.gid), e) < 0) {
		rc = -ENOMEM;
		goto out;
	}
	if (ids.n_additional == 0)
		goto out;
	add = spec_member_ensure(user, "additionalGids", json_type_array, e);
	if (!add) {
		rc = -EINVAL;
		goto out;
	}
	for (size_t i = 0; i < ids.n_additional && rc == 0; i++)
		if (!array_has_int(add, ids.additional_gids[i]))
			rc = spec_array_push(add, json_object_new_int64(ids.additional_gids[i]), e);
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
	const char *p = spec_member_str(spec_member(spec, "root", json_type_object), "path");
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
	struct json_object *win = spec_member(spec, "windows", json_type_object);
	const char *ns =
		spec_member_str(spec_member(win, "network", json_type_object), "networkNamespace");

	if (ns)
		snprintf(out->network_namespace, sizeof(out->network_namespace), "%s", ns);
	json_object_object_del(spec, "windows");
	return 0;
}

static int choose_hostname(struct json_object *spec, const struct oci_prepare_opts *o, char *buf,
			   size_t size, struct error *e)
{
	const char *h = spec_member_str(spec, "hostname");

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
	return spec_set_member(lnx, "cgroupsPath", json_object_new_string(out->cgroups_path), e);
}

static int prepare_spec(struct json_object *spec, const struct oci_prepare_opts *o,
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
	    check_terminal(spec_member(spec, "process", json_type_object), e) < 0)
		return -EINVAL;
	if (!id_valid(o->id))
		return error_set(e, ERR_INVALID_ARG, EINVAL, "invalid container id \"%s\"",
				 o->id ? o->id : "");
	if (o->cls.kind == OCI_WORKLOAD && (!o->sandbox_root || !*o->sandbox_root))
		return error_set(e, ERR_NO_CONTAINER, ENOENT, "sandbox %s of %s not found",
				 o->cls.sandbox_id, o->id);
	if (!(process = spec_member_ensure(spec, "process", json_type_object, e)) ||
	    !(lnx = spec_member_ensure(spec, "linux", json_type_object, e)) ||
	    !(mounts = spec_member_ensure(spec, "mounts", json_type_array, e)))
		return -EINVAL;
	if ((rc = root_path(spec, o->bundle, out, e)) < 0 || (rc = take_windows(spec, out)) < 0 ||
	    (rc = choose_hostname(spec, o, hostname, sizeof(hostname), e)) < 0)
		return rc;
	rc = mkdir_p(o->bundle, 0700);
	if (rc < 0)
		return error_errno(e, -rc, "create bundle %s", o->bundle);
	if (o->cls.kind == OCI_SANDBOX) {
		if ((rc = sandbox_mounts_setup(o->bundle, e)) < 0)
			return rc;
		out->sandbox_mounts = true;
	}
	if ((rc = apply_annotations(spec, process, mounts, o, e)) < 0 ||
	    (rc = etc_mounts(spec, mounts, o, hostname, e)) < 0 ||
	    (rc = rewrite_mounts(spec, mounts, o, out, e)) < 0 ||
	    (o->cls.kind == OCI_WORKLOAD && (rc = workload_devices(spec, o, e)) < 0) ||
	    (rc = set_cgroups_path(lnx, o, out, e)) < 0 ||
	    (rc = resolve_user(process, out->rootfs, e)) < 0)
		return rc;
	cwd = spec_member_str(process, "cwd");
	if (cwd && *cwd && strcmp(cwd, "/") != 0)
		make_cwd(out->rootfs, cwd);
	out->terminal = spec_member_bool(process, "terminal");
	out->new_pid_ns = new_namespace(spec, "pid");
	out->has_username =
		spec_member_str(spec_member(process, "user", json_type_object), "username") &&
		*spec_member_str(spec_member(process, "user", json_type_object), "username");
	return 0;
}

int oci_spec_prepare(struct json_object *spec, const struct oci_prepare_opts *o,
		     struct oci_prepared *out, struct error *e)
{
	int rc;

	memset(out, 0, sizeof(out[0]));
	rc = prepare_spec(spec, o, out, e);
	if (rc < 0) {
		struct error ignored;

		oci_prepared_release(out);
		if (out->sandbox_mounts)
			sandbox_mounts_teardown(o->bundle, &ignored);
		out->sandbox_mounts = false;
	}
	return rc;
}

/* ---- exec'd process ------------------------------------------------------ */

static bool rlimit_listed(struct json_object *rl, const char *type)
{
	for (size_t i = 0; i < json_object_array_length(rl); i++) {
		const char *t = spec_member_str(json_object_array_get_idx(rl, i), "type");

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
	return spec_array_push(dst_array, copy, e);
}

static int inherit_rlimits(struct json_object *process, struct json_object *cproc, struct error *e)
{
	struct json_object *crl = spec_member(cproc, "rlimits", json_type_array), *rl;

	if (!crl || json_object_array_length(crl) == 0)
		return 0;
	rl = spec_member_ensure(process, "rlimits", json_type_array, e);
	if (!rl)
		return -EINVAL;
	for (size_t i = 0; i < json_object_array_length(crl); i++) {
		struct json_object *r = json_object_array_get_idx(crl, i);
		const char *t = spec_member_str(r, "type");
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
	struct json_object *cproc = spec_member(container_spec, "process", json_type_object);
	struct json_object *cuser = spec_member(cproc, "user", json_type_object), *copy = NULL;
	const char *name =
		spec_member_str(spec_member(process, "user", json_type_object), "username");
	const char *cname = spec_member_str(cuser, "username");
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
	return spec_set_member(process, "user", copy, e);
}
