/* Which kernel modules one coldplug pass loads, in which order: a function
 * of a modules index (modules_index.h) and a sysfs tree, with no side
 * effects, so that the unit tests can give it fake trees.
 *
 * A device that has no driver yet and whose modalias matches a module's
 * alias wants that module; each module comes after its dependencies. With
 * VMBus present (Hyper-V), hv_sock is wanted too (it has no modalias to
 * match), and a virtio vsock transport never is: it would take the
 * guest-to-host vsock transport from hv_sock (see kernel-config/lcow.config).
 * Every module modules.lcow names is wanted too, device or not (the same
 * rule holds for a virtio vsock transport listed there). */
#ifndef LCOW_INIT_MODULES_PLAN_H
#define LCOW_INIT_MODULES_PLAN_H

#include <stdbool.h>
#include <stddef.h>

struct mod_index;

enum mod_action {
	MOD_LOAD,
	MOD_SKIP_VMBUS, /* a virtio vsock transport on Hyper-V: log, never load */
};

struct mod_step {
	size_t mod; /* index into the index's mods */
	enum mod_action action;
};

struct mod_plan {
	struct mod_step *steps;
	size_t n, size;
	bool vmbus; /* /sys/bus/vmbus/devices had an entry */
};

/* Plans one pass over sysfs (normally "/sys"). done[i] != 0 marks module i
 * as handled by an earlier pass (loaded, failed or skipped): it is not
 * planned again. Returns 0 (plan->n may be 0: nothing new) or -ENOMEM. */
int mod_plan_pass(const struct mod_index *ix, const char *sysfs, const unsigned char *done,
		  struct mod_plan *plan);

void mod_plan_free(struct mod_plan *plan);

/* True when sysfs/bus/vmbus/devices has at least one device. */
bool mod_vmbus_present(const char *sysfs);

#endif
