/* The container runtime's configuration and start-up work (spec §6.5):
 * finding runc, the cgroups /gcs and the containers parent with the memory
 * reserve, moving the gcs into /gcs, refreshing the parent's limit every
 * 60 s (memory hot-add), and the allowed roots of bundle paths.
 *
 * Configuration by environment, as the storage code does, so that hcsshim's
 * command line stays exactly the reference's:
 *   LCOW_CGROUP_ROOT     cgroup mount point (default /sys/fs/cgroup)
 *   LCOW_CGROUP_PREFIX   every cgroup of the gcs lives below it (default ""
 *                        in the VM); an off-VM gcs (-transport unix:...)
 *                        runs containers only when it is set, so that a
 *                        test gcs never touches the machine's own cgroups
 *   LCOW_RUNC_ROOT       runc --root (default: runc's own, /run/runc)
 *   LCOW_RUNC_TMP_DIR    per-call pid files, console sockets, process.json
 *                        (default /run/gcsrunc)
 *   LCOW_BUNDLE_ROOTS    colon-separated directories added to the allowed
 *                        roots of OciBundlePath and ScratchDirPath
 *   LCOW_SCRATCH_ROOTS   colon-separated directories added to the allowed
 *                        roots of ScratchDirPath only (where tests mount
 *                        what the VM mounts under /run/mounts)
 *
 * ScratchDirPath may also lie below /run/mounts: v0.12 hosts mount the
 * scratch disk at /run/mounts/scsi/m<N> (their SCSI manager has no guest
 * path for it) and send ScratchDirPath /run/mounts/scsi/m<N>/scratch/<id>.
 *   LCOW_CGROUP_REFRESH_MS  period of the parent-limit refresh (default
 *                        60000, the reference's), so tests need not wait
 *
 * The containers parent: HEAD hosts expect /pods (per-pod sub-cgroups),
 * v0.11 hosts /containers/<id> (§6.5). Both send the same Create (hcsshim
 * clears linux.cgroupsPath: "GCS controls its cgroup hierarchy"), and the
 * host never reads the guest's cgroup paths, so the choice is made per
 * Create from what the host does say:
 *   1. a non-empty linux.cgroupsPath whose first element is "containers" or
 *      "pods" names the parent (an explicit hint is followed);
 *   2. an OciBundlePath below /run/gcs/pods/ is the V2 shim's layout, which
 *      only HEAD hosts use: /pods;
 *   3. otherwise /pods, the current reference's layout.
 * /pods is set up at start; /containers on its first use, with the same
 * limit. */
#include "containers/container.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "storage/guest_path.h"
#include "core/log.h"
#include "core/loop.h"
#include "options.h"
#include "storage/storage.h"

#define REFRESH_MS (60 * 1000)
#define REFRESH_MIN_MS 10
#define MAX_ROOTS 8
#define DEFAULT_RUNC_TMP "/run/gcsrunc"

static const char *const parent_names[PARENT_COUNT] = {"pods", "containers"};

static struct {
	bool enabled;
	char why[ERROR_MSG_MAX];
	char runc_bin[PATH_MAX];
	char runc_root[256];
	char runc_tmp[256];
	struct runc_config rc;
	struct cgroup_config cg[PARENT_COUNT];
	bool cg_ready[PARENT_COUNT];
	pthread_mutex_t lock; /* cg_ready, and setting a parent up */
	uint64_t reserve;
	struct storage_config paths, scratch_paths;
	const char *roots[MAX_ROOTS + 1], *scratch_roots[2 * MAX_ROOTS + 2];
	struct gcs *gcs;
	uint64_t refresh_ms;
	bool refreshing;
} rt = {.lock = PTHREAD_MUTEX_INITIALIZER};

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

int container_runtime_check(struct error *err)
{
	if (!rt.enabled)
		return error_set(err, ERR_FAIL, ENOTSUP, "containers are not available: %s",
				 rt.why[0] ? rt.why : "not set up");
	return 0;
}

const struct runc_config *container_runc(void)
{
	return &rt.rc;
}

static void disable(const char *why)
{
	snprintf(rt.why, sizeof(rt.why), "%s", why);
	rt.enabled = false;
	log_fields(LOG_WARN, LOG_FIELDS(LOG_STR("reason", why)), "containers are not available");
}

/* ---- the parent ------------------------------------------------------------ */

static bool first_element_is(const char *path, const char *name)
{
	size_t n = strlen(name);

	while (*path == '/')
		path++;
	return strncmp(path, name, n) == 0 && (path[n] == '/' || path[n] == '\0');
}

enum container_parent container_choose_parent(struct json_object *spec, const char *bundle)
{
	struct json_object *lnx, *cp;
	const char *hint = NULL;

	if (json_object_object_get_ex(spec, "linux", &lnx) &&
	    json_object_object_get_ex(lnx, "cgroupsPath", &cp) &&
	    json_object_is_type(cp, json_type_string))
		hint = json_object_get_string(cp);
	if (hint && first_element_is(hint, "containers"))
		return PARENT_CONTAINERS;
	if (hint && first_element_is(hint, "pods"))
		return PARENT_PODS;
	if (bundle && strncmp(bundle, "/run/gcs/pods/", 14) == 0)
		return PARENT_PODS;
	return PARENT_PODS;
}

static int setup_parent(enum container_parent p, struct error *e)
{
	uint64_t total = 0;
	int rc;

	rc = cgroup_total_ram(&total, e);
	if (rc == 0)
		rc = cgroup_setup(&rt.cg[p], total, rt.reserve, e);
	if (rc < 0)
		return error_prefix(e, "cgroup /%s", parent_names[p]);
	rt.cg_ready[p] = true;
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_STR("prefix", rt.cg[p].prefix),
			      LOG_STR("parent", parent_names[p]),
			      LOG_UINT("limit", total - rt.reserve)),
		   "containers cgroup parent set up");
	return 0;
}

int container_cgroup(enum container_parent p, const struct cgroup_config **out, struct error *e)
{
	int rc = 0;

	pthread_mutex_lock(&rt.lock);
	if (!rt.cg_ready[p])
		rc = setup_parent(p, e);
	pthread_mutex_unlock(&rt.lock);
	*out = rc < 0 ? NULL : &rt.cg[p];
	return rc;
}

int container_refresh_limits(struct error *e)
{
	int rc = 0;

	pthread_mutex_lock(&rt.lock);
	for (int p = 0; p < PARENT_COUNT && rc == 0; p++)
		if (rt.cg_ready[p])
			rc = cgroup_refresh_parent_limit(&rt.cg[p], rt.reserve, e);
	pthread_mutex_unlock(&rt.lock);
	return rc;
}

/* ---- bundle paths --------------------------------------------------------------- */

static int path_check(const struct storage_config *paths, const char *what, const char *path,
		      char *out, size_t size, struct error *e)
{
	struct guest_path gp;
	int rc = guest_path_check(paths, what, path, 0, &gp, e);

	if (rc < 0)
		return rc;
	if (snprintf(out, size, "%s", gp.path) >= (int)size)
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "%s is too long", what);
	return 0;
}

int container_bundle_check(const char *path, char *out, size_t size, struct error *e)
{
	return path_check(&rt.paths, "OciBundlePath", path, out, size, e);
}

int container_scratch_check(const char *path, char *out, size_t size, struct error *e)
{
	return path_check(&rt.scratch_paths, "ScratchDirPath", path, out, size, e);
}

/* Appends the colon-separated absolute directories of env var `name` to
 * roots (n used, at most max); returns the new count. The copy is kept for
 * the life of the gcs. */
static size_t add_roots(const char **roots, size_t n, size_t max, const char *name)
{
	char *copy = env(name) ? strdup(env(name)) : NULL, *save = NULL;

	for (char *r = copy ? strtok_r(copy, ":", &save) : NULL; r;
	     r = strtok_r(NULL, ":", &save)) {
		if (r[0] != '/' || !r[1] || n == max)
			log_warn("%s: '%s' ignored", name, r);
		else
			roots[n++] = r;
	}
	roots[n] = NULL;
	return n;
}

static void set_roots(void)
{
	size_t n = 0, k = 0;

	rt.roots[n++] = "/run/gcs/c";
	rt.roots[n++] = "/run/gcs/pods";
	n = add_roots(rt.roots, n, MAX_ROOTS, "LCOW_BUNDLE_ROOTS");
	for (size_t i = 0; i < n; i++)
		rt.scratch_roots[k++] = rt.roots[i];
	rt.scratch_roots[k++] = "/run/mounts";
	add_roots(rt.scratch_roots, k, 2 * MAX_ROOTS + 1, "LCOW_SCRATCH_ROOTS");
	storage_config_init(&rt.paths);
	rt.paths.allowed_roots = rt.roots;
	storage_config_init(&rt.scratch_paths);
	rt.scratch_paths.allowed_roots = rt.scratch_roots;
}

/* ---- runc ------------------------------------------------------------------------ */

static void hook_begin(void *ctx)
{
	loop_child_begin(ctx);
}

static void hook_end(void *ctx, pid_t pid)
{
	loop_child_end(ctx, pid);
}

static int setup_runc(struct gcs *g, struct error *e)
{
	int rc = runc_find(rt.runc_bin, sizeof(rt.runc_bin), e);

	if (rc < 0)
		return rc;
	snprintf(rt.runc_root, sizeof(rt.runc_root), "%s",
		 env("LCOW_RUNC_ROOT") ? env("LCOW_RUNC_ROOT") : "");
	snprintf(rt.runc_tmp, sizeof(rt.runc_tmp), "%s",
		 env("LCOW_RUNC_TMP_DIR") ? env("LCOW_RUNC_TMP_DIR") : DEFAULT_RUNC_TMP);
	rt.rc = (struct runc_config){
		.runc = rt.runc_bin,
		.root = rt.runc_root[0] ? rt.runc_root : NULL,
		.tmp_dir = rt.runc_tmp,
		.child_begin = hook_begin,
		.child_end = hook_end,
		.wait_child = loop_child_wait,
		.wait_ctx = g->loop,
	};
	return 0;
}

/* ---- the periodic refresh ------------------------------------------------------------ */

static int refresh_job(void *data, struct error *err)
{
	return container_refresh_limits(err);
}

static void schedule_refresh(struct loop *l);

static void refresh_done(struct loop *l, int rc, const struct error *err, void *data)
{
	rt.refreshing = false;
	if (rc == -ECANCELED)
		return;
	if (rc < 0)
		log_warn("refreshing the containers' memory limit: %s", err ? err->msg : "?");
	schedule_refresh(l);
}

static void on_refresh(struct loop *l, void *data)
{
	struct error err;

	if (rt.refreshing)
		return;
	if (loop_job(l, refresh_job, refresh_done, NULL, &err) < 0) {
		log_warn("refreshing the containers' memory limit: %s", err.msg);
		schedule_refresh(l);
		return;
	}
	rt.refreshing = true;
}

static void schedule_refresh(struct loop *l)
{
	if (!loop_timer_add(l, rt.refresh_ms, on_refresh, NULL))
		log_warn("the containers' memory limit will not follow hot-added memory: out of "
			 "memory");
}

/* ---- start-up --------------------------------------------------------------------------- */

static int setup_cgroups(struct gcs *g, struct error *e)
{
	const char *root = env("LCOW_CGROUP_ROOT") ? env("LCOW_CGROUP_ROOT") : CGROUP_DEFAULT_ROOT;
	const char *prefix = env("LCOW_CGROUP_PREFIX");
	const struct cgroup_config *pods;
	int rc;

	if (g->transport.is_unix && !prefix)
		return error_set(e, ERR_FAIL, EPERM,
				 "an off-VM gcs (-transport unix:...) runs containers only with "
				 "LCOW_CGROUP_PREFIX set, so as not to use the machine's own "
				 "cgroups");
	if (prefix && !strcmp(prefix, "/"))
		prefix = "";
	rt.reserve = g->opts ? g->opts->root_mem_reserve_bytes : CGROUP_DEFAULT_RESERVE;
	for (int p = 0; p < PARENT_COUNT; p++) {
		rc = cgroup_config_init(&rt.cg[p], root, prefix, parent_names[p], e);
		if (rc < 0)
			return rc;
	}
	rc = container_cgroup(PARENT_PODS, &pods, e);
	if (rc < 0)
		return rc;
	rc = cgroup_move_to_gcs(pods, getpid(), e);
	if (rc < 0)
		return rc;
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_STR("layout", rt.cg[0].layout == CGROUP_V1 ? "v1" : "v2"),
			      LOG_STR("prefix", rt.cg[0].prefix), LOG_UINT("reserve", rt.reserve)),
		   "gcs moved into its cgroup");
	return 0;
}

int container_runtime_start(struct gcs *g, struct error *err)
{
	struct error e;

	rt.gcs = g;
	set_roots();
	if (setup_runc(g, &e) < 0 || setup_cgroups(g, &e) < 0) {
		disable(e.msg);
		return 0; /* the gcs still serves the UVM's own processes */
	}
	rt.enabled = true;
	rt.refresh_ms = REFRESH_MS;
	if (env("LCOW_CGROUP_REFRESH_MS")) {
		unsigned long long ms = strtoull(env("LCOW_CGROUP_REFRESH_MS"), NULL, 10);

		rt.refresh_ms = ms >= REFRESH_MIN_MS ? ms : REFRESH_MS;
	}
	schedule_refresh(g->loop);
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_STR("runc", rt.runc_bin),
			      LOG_STR("root", rt.runc_root[0] ? rt.runc_root : "(runc's default)"),
			      LOG_STR("tmp", rt.runc_tmp), LOG_UINT("refreshMs", rt.refresh_ms)),
		   "containers ready");
	return 0;
}
