/* SCSI controller index + LUN -> block device, through sysfs (spec §5.1). */
#ifndef GCS_STORAGE_SCSI_DEVICE_H
#define GCS_STORAGE_SCSI_DEVICE_H

#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "storage/storage.h"

#define SCSI_CONTROLLERS 4
#define SCSI_MAX_LUN 63

/* hcsshim's fixed VMBus instance ids of controllers 0..3. */
extern const char *const scsi_controller_guids[SCSI_CONTROLLERS];

/* The Linux SCSI host number N of a controller (the host<N> entry under
 * <sysfs>/bus/vmbus/devices/<guid>/). -ENOENT (e set) while absent.
 * Without VMBus (no <sysfs>/bus/vmbus: QEMU), controller C is the C-th
 * virtio-scsi host (<sysfs>/class/scsi_host/host*, proc_name virtio_scsi). */
int scsi_host_number(const struct storage_config *cfg, unsigned controller, unsigned *host,
		     struct error *e);

/* Waits (cfg->device_timeout_ms) for the disk at controller/LUN, or its
 * partition when partition >= 1, to appear and its node under dev_root to
 * open; writes "<dev_root>/<name>" to path. */
int scsi_find_device(const struct storage_config *cfg, unsigned controller, unsigned lun,
		     uint64_t partition, char *path, size_t size, struct error *e);

/* Guest-initiated unplug: "1\n" to .../<N>:0:0:<lun>/delete. A device that
 * is not there is success. */
int scsi_unplug(const struct storage_config *cfg, unsigned controller, unsigned lun,
		struct error *e);

#endif
