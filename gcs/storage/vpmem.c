/* VPMemDevice (spec §3.10.4, §5.2): /dev/pmem<N> mounted read-only, or one
 * layer of it through a read-only dm-linear device; with VerityInfo, a
 * dm-verity device over either. */
#include "storage/vpmem.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <sys/mount.h>
#include <unistd.h>

#include "storage/dm.h"
#include "storage/guest_path.h"
#include "storage/mount.h"
#include "storage/verity.h"
#include "storage/wait.h"

int vpmem_dm_name(const struct vpmem_mount_req *req, char *buf, size_t size)
{
	int n = snprintf(buf, size, "dm-linear-pmem%u-%llu-%llu", req->device_number,
			 (unsigned long long)req->mapping_offset,
			 (unsigned long long)req->mapping_size);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

int vpmem_verity_name(const struct vpmem_mount_req *req, char *buf, size_t size)
{
	int n = req->has_mapping
			? snprintf(buf, size, "dm-verity-pmem%u-%llu-%llu", req->device_number,
				   (unsigned long long)req->mapping_offset,
				   (unsigned long long)req->mapping_size)
			: snprintf(buf, size, "dm-verity-pmem%u", req->device_number);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int check_mapping(const struct vpmem_mount_req *req, struct error *e)
{
	if (req->mapping_size == 0 || req->mapping_size % DM_SECTOR ||
	    req->mapping_offset % DM_SECTOR)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "MappingInfo offset %llu size %llu: both must be multiples of "
				 "%d bytes and the size non-zero",
				 (unsigned long long)req->mapping_offset,
				 (unsigned long long)req->mapping_size, DM_SECTOR);
	return 0;
}

static void remove_mapping(const struct storage_config *cfg, const struct vpmem_mount_req *req)
{
	char name[128];
	struct error ignored;

	if (req->has_mapping && vpmem_dm_name(req, name, sizeof(name)) == 0)
		dm_remove(cfg, name, &ignored);
}

/* The dm-linear device over the mapping (if any), the verity device over
 * that or the pmem device (if VerityInfo); undone on failure. */
static int map_device(const struct storage_config *cfg, const struct vpmem_mount_req *req,
		      const char *pmem, char *dev, size_t size, struct error *e)
{
	char name[128], linear[PATH_MAX];
	int r;

	snprintf(linear, sizeof(linear), "%s", pmem);
	if (req->has_mapping) {
		if ((r = check_mapping(req, e)) < 0)
			return r;
		if (vpmem_dm_name(req, name, sizeof(name)) < 0)
			return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG,
					 "device-mapper name too long");
		r = dm_linear_create(cfg, name, pmem, req->mapping_offset / DM_SECTOR,
				     req->mapping_size / DM_SECTOR, true, linear, sizeof(linear),
				     e);
		if (r < 0)
			return r;
	}
	if (!req->verity.present) {
		snprintf(dev, size, "%s", linear);
		return 0;
	}
	if (vpmem_verity_name(req, name, sizeof(name)) < 0)
		r = error_set(e, ERR_INVALID_ARG, ENAMETOOLONG, "device-mapper name too long");
	else
		r = verity_create(cfg, name, linear, &req->verity, dev, size, e);
	if (r < 0)
		remove_mapping(cfg, req);
	return r;
}

/* The device to mount: /dev/pmem<N>, or the dm devices over it. */
static int source_device(const struct storage_config *cfg, const struct vpmem_mount_req *req,
			 char *dev, size_t size, struct error *e)
{
	char pmem[PATH_MAX];
	int r, last = 0;

	snprintf(pmem, sizeof(pmem), "%s/pmem%u", cfg->dev_root, req->device_number);
	r = storage_wait_openable(pmem, storage_deadline(cfg->device_timeout_ms), &last);
	if (r == -ETIMEDOUT)
		return error_errno(e, last, "%s did not appear", pmem);
	if (r < 0)
		return error_errno(e, -r, "open %s", pmem);
	return map_device(cfg, req, pmem, dev, size, e);
}

/* Verity first: it holds the linear device open. */
static void remove_devices(const struct storage_config *cfg, const struct vpmem_mount_req *req)
{
	char name[128];
	struct error ignored;

	if (req->verity.present && vpmem_verity_name(req, name, sizeof(name)) == 0)
		dm_remove(cfg, name, &ignored);
	remove_mapping(cfg, req);
}

int storage_vpmem_mount(const struct storage_config *cfg, const struct vpmem_mount_req *req,
			struct error *e)
{
	struct guest_hold h = GUEST_HOLD_INIT;
	struct guest_path gp;
	char dev[PATH_MAX];
	bool created = false;
	int r;

	if ((r = guest_path_check(cfg, "MountPath", req->mount_path, 0, &gp, e)) < 0)
		goto fail;
	if (req->verity.present && (r = verity_check(&req->verity, e)) < 0)
		goto fail;
	if ((r = source_device(cfg, req, dev, sizeof(dev), e)) < 0)
		goto fail;
	if ((r = guest_path_hold_dir(&gp, true, 0700, &created, &h, e)) < 0)
		goto undo_device;
	/* Layers are shared and immutable: never replay a journal. */
	r = storage_mount_held(dev, &h, gp.path, "ext4", MS_RDONLY, "noload", e);
	if (r == 0)
		goto out;
	if (created)
		unlinkat(h.parent_fd, h.name, AT_REMOVEDIR);
undo_device:
	remove_devices(cfg, req);
out:
	guest_hold_release(&h);
	if (r == 0)
		return 0;
fail:
	return error_prefix(e, "VPMem device %u", req->device_number);
}

int storage_vpmem_unmount(const struct storage_config *cfg, const struct vpmem_mount_req *req,
			  struct error *e)
{
	struct guest_path gp;
	char verity[128], linear[128];
	int r;

	if ((r = guest_path_check(cfg, "MountPath", req->mount_path, 0, &gp, e)) < 0 ||
	    (r = storage_unmount_and_remove(&gp, e)) < 0)
		return error_prefix(e, "VPMem device %u", req->device_number);
	if (vpmem_verity_name(req, verity, sizeof(verity)) < 0 ||
	    (req->has_mapping && vpmem_dm_name(req, linear, sizeof(linear)) < 0))
		return error_set(e, ERR_INVALID_ARG, ENAMETOOLONG,
				 "VPMem device %u: device-mapper name too long",
				 req->device_number);
	/* The verity device goes whether or not Remove repeats VerityInfo
	 * (hcsshim v0.11 hosts do): one that does not exist is no error. */
	if ((r = dm_remove(cfg, verity, e)) < 0 ||
	    (req->has_mapping && (r = dm_remove(cfg, linear, e)) < 0))
		return error_prefix(e, "VPMem device %u", req->device_number);
	return 0;
}
