/* ModifySettings for the storage resources (spec §3.10.1-§3.10.5, §5):
 * MappedVirtualDisk, SCSIDevice, MappedDirectory, VPMemDevice and
 * CombinedLayers on the UVM. The handler copies the decoded settings into a
 * struct storage_request and its own arena, and hands both to
 * storage_apply() (gcs/storage/storage.h), which runs it as a job; the
 * request is answered from the operation's end (base only, or the
 * runtime's error), so other requests keep flowing meanwhile. */
#include <errno.h>
#include <stddef.h>
#include <string.h>

#include "bridge/handler.h"
#include "cleanup.h"
#include "core/arena.h"
#include "handlers/pending.h"
#include "handlers/storage.h"
#include "storage/storage.h"

/* -- copying the settings ---------------------------------------------------- */

static int oom(struct error *err)
{
	return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
}

static int copy_str(struct arena *a, const char *in, const char **out, struct error *err)
{
	*out = arena_strdup(a, in ? in : "");
	return *out ? 0 : oom(err);
}

/* VerityInfo: hcsshim v0.11 hosts send it for a layer whose VHD carries a
 * dm-verity superblock after its ext4 data; later ones leave it out. */
static int copy_verity(struct verity_info *d, struct arena *a, const Gcs__DeviceVerityInfo *s,
		       struct error *err)
{
	if (!s)
		return 0;
	d->present = true;
	d->ext4_size = s->ext4sizeinbytes;
	d->version = s->version;
	d->superblock = s->superblock;
	d->block_size = s->blocksize;
	if (copy_str(a, s->algorithm, &d->algorithm, err) < 0 ||
	    copy_str(a, s->rootdigest, &d->root_digest, err) < 0 ||
	    copy_str(a, s->salt, &d->salt, err) < 0)
		return -ENOMEM;
	return 0;
}

static int copy_disk(struct storage_request *sr, struct arena *a,
		     const Gcs__LCOWMappedVirtualDisk *s, struct error *err)
{
	struct scsi_mount_req *d = &sr->disk;
	const char **opts = NULL;

	d->controller = s->controller;
	d->lun = s->lun;
	d->partition = s->partition;
	d->read_only = s->readonly;
	d->encrypted = s->encrypted;
	d->block_dev = s->blockdev;
	d->ensure_filesystem = s->ensurefilesystem;
	if (copy_str(a, s->mountpath, &d->mount_path, err) < 0 ||
	    copy_str(a, s->filesystem, &d->filesystem, err) < 0 ||
	    copy_verity(&d->verity, a, s->verityinfo, err) < 0)
		return -ENOMEM;
	if (s->n_options) {
		opts = arena_alloc(a, s->n_options * sizeof(*opts));
		if (!opts)
			return oom(err);
		for (size_t i = 0; i < s->n_options; i++)
			if (copy_str(a, s->options[i], &opts[i], err) < 0)
				return -ENOMEM;
	}
	d->options = opts;
	d->n_options = s->n_options;
	return 0;
}

static int copy_directory(struct storage_request *sr, struct arena *a,
			  const Gcs__LCOWMappedDirectory *s, struct error *err)
{
	struct plan9_mount_req *d = &sr->directory;

	d->port = s->port;
	d->read_only = s->readonly;
	if (copy_str(a, s->mountpath, &d->mount_path, err) < 0 ||
	    copy_str(a, s->sharename, &d->share_name, err) < 0)
		return -ENOMEM;
	return 0;
}

static int copy_vpmem(struct storage_request *sr, struct arena *a,
		      const Gcs__LCOWMappedVPMemDevice *s, struct error *err)
{
	struct vpmem_mount_req *d = &sr->vpmem;

	d->device_number = s->devicenumber;
	if (s->mappinginfo) {
		d->has_mapping = true;
		d->mapping_offset = s->mappinginfo->deviceoffsetinbytes;
		d->mapping_size = s->mappinginfo->devicesizeinbytes;
	}
	if (copy_verity(&d->verity, a, s->verityinfo, err) < 0)
		return -ENOMEM;
	return copy_str(a, s->mountpath, &d->mount_path, err);
}

static int copy_layers(struct storage_request *sr, struct arena *a,
		       const Gcs__LCOWCombinedLayers *s, struct error *err)
{
	struct overlay_mount_req *d = &sr->layers;
	const char **paths = NULL;

	if (copy_str(a, s->containerrootpath, &d->root_path, err) < 0 ||
	    copy_str(a, s->scratchpath, &d->scratch_path, err) < 0)
		return -ENOMEM;
	if (s->n_layers) {
		paths = arena_alloc(a, s->n_layers * sizeof(*paths));
		if (!paths)
			return oom(err);
		/* Only Path is used (spec §3.10.5); top-most first, as given. */
		for (size_t i = 0; i < s->n_layers; i++)
			if (copy_str(a, s->layers[i]->path, &paths[i], err) < 0)
				return -ENOMEM;
	}
	d->layers = paths;
	d->n_layers = s->n_layers;
	return 0;
}

/* Settings arrive in the oneof member named by ResourceType; absent
 * Settings leave it unset (the reference fails to unmarshal nothing). */
int storage_settings_copy(struct storage_request *sr, struct arena *a,
			  const Gcs__ModificationRequest *mr, struct error *err)
{
	static const Gcs__ModificationRequest__SettingsCase want[] = {
		[STORAGE_MAPPED_VIRTUAL_DISK] =
			GCS__MODIFICATION_REQUEST__SETTINGS_MAPPED_VIRTUAL_DISK,
		[STORAGE_SCSI_DEVICE] = GCS__MODIFICATION_REQUEST__SETTINGS_SCSIDEVICE,
		[STORAGE_MAPPED_DIRECTORY] = GCS__MODIFICATION_REQUEST__SETTINGS_MAPPED_DIRECTORY,
		[STORAGE_VPMEM_DEVICE] = GCS__MODIFICATION_REQUEST__SETTINGS_VPMEM_DEVICE,
		[STORAGE_COMBINED_LAYERS] = GCS__MODIFICATION_REQUEST__SETTINGS_COMBINED_LAYERS,
	};
	enum storage_resource r = sr->resource;

	if ((size_t)r >= ARRAY_SIZE(want) || mr->settings_case != want[r] ||
	    !mr->mappedvirtualdisk /* any member: they share the union */)
		return error_set(err, ERR_BAD_JSON, EINVAL, "Settings is missing");
	switch (r) {
	case STORAGE_MAPPED_VIRTUAL_DISK:
		return copy_disk(sr, a, mr->mappedvirtualdisk, err);
	case STORAGE_SCSI_DEVICE:
		sr->scsi_device.controller = mr->scsidevice->controller;
		sr->scsi_device.lun = mr->scsidevice->lun;
		return 0;
	case STORAGE_MAPPED_DIRECTORY:
		return copy_directory(sr, a, mr->mappeddirectory, err);
	case STORAGE_VPMEM_DEVICE:
		return copy_vpmem(sr, a, mr->vpmemdevice, err);
	case STORAGE_COMBINED_LAYERS:
		return copy_layers(sr, a, mr->combinedlayers, err);
	}
	return error_set(err, ERR_FAIL, EINVAL, "storage resource %d has no settings", (int)r);
}

/* -- the request ------------------------------------------------------------- */

static int modify_storage(struct request *req, const Gcs__ModificationRequest *mr,
			  struct error *err)
{
	static const char *const action_names[] = {
		[STORAGE_ADD] = "Add", [STORAGE_REMOVE] = "Remove"};
	struct storage_request sr = {0};
	struct op_done done;
	struct arena *a;
	int rc;

	if ((rc = storage_resource_parse(mr->resourcetype, &sr.resource, err)) < 0 ||
	    (rc = storage_action_parse(sr.resource, mr->requesttype, &sr.action, err)) < 0)
		return rc;
	a = arena_new();
	if (!a)
		return oom(err);
	/* A copy: the job may outlive the request (gcs/storage/run.c). */
	rc = storage_settings_copy(&sr, a, mr, err);
	if (rc < 0) {
		arena_free(a);
		return error_prefix(err, "%s %s", mr->resourcetype, action_names[sr.action]);
	}
	rc = pending_begin(req, NULL, NULL, &done, err);
	if (rc < 0) {
		arena_free(a);
		return rc;
	}
	rc = storage_apply(req->gcs->loop, &sr, a, req->id, &done, err);
	return pending_end(&done, rc);
}

static int storage_startup(struct gcs *g, struct error *err)
{
	return storage_setup(&g->transport, err);
}
STARTUP_HOOK(storage_startup)

static void storage_dump(struct gcs *g, struct printbuf *pb)
{
	storage_describe(pb);
}
DUMP_SECTION(storage_dump)

/* One registration per resource type; all share modify_storage. */
#define STORAGE_HANDLER(name, fn)                                                                  \
	static int fn(struct request *req, const Gcs__ModificationRequest *mr, struct error *err)  \
	{                                                                                          \
		return modify_storage(req, mr, err);                                               \
	}                                                                                          \
	MODIFY_HANDLER(name, SCOPE_UVM, fn)

STORAGE_HANDLER("MappedVirtualDisk", modify_mapped_virtual_disk)
STORAGE_HANDLER("SCSIDevice", modify_scsi_device)
STORAGE_HANDLER("MappedDirectory", modify_mapped_directory)
STORAGE_HANDLER("VPMemDevice", modify_vpmem_device)
STORAGE_HANDLER("CombinedLayers", modify_combined_layers)
