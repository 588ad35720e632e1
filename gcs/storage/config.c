/* The storage configuration: the defaults, and the one the gcs runs with,
 * built once at start-up (before any worker can read it) from the
 * test-only environment variables (the VM's init never sets them):
 *   LCOW_SYSFS_ROOT                 replaces "/sys" (as for VPCIDevice)
 *   LCOW_DEV_ROOT                   replaces "/dev"
 *   LCOW_STORAGE_EXTRA_ROOTS        ':'-separated absolute directories
 *                                   allowed besides the spec's roots
 *   LCOW_STORAGE_DEVICE_TIMEOUT_MS  device wait, instead of 5000 ms */
#include "storage/storage.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "core/log.h"

#define EXTRA_ROOTS_MAX 8
#define DEFAULT_ROOTS_MAX 16
/* Below the host's 5-minute RPC timeout, which would kill the bridge. */
#define DEVICE_TIMEOUT_MAX_MS (4 * 60 * 1000)

/* The directories hcsshim puts guest mounts under (spec §5.6). */
const char *const storage_default_roots[] = {
	"/run/gcs/c", "/run/gcs/pods", "/run/mounts", "/run/layers", "/run/drivers", NULL,
};

void storage_config_init(struct storage_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->sysfs_root = "/sys";
	cfg->dev_root = "/dev";
	cfg->allowed_roots = storage_default_roots;
	cfg->device_timeout_ms = STORAGE_DEVICE_TIMEOUT_MS;
}

static struct storage_config config;
static const char *roots[DEFAULT_ROOTS_MAX + EXTRA_ROOTS_MAX + 1];
_Static_assert(ARRAY_SIZE(storage_default_roots) <= DEFAULT_ROOTS_MAX + 1,
	       "DEFAULT_ROOTS_MAX is too small for storage_default_roots");

const struct storage_config *storage_config(void)
{
	return &config;
}

static const char *env(const char *name)
{
	const char *v = getenv(name);

	return v && *v ? v : NULL;
}

static void add_extra_roots(size_t n)
{
	const char *v = env("LCOW_STORAGE_EXTRA_ROOTS");
	char *copy, *save = NULL;

	if (!v)
		return;
	copy = strdup(v); /* kept: the roots live as long as the gcs */
	if (!copy) {
		log_warn("LCOW_STORAGE_EXTRA_ROOTS ignored: out of memory");
		return;
	}
	for (char *r = strtok_r(copy, ":", &save); r; r = strtok_r(NULL, ":", &save)) {
		if (r[0] != '/' || !r[1])
			log_warn("LCOW_STORAGE_EXTRA_ROOTS: '%s' ignored (not an absolute "
				 "directory)",
				 r);
		else if (n == ARRAY_SIZE(roots) - 1)
			log_warn("LCOW_STORAGE_EXTRA_ROOTS: '%s' ignored (at most %d roots)", r,
				 EXTRA_ROOTS_MAX);
		else
			roots[n++] = r;
	}
	roots[n] = NULL;
}

static void set_device_timeout(void)
{
	const char *v = env("LCOW_STORAGE_DEVICE_TIMEOUT_MS");
	char *end;
	unsigned long ms;

	if (!v)
		return;
	errno = 0;
	ms = strtoul(v, &end, 10);
	if (errno || *end || ms == 0 || ms > DEVICE_TIMEOUT_MAX_MS) {
		log_warn("LCOW_STORAGE_DEVICE_TIMEOUT_MS '%s' ignored (1 to %d)", v,
			 DEVICE_TIMEOUT_MAX_MS);
		return;
	}
	config.device_timeout_ms = (unsigned)ms;
}

int storage_setup(const struct transport *t, struct error *err)
{
	size_t n = 0;

	storage_config_init(&config);
	config.transport = t;
	if (env("LCOW_SYSFS_ROOT"))
		config.sysfs_root = env("LCOW_SYSFS_ROOT");
	if (env("LCOW_DEV_ROOT"))
		config.dev_root = env("LCOW_DEV_ROOT");
	set_device_timeout();
	/* The defaults, NULL included, fit: checked at compile time above. */
	for (; storage_default_roots[n]; n++)
		roots[n] = storage_default_roots[n];
	roots[n] = NULL;
	add_extra_roots(n);
	config.allowed_roots = roots;
	log_fields(LOG_INFO,
		   LOG_FIELDS(LOG_STR("sysfs", config.sysfs_root), LOG_STR("dev", config.dev_root),
			      LOG_UINT("device-timeout-ms", config.device_timeout_ms),
			      LOG_STR("extra-roots", env("LCOW_STORAGE_EXTRA_ROOTS")
							     ? env("LCOW_STORAGE_EXTRA_ROOTS")
							     : "")),
		   "storage configuration");
	return 0;
}
