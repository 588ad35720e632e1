/* MappedVirtualDisk and SCSIDevice (spec §3.10.1, §3.10.2, §5.1, §5.5):
 * with VerityInfo a read-only disk is mounted through dm-verity; an
 * Encrypted one gets a dm-crypt device with an ephemeral key and a new ext4
 * filesystem. */
#include "storage/storage.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "storage/crypt.h"
#include "storage/dm.h"
#include "storage/ext4_format.h"
#include "storage/ext4_resize.h"
#include "storage/guest_path.h"
#include "storage/scsi_device.h"
#include "storage/mount.h"
#include "storage/probe.h"
#include "storage/verity.h"
#include "storage/wait.h"

#define PROBE_RETRY_MS 500

#define ADDR_FMT "SCSI controller %u LUN %u"
#define ADDR(req) (req)->controller, (req)->lun

/* Names of the dm devices over a disk: what Remove carries (controller,
 * LUN, partition) names them, as Remove repeats neither Encrypted nor,
 * from hcsshim v0.12 on, VerityInfo. hcsshim's guest uses the same crypt
 * name and adds the root digest to the verity one. */
static void dm_names(const struct scsi_mount_req *req, char verity[128], char crypt[128])
{
	snprintf(verity, 128, "dm-verity-scsi-contr%u-lun%u-p%llu", req->controller, req->lun,
		 (unsigned long long)req->partition);
	snprintf(crypt, 128, "dm-crypt-scsi-contr%u-lun%u-p%llu", req->controller, req->lun,
		 (unsigned long long)req->partition);
}

/* A device that just appeared can still fail its first read. */
static int probe_with_retry(const char *dev, struct storage_fs_info *info, struct error *e)
{
	if (storage_probe_fs(dev, info, e) == 0)
		return 0;
	storage_sleep_ms(PROBE_RETRY_MS);
	return storage_probe_fs(dev, info, e);
}

static int format(const char *dev, enum storage_fs want, bool read_only, struct error *e)
{
	if (read_only)
		return error_set(
			e, ERR_INVALID_ARG, EROFS,
			"%s has no %s filesystem and the disk is read-only: not formatting", dev,
			storage_fs_name(want));
	if (want != STORAGE_FS_EXT4)
		return error_set(e, ERR_NOT_IMPLEMENTED, ENOTSUP,
				 "%s: formatting %s is not supported (only ext4)", dev,
				 storage_fs_name(want));
	return ext4_format(dev, e);
}

/* The filesystem to mount: Filesystem if given, else the detected one;
 * with EnsureFilesystem the wanted one is made when it is absent. */
static int choose_fs(const struct scsi_mount_req *req, const char *dev, enum storage_fs *type,
		     struct error *e)
{
	enum storage_fs want = STORAGE_FS_NONE;
	struct storage_fs_info info;
	int r;

	if (req->filesystem && *req->filesystem) {
		want = storage_fs_parse(req->filesystem);
		if (want == STORAGE_FS_NONE)
			return error_set(e, ERR_INVALID_ARG, EINVAL,
					 "unsupported filesystem \"%s\" (ext4 or xfs)",
					 req->filesystem);
	}
	if ((r = probe_with_retry(dev, &info, e)) < 0)
		return r;
	if (req->ensure_filesystem) {
		if (want == STORAGE_FS_NONE)
			want = STORAGE_FS_EXT4;
		if (info.type != want && (r = format(dev, want, req->read_only, e)) < 0)
			return r;
		info.type = want;
	}
	*type = want != STORAGE_FS_NONE ? want : info.type;
	if (*type == STORAGE_FS_NONE)
		return error_set(e, ERR_FAIL, EINVAL, "%s holds no ext4 or xfs filesystem", dev);
	return 0;
}

static int mount_disk(const struct scsi_mount_req *req, const struct guest_path *gp,
		      const char *dev, enum storage_fs type, struct error *e)
{
	unsigned long flags = req->read_only ? MS_RDONLY : 0;
	/* Read-only: never replay a journal onto a shared layer disk. */
	const char *data = !req->read_only	    ? NULL
			   : type == STORAGE_FS_XFS ? "norecovery"
						    : "noload";
	struct guest_hold h = GUEST_HOLD_INIT;
	bool created;
	int r;

	if ((r = guest_path_hold_dir(gp, true, 0700, &created, &h, e)) < 0)
		return r;
	r = storage_mount_held(dev, &h, gp->path, storage_fs_name(type), flags, data, e);
	if (r == -ENODEV && type == STORAGE_FS_XFS)
		r = error_set(e, ERR_NOT_IMPLEMENTED, ENOTSUP,
			      "mount %s on %s: xfs, which the guest kernel cannot mount (built "
			      "without CONFIG_XFS_FS, see README \"Not done yet\")",
			      dev, gp->path);
	if (r < 0)
		goto undo_dir;
	r = storage_apply_propagation(h.top, req->options, req->n_options, e);
	if (r == 0 && req->ensure_filesystem && !req->read_only && type == STORAGE_FS_EXT4)
		r = ext4_grow(h.top, dev, NULL, e);
	if (r == 0)
		goto out;
	umount2(h.top, UMOUNT_NOFOLLOW);
undo_dir:
	if (created)
		unlinkat(h.parent_fd, h.name, AT_REMOVEDIR);
out:
	guest_hold_release(&h);
	return r;
}

/* BlockDev: MountPath becomes a symlink to the device node. */
static int link_device(const struct guest_path *gp, const char *dev, struct error *e)
{
	struct guest_hold parent = GUEST_HOLD_INIT;
	char old[PATH_MAX];
	ssize_t n;
	int r;

	if ((r = guest_path_hold_parent(gp, true, &parent, e)) < 0)
		return r;
	if (symlinkat(dev, parent.parent_fd, parent.name) == 0)
		goto out;
	if (errno != EEXIST) {
		r = error_errno(e, errno, "symlink %s -> %s", gp->path, dev);
		goto out;
	}
	n = readlinkat(parent.parent_fd, parent.name, old, sizeof(old) - 1);
	if (n < 0 || (size_t)n != strlen(dev) || memcmp(old, dev, (size_t)n) != 0)
		r = error_set(e, ERR_FAIL, EEXIST, "symlink %s -> %s: %s already exists", gp->path,
			      dev, gp->path);
out:
	guest_hold_release(&parent);
	return r;
}

/* Encrypted: whatever Filesystem says, a new ext4 on the crypt device. The
 * key dies with the device, so nothing outside this mount can read the
 * filesystem: its type is the guest's own business (hosts ask for xfs,
 * which this kernel lacks). */
static int encrypt_device(const struct storage_config *cfg, const struct scsi_mount_req *req,
			  char *dev, size_t size, struct error *e)
{
	char verity[128], crypt[128], raw[PATH_MAX];
	struct error ignored;
	int r;

	dm_names(req, verity, crypt);
	snprintf(raw, sizeof(raw), "%s", dev);
	if ((r = crypt_create(cfg, crypt, raw, dev, size, e)) < 0)
		return r;
	if ((r = ext4_format(dev, e)) < 0)
		dm_remove(cfg, crypt, &ignored);
	return r;
}

/* The device to mount or link: the disk, or a dm device over it. */
static int mapped_device(const struct storage_config *cfg, const struct scsi_mount_req *req,
			 char *dev, size_t size, struct error *e)
{
	char verity[128], crypt[128], raw[PATH_MAX];

	if (req->encrypted)
		return encrypt_device(cfg, req, dev, size, e);
	if (!req->verity.present)
		return 0;
	dm_names(req, verity, crypt);
	snprintf(raw, sizeof(raw), "%s", dev);
	return verity_create(cfg, verity, raw, &req->verity, dev, size, e);
}

static int check_request(const struct scsi_mount_req *req, struct error *e)
{
	if (req->encrypted && (req->read_only || req->block_dev || req->verity.present))
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "Encrypted formats the disk: it cannot be ReadOnly, BlockDev or "
				 "carry VerityInfo");
	if (req->verity.present && !req->read_only)
		return error_set(e, ERR_INVALID_ARG, EINVAL,
				 "VerityInfo needs a ReadOnly disk (dm-verity cannot be written)");
	return req->verity.present ? verity_check(&req->verity, e) : 0;
}

static void remove_dm_devices(const struct storage_config *cfg, const struct scsi_mount_req *req)
{
	char verity[128], crypt[128];
	struct error ignored;

	dm_names(req, verity, crypt);
	if (req->verity.present)
		dm_remove(cfg, verity, &ignored);
	if (req->encrypted)
		dm_remove(cfg, crypt, &ignored);
}

int storage_scsi_mount(const struct storage_config *cfg, const struct scsi_mount_req *req,
		       struct error *e)
{
	unsigned flags = req->block_dev ? GUEST_PATH_FINAL_SYMLINK : 0;
	enum storage_fs type = STORAGE_FS_EXT4;
	struct guest_path gp;
	char dev[PATH_MAX];
	int r;

	if (!req->mount_path || !*req->mount_path)
		return 0; /* attach-only */
	if ((r = check_request(req, e)) < 0 ||
	    (r = guest_path_check(cfg, "MountPath", req->mount_path, flags, &gp, e)) < 0)
		return error_prefix(e, ADDR_FMT, ADDR(req));
	r = scsi_find_device(cfg, req->controller, req->lun, req->partition, dev, sizeof(dev), e);
	if (r < 0)
		return r;
	if ((r = mapped_device(cfg, req, dev, sizeof(dev), e)) < 0)
		return error_prefix(e, ADDR_FMT, ADDR(req));
	if (req->block_dev)
		r = link_device(&gp, dev, e);
	else if (req->encrypted || (r = choose_fs(req, dev, &type, e)) == 0)
		r = mount_disk(req, &gp, dev, type, e);
	if (r < 0) {
		remove_dm_devices(cfg, req);
		return error_prefix(e, ADDR_FMT, ADDR(req));
	}
	return 0;
}

static int unlink_device_link(const struct guest_path *gp, struct error *e)
{
	struct guest_hold parent = GUEST_HOLD_INIT;
	struct stat st;
	int r = guest_path_hold_parent(gp, false, &parent, e);

	if (r == -ENOENT)
		return 0;
	if (r < 0)
		return r;
	if (fstatat(parent.parent_fd, parent.name, &st, AT_SYMLINK_NOFOLLOW) < 0)
		r = errno == ENOENT ? 0 : error_errno(e, errno, "stat %s", gp->path);
	else if (!S_ISLNK(st.st_mode))
		r = error_set(e, ERR_FAIL, EINVAL, "%s is not a block device symlink", gp->path);
	else if (unlinkat(parent.parent_fd, parent.name, 0) < 0 && errno != ENOENT)
		r = error_errno(e, errno, "remove %s", gp->path);
	guest_hold_release(&parent);
	return r;
}

int storage_scsi_unmount(const struct storage_config *cfg, const struct scsi_mount_req *req,
			 struct error *e)
{
	unsigned flags = req->block_dev ? GUEST_PATH_FINAL_SYMLINK : 0;
	char verity[128], crypt[128];
	struct guest_path gp;
	int r;

	if (!req->mount_path || !*req->mount_path)
		return 0;
	if ((r = guest_path_check(cfg, "MountPath", req->mount_path, flags, &gp, e)) < 0)
		return error_prefix(e, ADDR_FMT, ADDR(req));
	r = req->block_dev ? unlink_device_link(&gp, e) : storage_unmount_and_remove(&gp, e);
	if (r < 0)
		return error_prefix(e, ADDR_FMT, ADDR(req));
	/* Whichever exists; a device that does not is no error. */
	dm_names(req, verity, crypt);
	if ((r = dm_remove(cfg, verity, e)) < 0 || (r = dm_remove(cfg, crypt, e)) < 0)
		return error_prefix(e, ADDR_FMT, ADDR(req));
	return 0;
}

int storage_scsi_unplug(const struct storage_config *cfg, uint32_t controller, uint32_t lun,
			struct error *e)
{
	return scsi_unplug(cfg, controller, lun, e);
}
