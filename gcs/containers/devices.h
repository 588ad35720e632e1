/* Device nodes of a pod workload, as the reference gives them:
 * - privileged (annotation io.microsoft.virtualmachine.lcow.privileged):
 *   every device node of the UVM's /dev goes into linux.devices, and the
 *   device cgroup allows everything;
 * - otherwise each linux.devices entry is resolved again by its path in the
 *   UVM (the host cannot know type, major and minor there) and gets an
 *   allow rule for exactly that node; a path that is no device is an error. */
#ifndef GCS_CONTAINERS_DEVICES_H
#define GCS_CONTAINERS_DEVICES_H

#include <stdbool.h>

#include <json-c/json.h>

#include "error.h"

#define OCI_ANN_PRIVILEGED "io.microsoft.virtualmachine.lcow.privileged"

/* dev_root: where the UVM's device nodes are ("/dev"; tests use another). */
int oci_devices_apply(struct json_object *spec, bool privileged, const char *dev_root,
		      struct error *e);

#endif
