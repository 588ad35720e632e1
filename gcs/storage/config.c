#include "storage/storage.h"

#include <string.h>

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
