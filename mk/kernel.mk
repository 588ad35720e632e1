# The guest kernel (issue 8): Debian's linux-source-6.1, tinyconfig plus
# kernel-config/lcow.config, everything built in but the virtio vsock
# transport, a module (issue 12) that /init loads under QEMU only.
#
#   make kernel                      build (or take from the cache) and put
#                                    out/kernel (EFI-stub bzImage), out/vmlinux
#                                    (uncompressed, stripped), out/kernel.config
#                                    and out/modules/lib/modules/<release>/
#                                    (the .ko files, stripped, with depmod's
#                                    modules.dep, modules.alias, ...)
#   make kernel KERNEL=bzImage [VMLINUX=vmlinux] [MODULES=dir]
#                                    use a vendor kernel instead; without
#                                    VMLINUX it is unpacked from the bzImage;
#                                    MODULES=dir holds its lib/modules/<release>/
#                                    (modules_install's INSTALL_MOD_PATH), copied
#                                    to out/modules; without it the image
#                                    carries no modules
#   KERNEL_CACHE=dir                 cache root (default /var/cache/lcow-guest);
#                                    results are keyed by source version +
#                                    fragment hash, so a rebuild is seconds
#   KERNEL_JOBS=n                    parallel compile jobs (default: all CPUs)

KERNEL_CACHE ?= /var/cache/lcow-guest
KERNEL_FRAGMENT := $(TOP)/kernel-config/lcow.config
IMAGE_OUT ?= $(TOP)/out

.PHONY: kernel
ifdef KERNEL
kernel:
	@python3 $(TOP)/kernel-config/vendor-kernel.py "$(KERNEL)" $(if $(VMLINUX),"$(VMLINUX)") \
		$(IMAGE_OUT) $(if $(MODULES),--modules "$(MODULES)")
else
kernel:
	$(if $(MODULES),@echo "kernel: warning: MODULES= goes with KERNEL=; ignored" >&2)
	@KERNEL_CACHE=$(KERNEL_CACHE) KERNEL_JOBS=$(KERNEL_JOBS) \
		bash $(TOP)/kernel-config/build-kernel.sh $(KERNEL_FRAGMENT) $(IMAGE_OUT)
endif
