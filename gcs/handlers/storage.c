/* ModifySettings for the storage resources (spec §3.10.1-§3.10.5, §5):
 * MappedVirtualDisk, SCSIDevice, MappedDirectory, VPMemDevice and
 * CombinedLayers on the UVM. The handler only copies the decoded settings
 * into a struct storage_request (gcs/storage/storage.h) and runs storage_run() as a
 * loop job: device waits, formatting and mounts block, the loop must not.
 * The request is answered from the job's completion (base only, or the
 * runtime's error), so other requests keep flowing meanwhile.
 *
 * The copies belong to the job (its own arena), not to the request: at
 * shutdown the bridge frees a cancelled request before the loop joins its
 * workers, and a job still running must not read freed settings.
 *
 * The storage configuration is built once, at start-up.
 * Test-only environment variables (the VM's init never sets them):
 *   LCOW_SYSFS_ROOT                 replaces "/sys" (as for VPCIDevice)
 *   LCOW_DEV_ROOT                   replaces "/dev"
 *   LCOW_STORAGE_EXTRA_ROOTS        ':'-separated absolute directories
 *                                   allowed besides the spec's roots
 *   LCOW_STORAGE_DEVICE_TIMEOUT_MS  device wait, instead of 5000 ms */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cleanup.h"
#include "bridge/handler.h"
#include "core/log.h"
#include "core/loop.h"
#include "storage/storage.h"

#define EXTRA_ROOTS_MAX 8
#define DEFAULT_ROOTS_MAX 16
/* Below the host's 5-minute RPC timeout, which would kill the bridge. */
#define DEVICE_TIMEOUT_MAX_MS (4 * 60 * 1000)

struct storage_job {
	struct storage_job *prev, *next; /* jobs in flight (DumpStacks) */
	struct request *req;		 /* NULL once the gcs cancelled it */
	struct arena *arena;		 /* the copied settings */
	struct storage_request sr;
	const char *resource_type, *request_type; /* in arena / static */
	uint64_t id, started;
};

static struct storage_job in_flight = {.prev = &in_flight, .next = &in_flight};
static size_t n_in_flight;

/* -- configuration ----------------------------------------------------------- */

static struct storage_config config;
static const char *roots[DEFAULT_ROOTS_MAX + EXTRA_ROOTS_MAX + 1];

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

/* At start-up (STARTUP_HOOK): fixed before any worker can read it. */
static int storage_setup(struct gcs *g, struct error *err)
{
	size_t n = 0;

	storage_config_init(&config);
	config.transport = &g->transport;
	if (env("LCOW_SYSFS_ROOT"))
		config.sysfs_root = env("LCOW_SYSFS_ROOT");
	if (env("LCOW_DEV_ROOT"))
		config.dev_root = env("LCOW_DEV_ROOT");
	set_device_timeout();
	while (n < DEFAULT_ROOTS_MAX && storage_default_roots[n]) {
		roots[n] = storage_default_roots[n];
		n++;
	}
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
STARTUP_HOOK(storage_setup)

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

static int copy_disk(struct storage_job *j, const Gcs__LCOWMappedVirtualDisk *s, struct error *err)
{
	struct scsi_mount_req *d = &j->sr.disk;
	const char **opts = NULL;

	d->controller = s->controller;
	d->lun = s->lun;
	d->partition = s->partition;
	d->read_only = s->readonly;
	d->encrypted = s->encrypted;
	d->block_dev = s->blockdev;
	d->ensure_filesystem = s->ensurefilesystem;
	/* VerityInfo is deprecated (spec §3.10.1): not used. */
	if (copy_str(j->arena, s->mountpath, &d->mount_path, err) < 0 ||
	    copy_str(j->arena, s->filesystem, &d->filesystem, err) < 0)
		return -ENOMEM;
	if (s->n_options) {
		opts = arena_alloc(j->arena, s->n_options * sizeof(*opts));
		if (!opts)
			return oom(err);
		for (size_t i = 0; i < s->n_options; i++)
			if (copy_str(j->arena, s->options[i], &opts[i], err) < 0)
				return -ENOMEM;
	}
	d->options = opts;
	d->n_options = s->n_options;
	return 0;
}

static int copy_directory(struct storage_job *j, const Gcs__LCOWMappedDirectory *s,
			  struct error *err)
{
	struct plan9_mount_req *d = &j->sr.directory;

	d->port = s->port;
	d->read_only = s->readonly;
	if (copy_str(j->arena, s->mountpath, &d->mount_path, err) < 0 ||
	    copy_str(j->arena, s->sharename, &d->share_name, err) < 0)
		return -ENOMEM;
	return 0;
}

static int copy_vpmem(struct storage_job *j, const Gcs__LCOWMappedVPMemDevice *s, struct error *err)
{
	struct vpmem_mount_req *d = &j->sr.vpmem;

	d->device_number = s->devicenumber;
	if (s->mappinginfo) {
		d->has_mapping = true;
		d->mapping_offset = s->mappinginfo->deviceoffsetinbytes;
		d->mapping_size = s->mappinginfo->devicesizeinbytes;
	}
	return copy_str(j->arena, s->mountpath, &d->mount_path, err);
}

static int copy_layers(struct storage_job *j, const Gcs__LCOWCombinedLayers *s, struct error *err)
{
	struct overlay_mount_req *d = &j->sr.layers;
	const char **paths = NULL;

	if (copy_str(j->arena, s->containerrootpath, &d->root_path, err) < 0 ||
	    copy_str(j->arena, s->scratchpath, &d->scratch_path, err) < 0)
		return -ENOMEM;
	if (s->n_layers) {
		paths = arena_alloc(j->arena, s->n_layers * sizeof(*paths));
		if (!paths)
			return oom(err);
		/* Only Path is used (spec §3.10.5); top-most first, as given. */
		for (size_t i = 0; i < s->n_layers; i++)
			if (copy_str(j->arena, s->layers[i]->path, &paths[i], err) < 0)
				return -ENOMEM;
	}
	d->layers = paths;
	d->n_layers = s->n_layers;
	return 0;
}

/* Settings arrive in the oneof member named by ResourceType; absent
 * Settings leave it unset (the reference fails to unmarshal nothing). */
static int copy_settings(struct storage_job *j, const Gcs__ModificationRequest *mr,
			 struct error *err)
{
	static const Gcs__ModificationRequest__SettingsCase want[] = {
		[STORAGE_MAPPED_VIRTUAL_DISK] =
			GCS__MODIFICATION_REQUEST__SETTINGS_MAPPED_VIRTUAL_DISK,
		[STORAGE_SCSI_DEVICE] = GCS__MODIFICATION_REQUEST__SETTINGS_SCSIDEVICE,
		[STORAGE_MAPPED_DIRECTORY] = GCS__MODIFICATION_REQUEST__SETTINGS_MAPPED_DIRECTORY,
		[STORAGE_VPMEM_DEVICE] = GCS__MODIFICATION_REQUEST__SETTINGS_VPMEM_DEVICE,
		[STORAGE_COMBINED_LAYERS] = GCS__MODIFICATION_REQUEST__SETTINGS_COMBINED_LAYERS,
	};
	enum storage_resource r = j->sr.resource;

	if ((size_t)r >= ARRAY_SIZE(want) || mr->settings_case != want[r] ||
	    !mr->mappedvirtualdisk /* any member: they share the union */)
		return error_set(err, ERR_BAD_JSON, EINVAL, "Settings is missing");
	switch (r) {
	case STORAGE_MAPPED_VIRTUAL_DISK:
		return copy_disk(j, mr->mappedvirtualdisk, err);
	case STORAGE_SCSI_DEVICE:
		j->sr.scsi_device.controller = mr->scsidevice->controller;
		j->sr.scsi_device.lun = mr->scsidevice->lun;
		return 0;
	case STORAGE_MAPPED_DIRECTORY:
		return copy_directory(j, mr->mappeddirectory, err);
	case STORAGE_VPMEM_DEVICE:
		return copy_vpmem(j, mr->vpmemdevice, err);
	case STORAGE_COMBINED_LAYERS:
		return copy_layers(j, mr->combinedlayers, err);
	}
	return error_set(err, ERR_FAIL, EINVAL, "storage resource %d has no settings", (int)r);
}

/* -- the job ----------------------------------------------------------------- */

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
	struct request *req = j->req;
	char what[512];
	struct error err;

	describe(&j->sr, what, sizeof(what));
	if (!req) {
		log_fields(LOG_WARN,
			   LOG_FIELDS(LOG_STR("resource", j->resource_type),
				      LOG_STR("request", j->request_type), LOG_STR("target", what),
				      LOG_INT("rc", rc)),
			   "storage request finished after the gcs cancelled it");
		job_free(j);
		return;
	}
	if (rc < 0) {
		if (jerr && jerr->msg[0])
			err = *jerr;
		else
			error_set(&err, ERR_FAIL, -rc, "%s", strerror(-rc));
		error_prefix(&err, "%s %s", j->resource_type, j->request_type);
		request_fail(req, &err);
	} else {
		log_fields(LOG_INFO,
			   LOG_FIELDS(LOG_STR("resource", j->resource_type),
				      LOG_STR("request", j->request_type), LOG_STR("target", what),
				      LOG_UINT("ms", loop_now_ms() - j->started)),
			   "storage request done");
		request_reply(req, NULL);
	}
	job_free(j);
}

static void storage_cancel(struct request *req, void *data)
{
	struct storage_job *j = data;

	j->req = NULL; /* the job runs on; its completion only frees it */
}

static int modify_storage(struct request *req, const Gcs__ModificationRequest *mr,
			  struct error *err)
{
	static const char *const action_names[] = {
		[STORAGE_ADD] = "Add", [STORAGE_REMOVE] = "Remove"};
	struct storage_job *j;
	int rc;

	j = calloc(1, sizeof(*j));
	if (!j || !(j->arena = arena_new())) {
		free(j);
		return oom(err);
	}
	j->req = req;
	j->id = req->id;
	/* A copy: the job may outlive the request (see the top). */
	if ((rc = copy_str(j->arena, mr->resourcetype, &j->resource_type, err)) < 0 ||
	    (rc = storage_resource_parse(mr->resourcetype, &j->sr.resource, err)) < 0 ||
	    (rc = storage_action_parse(j->sr.resource, mr->requesttype, &j->sr.action, err)) < 0)
		goto fail;
	j->request_type = action_names[j->sr.action];
	if ((rc = copy_settings(j, mr, err)) < 0) {
		error_prefix(err, "%s %s", mr->resourcetype, j->request_type);
		goto fail;
	}
	j->sr.cfg = &config;
	j->started = loop_now_ms();
	rc = loop_job(req->gcs->loop, storage_run, storage_done, &j->sr, err);
	if (rc < 0)
		goto fail;
	j->prev = in_flight.prev;
	j->next = &in_flight;
	in_flight.prev->next = j;
	in_flight.prev = j;
	n_in_flight++;
	request_on_cancel(req, storage_cancel, j);
	return REQUEST_PENDING;
fail:
	job_free(j);
	return rc;
}

static void storage_describe(struct gcs *g, struct printbuf *pb)
{
	uint64_t now = loop_now_ms();
	char what[512];

	sprintbuf(pb, "storage requests in flight: %zu\n", n_in_flight);
	for (struct storage_job *j = in_flight.next; j != &in_flight; j = j->next) {
		describe(&j->sr, what, sizeof(what));
		sprintbuf(pb, "  id %llu %s %s %s age=%llums%s\n", (unsigned long long)j->id,
			  j->resource_type, j->request_type, what,
			  (unsigned long long)(now - j->started),
			  j->req ? "" : " (cancelled: result will be dropped)");
	}
}
DUMP_SECTION(storage_describe)

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
