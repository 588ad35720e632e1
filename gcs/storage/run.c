/* One storage request as one job: the table from ResourceType and
 * RequestType to the runtime call, and the operation that runs it on a
 * worker (device waits, formatting and mounts block; the loop must not),
 * so the ModifySettings handlers only copy settings into a struct
 * storage_request.
 *
 * The strings of a request live in an arena the operation owns: at shutdown
 * the bridge frees a cancelled request before the loop joins its workers,
 * and a job still running must not read freed settings. */
#include "storage/storage.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/log.h"
#include "core/loop.h"

static const char *const action_names[] = {[STORAGE_ADD] = "Add", [STORAGE_REMOVE] = "Remove"};

struct storage_job {
	struct storage_job *prev, *next; /* jobs in flight (DumpStacks) */
	struct op_done done;
	struct arena *arena; /* the request's strings */
	struct storage_request sr;
	const char *resource_type, *request_type; /* static */
	uint64_t label, started;
};

static struct storage_job in_flight = {.prev = &in_flight, .next = &in_flight};
static size_t n_in_flight;

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

/* One line about what the request touches, for logs and DumpStacks. */
static void describe(const struct storage_request *sr, char *buf, size_t size)
{
	switch (sr->resource) {
	case STORAGE_MAPPED_VIRTUAL_DISK:
		snprintf(buf, size, "controller %u LUN %u at \"%s\"", sr->disk.controller,
			 sr->disk.lun, sr->disk.mount_path);
		return;
	case STORAGE_SCSI_DEVICE:
		snprintf(buf, size, "controller %u LUN %u", sr->scsi_device.controller,
			 sr->scsi_device.lun);
		return;
	case STORAGE_MAPPED_DIRECTORY:
		snprintf(buf, size, "share \"%s\" at \"%s\"", sr->directory.share_name,
			 sr->directory.mount_path);
		return;
	case STORAGE_VPMEM_DEVICE:
		snprintf(buf, size, "device %u at \"%s\"", sr->vpmem.device_number,
			 sr->vpmem.mount_path);
		return;
	case STORAGE_COMBINED_LAYERS:
		snprintf(buf, size, "%zu layers at \"%s\"", sr->layers.n_layers,
			 sr->layers.root_path);
		return;
	}
	snprintf(buf, size, "?");
}

static struct storage_job *job_of(void *sr)
{
	return (struct storage_job *)((char *)sr - offsetof(struct storage_job, sr));
}

static void job_free(struct storage_job *j)
{
	if (j->next) {
		j->prev->next = j->next;
		j->next->prev = j->prev;
		n_in_flight--;
	}
	arena_free(j->arena);
	free(j);
}

/* Loop thread, once storage_run() has returned on its worker. */
static void storage_done(struct loop *l, int rc, const struct error *jerr, void *data)
{
	struct storage_job *j = job_of(data);
	char what[512];
	struct error err;

	describe(&j->sr, what, sizeof(what));
	if (!op_wanted(&j->done)) {
		log_fields(LOG_WARN,
			   LOG_FIELDS(LOG_STR("resource", j->resource_type),
				      LOG_STR("request", j->request_type), LOG_STR("target", what),
				      LOG_INT("rc", rc)),
			   "storage request finished after the gcs cancelled it");
		op_finish(&j->done, -ECANCELED, NULL, NULL);
		job_free(j);
		return;
	}
	if (rc < 0) {
		if (jerr && jerr->msg[0])
			err = *jerr;
		else
			error_set(&err, ERR_FAIL, -rc, "%s", strerror(-rc));
		error_prefix(&err, "%s %s", j->resource_type, j->request_type);
		op_finish(&j->done, rc, &err, NULL);
	} else {
		log_fields(LOG_INFO,
			   LOG_FIELDS(LOG_STR("resource", j->resource_type),
				      LOG_STR("request", j->request_type), LOG_STR("target", what),
				      LOG_UINT("ms", loop_now_ms() - j->started)),
			   "storage request done");
		op_finish(&j->done, 0, NULL, NULL);
	}
	job_free(j);
}

int storage_apply(struct loop *l, const struct storage_request *r, struct arena *a, uint64_t label,
		  const struct op_done *done, struct error *err)
{
	struct storage_job *j = calloc(1, sizeof(*j));
	int rc;

	if (!j) {
		arena_free(a);
		return error_set(err, ERR_FAIL, ENOMEM, "out of memory");
	}
	j->arena = a;
	j->sr = *r;
	if (!j->sr.cfg)
		j->sr.cfg = storage_config();
	j->done = *done;
	j->label = label;
	j->resource_type = (size_t)r->resource < N_RESOURCES ? resource_names[r->resource] : "?";
	j->request_type =
		r->action == STORAGE_ADD ? action_names[STORAGE_ADD] : action_names[STORAGE_REMOVE];
	j->started = loop_now_ms();
	rc = loop_job(l, storage_run, storage_done, &j->sr, err);
	if (rc < 0) {
		job_free(j);
		return rc;
	}
	j->prev = in_flight.prev;
	j->next = &in_flight;
	in_flight.prev->next = j;
	in_flight.prev = j;
	n_in_flight++;
	return 0;
}

void storage_describe(struct printbuf *pb)
{
	uint64_t now = loop_now_ms();
	char what[512];

	sprintbuf(pb, "storage requests in flight: %zu\n", n_in_flight);
	for (struct storage_job *j = in_flight.next; j != &in_flight; j = j->next) {
		describe(&j->sr, what, sizeof(what));
		sprintbuf(pb, "  id %llu %s %s %s age=%llums%s\n", (unsigned long long)j->label,
			  j->resource_type, j->request_type, what,
			  (unsigned long long)(now - j->started),
			  op_wanted(&j->done) ? "" : " (cancelled: result will be dropped)");
	}
}
