#include "modules_plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cleanup.h"
#include "dir.h"
#include "glob.h"
#include "modules_index.h"
#include "pages.h"

/* Transports that register as the guest-to-host vsock transport as soon as
 * they load (virtio_vsock_init does, device or not). */
static const char *const virtio_vsock_transports[] = {"vmw_vsock_virtio_transport"};

/* hv_sock matches no device: VMBus offers its channels per connection. */
#define HV_SOCK "hv_sock"

enum {
	UNSEEN,
	VISITING,
	PLANNED
};

struct planner {
	const struct mod_index *ix;
	const unsigned char *done;
	unsigned char *mark;
	struct mod_plan *plan;
};

static bool is_virtio_vsock(const struct mod_index *ix, size_t mod)
{
	for (size_t i = 0; i < ARRAY_SIZE(virtio_vsock_transports); i++)
		if (mod_index_find(ix, virtio_vsock_transports[i],
				   strlen(virtio_vsock_transports[i])) == (int)mod)
			return true;
	return false;
}

static void push(struct planner *p, size_t mod, enum mod_action action)
{
	p->plan->steps[p->plan->n].mod = mod;
	p->plan->steps[p->plan->n].action = action;
	p->plan->n++;
	p->mark[mod] = PLANNED;
}

/* A dependency as modules.dep names it: the path of its own entry. */
static int find_dep(const struct mod_index *ix, const char *word, size_t len)
{
	for (size_t i = 0; i < ix->n_mods; i++)
		if (strncmp(ix->mods[i].path, word, len) == 0 && ix->mods[i].path[len] == '\0')
			return (int)i;
	return -ENOENT;
}

/* Plans mod after everything it depends on. modules.dep lists every
 * dependency, direct or not, but in no order a loader can rely on: each
 * one's own line decides what comes before it. */
static void want(struct planner *p, size_t mod)
{
	const char *d = p->ix->mods[mod].deps;
	size_t len;
	int dep;

	if (p->done[mod] || p->mark[mod] != UNSEEN)
		return; /* handled, planned, or a cycle: depmod refuses those */
	if (p->plan->vmbus && is_virtio_vsock(p->ix, mod)) {
		push(p, mod, MOD_SKIP_VMBUS);
		return;
	}
	p->mark[mod] = VISITING;
	for (; *d; d += len) {
		d += strspn(d, " \t");
		len = strcspn(d, " \t");
		if (len == 0)
			break;
		dep = find_dep(p->ix, d, len);
		if (dep >= 0)
			want(p, dep);
	}
	push(p, mod, MOD_LOAD);
}

static void want_for_alias(struct planner *p, const char *modalias)
{
	const struct mod_index *ix = p->ix;
	int mod;

	for (size_t i = 0; i < ix->n_aliases; i++) {
		if (!glob_match(ix->aliases[i].pattern, modalias))
			continue;
		mod = mod_index_find(ix, ix->aliases[i].module, strlen(ix->aliases[i].module));
		if (mod >= 0) /* else built in, or a stale alias */
			want(p, mod);
	}
}

static int read_modalias(int dfd, const char *rel, char *buf, size_t len)
{
	_cleanup_close_ int fd = openat(dfd, rel, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, len - 1);
	if (n < 0)
		return -errno;
	if (n == (ssize_t)len - 1)
		return -E2BIG; /* cut short: matching it could pick a wrong module */
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\0'))
		n--;
	buf[n] = '\0';
	return n > 0 ? 0 : -ENODATA;
}

/* One device of a bus: its module, unless it has a driver already. */
static int scan_device(int devices, const char *name, void *ctx)
{
	char rel[300], link[8], modalias[1024];

	snprintf(rel, sizeof(rel), "%s/driver", name);
	if (readlinkat(devices, rel, link, sizeof(link)) >= 0)
		return 0; /* bound: its driver is built in or loaded */
	snprintf(rel, sizeof(rel), "%s/modalias", name);
	if (read_modalias(devices, rel, modalias, sizeof(modalias)) == 0)
		want_for_alias(ctx, modalias);
	return 0;
}

static int scan_bus(int buses, const char *name, void *ctx)
{
	char rel[300];

	snprintf(rel, sizeof(rel), "%s/devices", name);
	dir_each(buses, rel, scan_device, ctx);
	return 0;
}

static int stop(int dfd, const char *name, void *ctx)
{
	(void)dfd, (void)name, (void)ctx;
	return 1;
}

bool mod_vmbus_present(const char *sysfs)
{
	char path[4096];

	snprintf(path, sizeof(path), "%s/bus/vmbus/devices", sysfs);
	return dir_each(AT_FDCWD, path, stop, NULL) == 1;
}

int mod_plan_pass(const struct mod_index *ix, const char *sysfs, const unsigned char *done,
		  struct mod_plan *plan)
{
	struct planner p = {.ix = ix, .done = done, .plan = plan};
	char path[4096];
	int hv;

	memset(plan, 0, sizeof(*plan));
	plan->vmbus = mod_vmbus_present(sysfs);
	if (ix->n_mods == 0)
		return 0;
	/* Each module is planned at most once. */
	plan->size = ix->n_mods * sizeof(*plan->steps);
	plan->steps = pages_alloc(plan->size);
	p.mark = pages_alloc(ix->n_mods);
	if (!plan->steps || !p.mark) {
		pages_free(p.mark, ix->n_mods);
		mod_plan_free(plan);
		return -ENOMEM;
	}
	hv = plan->vmbus ? mod_index_find(ix, HV_SOCK, strlen(HV_SOCK)) : -ENOENT;
	if (hv >= 0)
		want(&p, hv);
	/* modules.lcow: wanted whatever the devices; a name the tree lacks
	 * (built in, or a stale list) is nothing to load. */
	for (size_t i = 0; i < ix->n_boot; i++) {
		int mod = mod_index_find(ix, ix->boot[i], strlen(ix->boot[i]));

		if (mod >= 0)
			want(&p, (size_t)mod);
	}
	snprintf(path, sizeof(path), "%s/bus", sysfs);
	dir_each(AT_FDCWD, path, scan_bus, &p);
	pages_free(p.mark, ix->n_mods);
	return 0;
}

void mod_plan_free(struct mod_plan *plan)
{
	pages_free(plan->steps, plan->size);
	plan->steps = NULL;
	plan->size = 0;
	plan->n = 0;
}
