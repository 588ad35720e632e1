/* One storage request as one job: the table from ResourceType and
 * RequestType to the runtime call, so the ModifySettings handlers only copy
 * settings into a struct storage_request. */
#include "storage/storage.h"

#include <errno.h>
#include <string.h>

static const char *const resource_names[] = {
	[STORAGE_MAPPED_VIRTUAL_DISK] = "MappedVirtualDisk", [STORAGE_SCSI_DEVICE] = "SCSIDevice",
	[STORAGE_MAPPED_DIRECTORY] = "MappedDirectory",	     [STORAGE_VPMEM_DEVICE] = "VPMemDevice",
	[STORAGE_COMBINED_LAYERS] = "CombinedLayers",
};

#define N_RESOURCES (sizeof(resource_names) / sizeof(resource_names[0]))

int storage_resource_parse(const char *resource_type, enum storage_resource *out, struct error *e)
{
	for (size_t i = 0; resource_type && i < N_RESOURCES; i++)
		if (strcmp(resource_type, resource_names[i]) == 0) {
			*out = (enum storage_resource)i;
			return 0;
		}
	return error_set(e, ERR_FAIL, ENOENT, "'%s' is not a storage resource type",
			 resource_type ? resource_type : "");
}

int storage_action_parse(enum storage_resource resource, const char *request_type,
			 enum storage_action *out, struct error *e)
{
	const char *name = (size_t)resource < N_RESOURCES ? resource_names[resource] : "?";

	if (request_type && strcmp(request_type, "Remove") == 0) {
		*out = STORAGE_REMOVE;
		return 0;
	}
	/* SCSIDevice only ever unplugs (spec §3.10.2). */
	if (request_type && strcmp(request_type, "Add") == 0 && resource != STORAGE_SCSI_DEVICE) {
		*out = STORAGE_ADD;
		return 0;
	}
	return error_set(e, ERR_FAIL, EINVAL, "%s: invalid request type '%s'", name,
			 request_type ? request_type : "");
}

int storage_run(void *request, struct error *e)
{
	const struct storage_request *r = request;
	bool add = r->action == STORAGE_ADD;

	switch (r->resource) {
	case STORAGE_MAPPED_VIRTUAL_DISK:
		return add ? storage_scsi_mount(r->cfg, &r->disk, e)
			   : storage_scsi_unmount(r->cfg, &r->disk, e);
	case STORAGE_SCSI_DEVICE:
		if (add)
			break;
		return storage_scsi_unplug(r->cfg, r->scsi_device.controller, r->scsi_device.lun,
					   e);
	case STORAGE_MAPPED_DIRECTORY:
		return add ? storage_plan9_mount(r->cfg, &r->directory, e)
			   : storage_plan9_unmount(r->cfg, &r->directory, e);
	case STORAGE_VPMEM_DEVICE:
		return add ? storage_vpmem_mount(r->cfg, &r->vpmem, e)
			   : storage_vpmem_unmount(r->cfg, &r->vpmem, e);
	case STORAGE_COMBINED_LAYERS:
		return add ? storage_overlay_mount(r->cfg, &r->layers, e)
			   : storage_overlay_unmount(r->cfg, &r->layers, e);
	}
	return error_set(e, ERR_FAIL, EINVAL, "storage request %d/%d is not valid",
			 (int)r->resource, (int)r->action);
}
