/* The storage runtime behind ModifySettings (spec §3.10, §5): SCSI disks,
 * VPMem layers, Plan 9 shares and overlay root filesystems.
 *
 * Every call takes plain C values copied out of the request by the handler,
 * checks every host path against the allowed roots, may block for a bounded
 * time (device wait, formatting) and is safe to run on several worker
 * threads at once: the runtime keeps no mutable state of its own besides the
 * lock that serialises ext4 formats (libext2fs is not thread-safe), the
 * kernel arbitrates between concurrent requests. Each returns 0 or a negative errno
 * with e filled (kind ERR_INVALID_ARG for a refused value, ERR_NOT_IMPLEMENTED
 * for an unsupported feature, ERR_FAIL otherwise). Remove calls tolerate
 * what is already gone. */
#ifndef GCS_STORAGE_STORAGE_H
#define GCS_STORAGE_STORAGE_H

#include <json-c/printbuf.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/op.h"
#include "error.h"
#include "transport.h"

#define STORAGE_DEVICE_TIMEOUT_MS 5000 /* the reference's Add-path context */
#define PLAN9_DEFAULT_PORT 564

/* Where the runtime looks for things; fixed after start-up, shared read-only
 * by every worker. Tests point sysfs_root at a fake tree and the roots at a
 * temporary directory. */
struct storage_config {
	const char *sysfs_root;		   /* "/sys" */
	const char *dev_root;		   /* "/dev" */
	const char *const *allowed_roots;  /* NULL-terminated; NULL: the spec's */
	unsigned device_timeout_ms;	   /* 0: STORAGE_DEVICE_TIMEOUT_MS */
	const struct transport *transport; /* Plan 9 dialling; NULL: vsock */
};

/* /run/gcs/c, /run/gcs/pods, /run/mounts, /run/layers, /run/drivers. */
extern const char *const storage_default_roots[];

void storage_config_init(struct storage_config *cfg);

/* VerityInfo (DeviceVerityInfo) of a read-only layer: what the host read
 * from the dm-verity superblock appended after the layer's ext4 data
 * (hcsshim v0.11: ext4 | superblock | hash tree, one device). present false:
 * no VerityInfo, the device is mounted as it is. */
struct verity_info {
	bool present;
	int64_t ext4_size;	 /* Ext4SizeInBytes: the data the tree covers */
	int64_t version;	 /* Version: hash format, 0 or 1 */
	const char *algorithm;	 /* Algorithm: "sha256" */
	bool superblock;	 /* SuperBlock: the tree starts one block later */
	const char *root_digest; /* RootDigest: hex */
	const char *salt;	 /* Salt: hex, "" for none */
	int64_t block_size;	 /* BlockSize: data and hash block size */
};

/* MappedVirtualDisk (Add/Remove). An empty mount_path means attach-only:
 * nothing to do. Remove uses mount_path, block_dev and the address
 * (controller, LUN, partition), which names the dm devices over the disk. */
struct scsi_mount_req {
	uint32_t controller;	    /* Controller: HCS index 0-3 (checked) */
	uint32_t lun;		    /* Lun: 0-63 (checked) */
	uint64_t partition;	    /* Partition: 0 whole disk, N >= 1 Nth partition */
	const char *mount_path;	    /* MountPath */
	bool read_only;		    /* ReadOnly: MS_RDONLY + noload */
	bool encrypted;		    /* Encrypted: dm-crypt, ephemeral key, new ext4 */
	bool block_dev;		    /* BlockDev: symlink mount_path -> device */
	bool ensure_filesystem;	    /* EnsureFilesystem: format if absent, grow */
	const char *filesystem;	    /* Filesystem: "ext4", "xfs", NULL/"" detect */
	const char *const *options; /* Options (propagation flags honoured) */
	size_t n_options;
	struct verity_info verity; /* VerityInfo: read-only disks only */
};

int storage_scsi_mount(const struct storage_config *cfg, const struct scsi_mount_req *req,
		       struct error *e);
int storage_scsi_unmount(const struct storage_config *cfg, const struct scsi_mount_req *req,
			 struct error *e);
/* SCSIDevice Remove: guest-side unplug (write 1 to .../delete). */
int storage_scsi_unplug(const struct storage_config *cfg, uint32_t controller, uint32_t lun,
			struct error *e);

/* VPMemDevice (Add/Remove; Remove sends the same settings). */
struct vpmem_mount_req {
	uint32_t device_number;	   /* DeviceNumber: /dev/pmem<N> */
	const char *mount_path;	   /* MountPath */
	bool has_mapping;	   /* MappingInfo present */
	uint64_t mapping_offset;   /* MappingInfo.DeviceOffsetInBytes */
	uint64_t mapping_size;	   /* MappingInfo.DeviceSizeInBytes */
	struct verity_info verity; /* VerityInfo: over the mapping if any */
};

int storage_vpmem_mount(const struct storage_config *cfg, const struct vpmem_mount_req *req,
			struct error *e);
int storage_vpmem_unmount(const struct storage_config *cfg, const struct vpmem_mount_req *req,
			  struct error *e);

/* MappedDirectory (Add/Remove; Remove uses mount_path only). */
struct plan9_mount_req {
	const char *mount_path; /* MountPath */
	int32_t port;		/* Port: 0 means PLAN9_DEFAULT_PORT, < 0 refused */
	const char *share_name; /* ShareName: the 9P aname */
	bool read_only;		/* ReadOnly */
};

int storage_plan9_mount(const struct storage_config *cfg, const struct plan9_mount_req *req,
			struct error *e);
int storage_plan9_unmount(const struct storage_config *cfg, const struct plan9_mount_req *req,
			  struct error *e);

/* CombinedLayers (Add/Remove; Remove uses root_path only). */
struct overlay_mount_req {
	const char *root_path;	   /* ContainerRootPath */
	const char *const *layers; /* Layers[].Path, top-most first */
	size_t n_layers;
	const char *scratch_path; /* ScratchPath: NULL/"" read-only overlay */
};

int storage_overlay_mount(const struct storage_config *cfg, const struct overlay_mount_req *req,
			  struct error *e);
int storage_overlay_unmount(const struct storage_config *cfg, const struct overlay_mount_req *req,
			    struct error *e);

/* One ModifySettings storage request as a single job, for a handler that
 * runs blocking work on a worker: fill a struct storage_request (it and
 * every string it points to must stay valid until storage_run returns),
 * then run storage_run(req, e) on a worker thread - its signature is that of
 * a loop job. */
enum storage_resource {
	STORAGE_MAPPED_VIRTUAL_DISK, /* "MappedVirtualDisk": Add, Remove */
	STORAGE_SCSI_DEVICE,	     /* "SCSIDevice": Remove */
	STORAGE_MAPPED_DIRECTORY,    /* "MappedDirectory": Add, Remove */
	STORAGE_VPMEM_DEVICE,	     /* "VPMemDevice": Add, Remove */
	STORAGE_COMBINED_LAYERS,     /* "CombinedLayers": Add, Remove */
};

enum storage_action {
	STORAGE_ADD,
	STORAGE_REMOVE
};

struct storage_request {
	const struct storage_config *cfg;
	enum storage_resource resource;
	enum storage_action action;
	union {
		struct scsi_mount_req disk; /* MappedVirtualDisk */
		struct {
			uint32_t controller, lun;
		} scsi_device;			  /* SCSIDevice */
		struct plan9_mount_req directory; /* MappedDirectory */
		struct vpmem_mount_req vpmem;	  /* VPMemDevice */
		struct overlay_mount_req layers;  /* CombinedLayers */
	};
};

/* The resource named by ResourceType; -ENOENT (e set) for a type that is
 * not storage. */
int storage_resource_parse(const char *resource_type, enum storage_resource *out, struct error *e);

/* RequestType ("" already normalised to "Add") -> action, refusing what the
 * resource does not accept (SCSIDevice is Remove only; Update, PreAdd, ...
 * are refused for all) with ERR_FAIL "invalid request type". */
int storage_action_parse(enum storage_resource resource, const char *request_type,
			 enum storage_action *out, struct error *e);

/* Runs the request: the matching storage_*_mount/unmount/unplug. */
int storage_run(void *request, struct error *e);

/* The request as an operation (no result): storage_run() in a job. It
 * takes the arena the request's strings live in (freed when the operation
 * ends, or at once when it refuses); r->cfg NULL means storage_config().
 * label names it in DumpStacks (the host's request id). A failure's message
 * starts with "<ResourceType> <RequestType>: ". */
struct arena;
struct loop;
int storage_apply(struct loop *l, const struct storage_request *r, struct arena *a, uint64_t label,
		  const struct op_done *done, struct error *err);
/* The operations in flight (DumpStacks). */
void storage_describe(struct printbuf *pb);

/* The configuration the gcs runs with: the defaults, changed by the
 * test-only LCOW_SYSFS_ROOT, LCOW_DEV_ROOT, LCOW_STORAGE_EXTRA_ROOTS and
 * LCOW_STORAGE_DEVICE_TIMEOUT_MS (config.c); set once at start-up, before
 * any job can read it. */
int storage_setup(const struct transport *t, struct error *err);
const struct storage_config *storage_config(void);

/* VPCIDevice Add (vpci.c): finishes (no result) once the PCI device
 * assigned through VMBus channel `guid` shows up in sysfs, or fails after
 * 4 minutes, below the host's 5-minute RPC timeout. LCOW_SYSFS_ROOT (tests)
 * replaces "/sys". */
int vpci_wait_device(struct loop *l, const char *guid, const struct op_done *done,
		     struct error *err);

#endif
