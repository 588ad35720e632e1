/* libFuzzer target: the OCI spec of a Create and the OciProcess of an exec
 * (gcs/containers/oci_spec.c) and user lookup in a container's rootfs
 * (gcs/containers/user_lookup.c).
 *
 * Input: up to five sections separated by NUL bytes:
 *   spec \0 process \0 passwd \0 group \0 user
 * - spec: JSON text -> json_text_parse() -> oci_spec_classify() (id "c1")
 *   -> oci_spec_prepare() with the bundle, the sandbox root and the rootfs
 *   in a temporary directory made once (on /dev/shm when there is one);
 *   what prepare mounts (binds for runc, a sandbox's rshared volumes,
 *   hugetlbfs) is unmounted after each input, as the gcs does;
 * - process: JSON text -> oci_process_prepare() against the prepared spec
 *   (or the raw one when prepare refused it);
 * - passwd, group: written as <rootfs>/etc/passwd and etc/group before the
 *   run, so the database parser of user_lookup() reads them (absent
 *   sections leave the files empty);
 * - user: passed to user_lookup() directly.
 * root.path is the one value rewritten before prepare: a string is pointed
 * at the temporary rootfs (absolute stays absolute, relative stays
 * relative to the bundle), so that the cwd prepare creates and the
 * databases it reads are the temporary ones; uvm:// and blockdev:// sources
 * are only stat()ed by the code. The bytes in the spec reach everything
 * else unchanged: annotations, mounts (sandbox:// sources create
 * directories in the temporary sandbox), hostname, user, rlimits, keys.
 *
 * Asserted (abort on violation):
 * - classify: a sandbox's sandbox id is its own id; a workload's is
 *   non-empty; a standalone container has none;
 * - prepare: rootfs is the temporary one; cgroups_path is
 *   <parent>[/<sandbox>]/c1 and written into linux.cgroupsPath; no
 *   `windows` left; /etc/hostname, /etc/hosts and /etc/resolv.conf are
 *   mounted; no mount source still names sandbox://, sandbox-tmp:// or
 *   uvm://; a resolved username has numeric uid and gid;
 * - process prepare: every rlimit type of the container is in the process;
 * - user_lookup: a numeric user (group) gives that uid (gid); additional
 *   groups are ascending, without duplicates, and never the primary gid;
 * - nothing is left behind: after each input, the directories of the
 *   temporary tree hold what they held at start-up (what a run created is
 *   removed; anything else appearing aborts).
 * Plus ASan/UBSan and the leak checker. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <json-c/json.h>

#include "containers/oci_spec.h"
#include "containers/sandbox_mounts.h"
#include "containers/user_lookup.h"
#include "core/json_file.h"

#define ID "c1"

static char tmp[PATH_MAX], bundle[PATH_MAX], sandbox[PATH_MAX], rootfs[PATH_MAX];
static int passwd_fd = -1, group_fd = -1;

/* Directories whose contents must not change from one input to the next:
 * their link count and size (on tmpfs, the number of entries) at start-up,
 * and the names they held. */
struct watched {
	char path[PATH_MAX];
	nlink_t nlink;
	off_t size;
	char names[8][32];
	int n;
};
static struct watched watched[16];
static int n_watched;

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "fuzz_oci_spec: %s: %s\n", what, detail ? detail : "");
	abort();
}

static void mkdir_or_die(const char *p)
{
	if (mkdir(p, 0755) < 0 && errno != EEXIST)
		die("mkdir", p);
}

static void watch(const char *path)
{
	struct watched *w = &watched[n_watched++];
	struct stat st;
	DIR *d = NULL;
	struct dirent *de;

	snprintf(w->path, sizeof(w->path), "%s", path);
	if (stat(path, &st) < 0 || !(d = opendir(path)))
		die("watch", path);
	w->nlink = st.st_nlink;
	w->size = st.st_size;
	while ((de = readdir(d)))
		if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..") && w->n < 8)
			snprintf(w->names[w->n++], sizeof(w->names[0]), "%s", de->d_name);
	closedir(d);
}

static int rm_one(const char *p, const struct stat *st, int flag, struct FTW *f)
{
	return flag == FTW_DP ? rmdir(p) : unlink(p);
}

/* Removes what a run added below a watched directory. */
static void restore(struct watched *w)
{
	DIR *d = opendir(w->path);
	struct dirent *de;
	char p[PATH_MAX * 2];

	if (!d)
		die("opendir", w->path);
	while ((de = readdir(d))) {
		bool keep = !strcmp(de->d_name, ".") || !strcmp(de->d_name, "..");

		for (int i = 0; i < w->n && !keep; i++)
			keep = !strcmp(de->d_name, w->names[i]);
		if (keep)
			continue;
		snprintf(p, sizeof(p), "%s/%s", w->path, de->d_name);
		if (nftw(p, rm_one, 16, FTW_DEPTH | FTW_PHYS) < 0)
			die("cannot remove", p);
	}
	closedir(d);
}

static void check_tree(void)
{
	for (int i = 0; i < n_watched; i++) {
		struct watched *w = &watched[i];
		struct stat st;

		if (stat(w->path, &st) < 0 || !S_ISDIR(st.st_mode))
			die("a directory of the temporary tree is gone", w->path);
		if (st.st_nlink == w->nlink && st.st_size == w->size)
			continue;
		restore(w);
		if (stat(w->path, &st) < 0 || st.st_nlink != w->nlink || st.st_size != w->size)
			die("cannot restore", w->path);
	}
}

static void cleanup_tmp(void)
{
	if (tmp[0])
		nftw(tmp, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp";
	static const char *const bundle_dirs[] = {"sandboxMounts", "sandboxTmpfsMounts", "logs"};
	static const char *const bundle_files[] = {"hostname", "hosts", "resolv.conf"};
	char p[PATH_MAX * 2];

	/* What prepare mounts (binds, a sandbox's volumes, hugetlbfs) stays in
	 * a mount namespace of our own: none of it reaches the machine's, even
	 * when the fuzzer is killed in the middle of an input. */
	if (unshare(CLONE_NEWNS) == 0 && mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
		die("make the mount namespace private", strerror(errno));
	snprintf(tmp, sizeof(tmp), "%s/lcow-fuzz-oci_spec-XXXXXX", base);
	if (!mkdtemp(tmp))
		die("mkdtemp", tmp);
	atexit(cleanup_tmp);
	snprintf(bundle, sizeof(bundle), "%s/bundle", tmp);
	snprintf(sandbox, sizeof(sandbox), "%s/sandbox", tmp);
	snprintf(rootfs, sizeof(rootfs), "%s/rootfs", tmp);
	mkdir_or_die(bundle);
	mkdir_or_die(sandbox);
	mkdir_or_die(rootfs);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", bundle, bundle_dirs[i]);
		mkdir_or_die(p);
		snprintf(p, sizeof(p), "%s/%s", sandbox, bundle_dirs[i]);
		mkdir_or_die(p);
		snprintf(p, sizeof(p), "%s/%s", bundle, bundle_files[i]);
		close(open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
	}
	snprintf(p, sizeof(p), "%s/etc", rootfs);
	mkdir_or_die(p);
	snprintf(p, sizeof(p), "%s/etc/passwd", rootfs);
	passwd_fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	snprintf(p, sizeof(p), "%s/etc/group", rootfs);
	group_fd = open(p, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
	if (passwd_fd < 0 || group_fd < 0)
		die("create the databases", rootfs);
	watch(tmp);
	watch(bundle);
	watch(sandbox);
	watch(rootfs);
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/%s", bundle, bundle_dirs[i]);
		watch(p);
		snprintf(p, sizeof(p), "%s/%s", sandbox, bundle_dirs[i]);
		watch(p);
	}
	snprintf(p, sizeof(p), "%s/etc", rootfs);
	watch(p);
	return 0;
}

static void set_file(int fd, const char *data, size_t len)
{
	if (ftruncate(fd, 0) < 0 || (len && pwrite(fd, data, len, 0) != (ssize_t)len))
		die("write a database", strerror(errno));
}

static struct json_object *member(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (!json_object_is_type(o, json_type_object) || !json_object_object_get_ex(o, key, &v))
		return NULL;
	return v;
}

static const char *member_str(struct json_object *o, const char *key)
{
	struct json_object *v = member(o, key);

	return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* Points a string root.path at the temporary rootfs. */
static void redirect_root(struct json_object *spec)
{
	struct json_object *root = member(spec, "root");
	const char *p = member_str(root, "path");
	char rel[PATH_MAX + 8];

	if (!p || !*p)
		return;
	if (p[0] == '/')
		snprintf(rel, sizeof(rel), "%s", rootfs);
	else
		snprintf(rel, sizeof(rel), "../rootfs");
	json_object_object_add(root, "path", json_object_new_string(rel));
}

static void check_class(const struct oci_class *c)
{
	switch (c->kind) {
	case OCI_STANDALONE:
		if (c->sandbox_id[0])
			die("standalone container with a sandbox id", c->sandbox_id);
		return;
	case OCI_SANDBOX:
		if (strcmp(c->sandbox_id, ID))
			die("sandbox whose sandbox id is not its own", c->sandbox_id);
		return;
	case OCI_WORKLOAD:
		if (!c->sandbox_id[0])
			die("workload without a sandbox id", NULL);
		return;
	}
	die("unknown kind", NULL);
}

/* a and b are equal once every '/' and '.' is dropped. */
static bool same_stripped(const char *a, const char *b)
{
	for (;;) {
		a += strspn(a, "/.");
		b += strspn(b, "/.");
		if (*a != *b)
			return false;
		if (!*a)
			return true;
		a++;
		b++;
	}
}

/* The mount sources of the spec as the host sent it: an absolute source is
 * a UVM path the host names, passed to runc as it is (".." and all); only
 * what prepare rewrote (sandbox://, hugepages://, ...) must stay inside. */
static char *sent_sources[64];
static size_t n_sent_sources;

static void note_sent_sources(struct json_object *spec)
{
	struct json_object *mounts = member(spec, "mounts");

	n_sent_sources = 0;
	if (!json_object_is_type(mounts, json_type_array))
		return;
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		const char *s = member_str(json_object_array_get_idx(mounts, i), "source");

		if (s && n_sent_sources < sizeof(sent_sources) / sizeof(sent_sources[0]))
			sent_sources[n_sent_sources++] = strdup(s);
	}
}

static bool was_sent(const char *s)
{
	for (size_t i = 0; i < n_sent_sources; i++)
		if (sent_sources[i] && !strcmp(sent_sources[i], s))
			return true;
	return false;
}

static void forget_sent_sources(void)
{
	for (size_t i = 0; i < n_sent_sources; i++)
		free(sent_sources[i]);
	n_sent_sources = 0;
}

static void check_prepared(struct json_object *spec, const struct oci_prepare_opts *o,
			   const struct oci_prepared *out)
{
	struct json_object *mounts = member(spec, "mounts"), *user;
	char want[PATH_MAX * 2];
	const char *cg = member_str(member(spec, "linux"), "cgroupsPath");
	static const char *const etc[] = {"/etc/hostname", "/etc/hosts", "/etc/resolv.conf"};

	if (strcmp(out->rootfs, rootfs) &&
	    !(starts(out->rootfs, bundle) && !strcmp(out->rootfs + strlen(bundle), "/../rootfs")))
		die("prepared rootfs is not the temporary one", out->rootfs);
	if (o->cgroup_per_pod && o->cls.kind != OCI_STANDALONE)
		snprintf(want, sizeof(want), "%s/%s/%s", o->cgroup_parent, o->cls.sandbox_id, ID);
	else
		snprintf(want, sizeof(want), "%s/%s", o->cgroup_parent, ID);
	if (strcmp(out->cgroups_path, want) || !cg || strcmp(cg, out->cgroups_path))
		die("cgroupsPath", out->cgroups_path);
	if (member(spec, "windows"))
		die("windows left in the spec", NULL);
	if (!json_object_is_type(mounts, json_type_array))
		die("mounts is not an array", NULL);
	/* Each of them is mounted, by prepare or by the spec itself (whose
	 * spelling may differ: "/./etc//hosts/"; without '/' and '.' both
	 * read "etchosts", a comparison that can only be too lenient). */
	for (size_t k = 0; k < 3; k++) {
		bool found = false;

		for (size_t i = 0; i < json_object_array_length(mounts) && !found; i++) {
			const char *d =
				member_str(json_object_array_get_idx(mounts, i), "destination");

			found = d && same_stripped(d, etc[k]);
		}
		if (!found)
			die("not mounted", etc[k]);
	}
	for (size_t i = 0; i < json_object_array_length(mounts); i++) {
		const char *s = member_str(json_object_array_get_idx(mounts, i), "source");

		if (s && (starts(s, "sandbox://") || starts(s, "sandbox-tmp://") ||
			  starts(s, "uvm://") || starts(s, "hugepages://")))
			die("mount source not rewritten", s);
		if (s && (starts(s, bundle) || starts(s, sandbox)) && strstr(s, "/../") &&
		    !was_sent(s))
			die("rewritten source climbs out", s);
	}
	user = member(member(spec, "process"), "user");
	if (out->has_username && (!json_object_is_type(member(user, "uid"), json_type_int) ||
				  !json_object_is_type(member(user, "gid"), json_type_int)))
		die("username resolved without numeric ids", json_object_to_json_string(user));
}

static void check_process(struct json_object *process, struct json_object *spec)
{
	struct json_object *crl = member(member(spec, "process"), "rlimits");
	struct json_object *rl = member(process, "rlimits");

	for (size_t i = 0;
	     json_object_is_type(crl, json_type_array) && i < json_object_array_length(crl); i++) {
		const char *t = member_str(json_object_array_get_idx(crl, i), "type");
		bool found = false;

		for (size_t j = 0; t && json_object_is_type(rl, json_type_array) &&
				   j < json_object_array_length(rl) && !found;
		     j++)
			found = !strcmp(t,
					member_str(json_object_array_get_idx(rl, j), "type") ?: "");
		if (t && !found)
			die("container rlimit not inherited", t);
	}
}

static bool numeric(const char *s, uint32_t *v)
{
	unsigned long long n = 0;

	if (!*s)
		return false;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return false;
		n = n * 10 + (unsigned)(*s - '0');
		if (n >= UINT32_MAX)
			return false;
	}
	*v = (uint32_t)n;
	return true;
}

static void lookup(const char *user)
{
	struct user_ids ids;
	struct error e;
	char u[256];
	char *g;
	uint32_t v;

	if (user_lookup(rootfs, user, &ids, &e) < 0) {
		if (ids.additional_gids || ids.n_additional)
			die("failed lookup left additional gids", user);
		return;
	}
	snprintf(u, sizeof(u), "%s", user);
	g = strchr(u, ':');
	if (g)
		*g++ = '\0';
	if (numeric(u, &v) && ids.uid != v)
		die("numeric uid not kept", user);
	if (g && numeric(g, &v) && ids.gid != v)
		die("numeric gid not kept", user);
	for (size_t i = 0; i < ids.n_additional; i++) {
		if (ids.additional_gids[i] == ids.gid)
			die("primary gid among the additional ones", user);
		if (i && ids.additional_gids[i] <= ids.additional_gids[i - 1])
			die("additional gids not ascending and unique", user);
	}
	user_ids_free(&ids);
}

/* The next NUL-separated section of the input; NULL after the last. */
static char *section(char **p, char *end)
{
	char *s = *p;

	if (!s || s > end)
		return NULL;
	*p = memchr(s, '\0', (size_t)(end - s));
	if (*p)
		(*p)++;
	else
		*p = NULL;
	return s;
}

/* What prepare mounted, as the gcs undoes it: the binds runc got (after
 * runc create), a sandbox's shared volumes and the hugetlbfs mounts a
 * workload made in its sandbox's (at the sandbox's Delete). */
static void undo_mounts(struct oci_prepared *out)
{
	struct error e;

	oci_prepared_release(out);
	if (sandbox_mounts_teardown(bundle, &e) < 0 || sandbox_mounts_teardown(sandbox, &e) < 0)
		die("unmount the sandbox volumes", e.msg);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const search[] = {"example.com"}, *const servers[] = {"10.0.0.1"};
	char *buf = malloc(size + 1), *cur = buf, *end, *spec_s, *proc_s, *pw, *gr, *user;
	struct json_object *spec = NULL, *process = NULL;
	struct oci_prepare_opts o = {0};
	struct oci_prepared out;
	struct error e;
	bool prepared = false;

	if (!buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	end = buf + size;
	spec_s = section(&cur, end);
	proc_s = section(&cur, end);
	pw = section(&cur, end);
	gr = section(&cur, end);
	user = section(&cur, end);
	set_file(passwd_fd, pw ? pw : "", pw ? strlen(pw) : 0);
	set_file(group_fd, gr ? gr : "", gr ? strlen(gr) : 0);

	if (json_text_parse(spec_s, strlen(spec_s), &spec, &e) == 0 && spec) {
		redirect_root(spec);
		if (oci_spec_classify(spec, ID, &o.cls, &e) == 0) {
			check_class(&o.cls);
			o.id = ID;
			o.bundle = bundle;
			o.sandbox_root = o.cls.kind == OCI_WORKLOAD ? sandbox : NULL;
			o.cgroup_parent = "/pods";
			o.cgroup_per_pod = size & 1;
			o.uvm_hostname = "uvm";
			o.dns.search = search;
			o.dns.nsearch = 1;
			o.dns.servers = servers;
			o.dns.nservers = 1;
			note_sent_sources(spec);
			if (oci_spec_prepare(spec, &o, &out, &e) == 0) {
				prepared = true;
				check_prepared(spec, &o, &out);
			}
		}
		(void)oci_process_terminal(member(spec, "process"));
		if (member_str(spec, "hostname"))
			(void)oci_hostname_valid(member_str(spec, "hostname"));
	}
	if (proc_s && json_text_parse(proc_s, strlen(proc_s), &process, &e) == 0 && process) {
		if (oci_process_prepare(process, spec, rootfs, &e) == 0 && prepared)
			check_process(process, spec);
		json_object_put(process);
	}
	if (user)
		lookup(user);
	if (prepared)
		undo_mounts(&out);
	forget_sent_sources();
	json_object_put(spec);
	free(buf);
	check_tree();
	return 0;
}
