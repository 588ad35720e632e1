#include "modules.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>
#include <linux/module.h>

#include "cleanup.h"
#include "klog.h"
#include "modules_index.h"
#include "modules_plan.h"
#include "pages.h"
#include "steps.h"

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

int init_module_finit(const char *path, void *ctx)
{
	_cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
	unsigned int flags = 0;

	(void)ctx;
	if (fd < 0)
		return -errno;
	if (ends_with(path, ".xz") || ends_with(path, ".zst") || ends_with(path, ".gz"))
		flags |= MODULE_INIT_COMPRESSED_FILE;
	if (syscall(SYS_finit_module, fd, "", flags) < 0)
		return -errno;
	return 0;
}

struct coldplug {
	const char *dir;
	const struct mod_index *ix;
	unsigned char *done;
	mod_load_fn load;
	void *ctx;
	struct mod_coldplug_result *res;
};

static void load_one(struct coldplug *c, size_t mod, const char *name)
{
	const char *path = c->ix->mods[mod].path;
	char full[4096];
	int r;

	if (path[0] == '/')
		snprintf(full, sizeof(full), "%s", path);
	else
		snprintf(full, sizeof(full), "%s/%s", c->dir, path);
	r = c->load(full, c->ctx);
	if (r == 0 || r == -EEXIST) {
		klog(KLOG_INFO, "modules: loaded %s", name);
		c->res->loaded++;
		return;
	}
	klog(KLOG_WARN, "modules: loading %s: %s (errno %d); going on", name, strerror(-r), -r);
	c->res->failed++;
}

static void run_plan(struct coldplug *c, const struct mod_plan *plan)
{
	char name[64];

	for (size_t i = 0; i < plan->n; i++) {
		size_t mod = plan->steps[i].mod;

		c->done[mod] = 1;
		mod_name(c->ix->mods[mod].path, name, sizeof(name));
		if (plan->steps[i].action == MOD_LOAD) {
			load_one(c, mod, name);
			continue;
		}
		klog(KLOG_NOTICE,
		     "modules: VMBus present: not loading %s (hv_sock is the vsock transport "
		     "on Hyper-V)",
		     name);
		c->res->skipped++;
	}
}

static int coldplug_passes(struct coldplug *c, const char *sysfs, unsigned int max_passes)
{
	struct mod_plan plan;
	int r;

	for (;;) {
		r = mod_plan_pass(c->ix, sysfs, c->done, &plan);
		if (r < 0)
			return r;
		if (plan.n == 0 || c->res->passes == max_passes)
			break;
		c->res->passes++;
		run_plan(c, &plan);
		mod_plan_free(&plan);
	}
	/* The last plan is only counted when the bound stopped the loop. */
	c->res->unfinished = plan.n;
	if (plan.n)
		klog(KLOG_WARN, "modules: still finding modules to load after %u passes; stopping",
		     max_passes);
	mod_plan_free(&plan);
	return 0;
}

int init_modules_coldplug(const char *dir, const char *sysfs, unsigned int max_passes,
			  mod_load_fn load, void *ctx, struct mod_coldplug_result *res)
{
	struct coldplug c = {.dir = dir, .load = load, .ctx = ctx, .res = res};
	struct mod_index ix;
	int r;

	memset(res, 0, sizeof(*res));
	r = mod_index_load(&ix, dir);
	if (r < 0)
		return r;
	c.ix = &ix;
	c.done = pages_alloc(ix.n_mods);
	if (!c.done) {
		mod_index_free(&ix);
		return -ENOMEM;
	}
	r = coldplug_passes(&c, sysfs, max_passes);
	pages_free(c.done, ix.n_mods);
	mod_index_free(&ix);
	return r;
}

int init_modules_load(const struct init_options *o)
{
	struct mod_coldplug_result res;
	struct utsname u;
	char dir[256];
	int r;

	(void)o;
	if (uname(&u) < 0)
		return -errno;
	snprintf(dir, sizeof(dir), "%s/%s", INIT_MODULES_DIR, u.release);
	r = init_modules_coldplug(dir, "/sys", INIT_MODULES_MAX_PASSES, init_module_finit, NULL,
				  &res);
	if (r == -ENOENT) {
		/* A kernel with everything built in: nothing to do. */
		klog(KLOG_INFO, "modules: no %s/modules.dep", dir);
		return 0;
	}
	if (r < 0)
		return r;
	if (res.loaded || res.failed)
		klog(KLOG_NOTICE, "modules: %u loaded, %u failed in %u pass(es) from %s",
		     res.loaded, res.failed, res.passes, dir);
	return 0;
}
