/* Kernel modules at boot: a coldplug of the devices present, as udev would
 * do it, without udev or kmod. Each pass plans (modules_plan.h) and loads
 * with finit_module(2); a pass can make new devices appear (a bus driver
 * such as virtio_pci), so passes repeat until one finds nothing new. The
 * load is a function pointer so that the unit tests drive the loop over
 * fake trees without touching the build machine's kernel. */
#ifndef LCOW_INIT_MODULES_H
#define LCOW_INIT_MODULES_H

#define INIT_MODULES_DIR "/lib/modules"
/* Bus driver -> its devices' drivers -> what those expose: three levels
 * seen (pci -> virtio_pci -> vsock; acpi -> hv_vmbus -> storvsc -> sd),
 * plus room. */
#define INIT_MODULES_MAX_PASSES 5

/* Loads the module file at path: 0, -EEXIST (already loaded: fine) or a
 * negative errno. */
typedef int (*mod_load_fn)(const char *path, void *ctx);

struct mod_coldplug_result {
	unsigned int loaded, failed, skipped, passes;
	unsigned int unfinished; /* modules still wanted after the last pass */
};

/* Coldplugs the modules of dir (which holds modules.dep and modules.alias)
 * for the devices under sysfs, logging each load, failure and skip. A
 * failed module is a warning, not an error. Returns 0, -ENOENT when dir has
 * no modules.dep, or another negative errno when the index cannot be read. */
int init_modules_coldplug(const char *dir, const char *sysfs, unsigned int max_passes,
			  mod_load_fn load, void *ctx, struct mod_coldplug_result *res);

/* The real mod_load_fn: finit_module(2), telling the kernel to decompress
 * .ko.xz/.zst/.gz files itself. ctx is unused. */
int init_module_finit(const char *path, void *ctx);

#endif
