# Kernel vendors (issue 14): does a kernel run LCOW, capability by
# capability? host/check-kernel/check_kernel.py reads the kernel's
# configuration and checks it against kernel-config/lcow.config's annotated
# capabilities, boots it under QEMU (-accel tcg) with our release initrd
# (plus the modules LCOW needs from MODULES=, loaded by /init) and probes
# each capability through the bridge as a host would; it prints the table,
# writes JSON and fails when a capability LCOW needs fails.
#
#   make check-kernel                 our kernel (out/kernel, out/vmlinux,
#                                     out/modules), build options included
#   make check-kernel KERNEL=bzImage [VMLINUX=vmlinux] [MODULES=dir] [CONFIG=.config]
#                                     a vendor's: MODULES=dir holds
#                                     lib/modules/<release>/; CONFIG= when
#                                     the kernel has no IKCONFIG
#   make check-kernel-debian          Debian bookworm's stock kernel (the
#                                     package linux-image-amd64 depends on),
#                                     fetched with apt-get download into
#                                     $(KERNEL_CACHE)/debian/, never installed
#   make run-debian                   make run on that kernel and its modules
#   make check-kernel-table           the README's requirements table
#   CHECK_KERNEL_JSON=file            the report (default out/check-kernel.json,
#                                     out/check-kernel-debian.json)

CHECK_KERNEL := /usr/bin/python3 $(TOP)/host/check-kernel/check_kernel.py
DEBIAN_KERNEL = KERNEL_CACHE=$(KERNEL_CACHE) bash $(TOP)/kernel-config/debian-kernel.sh

.PHONY: check-kernel check-kernel-debian check-kernel-table debian-kernel run-debian
check-kernel: run-image $(VSOCK_BACKEND)
ifdef KERNEL
	@$(CHECK_KERNEL) --kernel "$(KERNEL)" $(if $(VMLINUX),--vmlinux "$(VMLINUX)") \
		$(if $(MODULES),--modules "$(MODULES)") $(if $(CONFIG),--config "$(CONFIG)") \
		--out $(IMAGE_OUT) --backend $(VSOCK_BACKEND) \
		--json $(or $(CHECK_KERNEL_JSON),$(IMAGE_OUT)/check-kernel.json)
else
	@$(CHECK_KERNEL) --ours --kernel $(IMAGE_OUT)/kernel --vmlinux $(IMAGE_OUT)/vmlinux \
		--modules $(IMAGE_OUT)/modules --out $(IMAGE_OUT) --backend $(VSOCK_BACKEND) \
		--json $(or $(CHECK_KERNEL_JSON),$(IMAGE_OUT)/check-kernel.json)
endif

debian-kernel:
	@$(DEBIAN_KERNEL) >/dev/null

check-kernel-debian: run-image $(VSOCK_BACKEND)
	@d=$$($(DEBIAN_KERNEL)) && r=$$(cat $$d/release) && \
	$(CHECK_KERNEL) --kernel $$d/boot/vmlinuz-$$r --config $$d/boot/config-$$r --modules $$d \
		--out $(IMAGE_OUT) --backend $(VSOCK_BACKEND) \
		--json $(or $(CHECK_KERNEL_JSON),$(IMAGE_OUT)/check-kernel-debian.json)

run-debian: export LCOW_RUN_CMD = $(CMD)
run-debian: run-image $(VSOCK_BACKEND)
	@d=$$($(DEBIAN_KERNEL)) && r=$$(cat $$d/release) && \
	/usr/bin/python3 $(TOP)/host/run/run.py --out $(IMAGE_OUT) --backend $(VSOCK_BACKEND) \
		--kernel $$d/boot/vmlinuz-$$r --config $$d/boot/config-$$r --modules $$d

check-kernel-table:
	@$(CHECK_KERNEL) --table

# make check runs both kernels (tests/integration/test_check_kernel.py); the
# Debian one is fetched here, once, so that the tests find it in the cache.
# Offline, the fetch fails with a warning and those tests skip saying why.
check: check-kernel-prereq
.PHONY: check-kernel-prereq
check-kernel-prereq:
	@$(DEBIAN_KERNEL) >/dev/null || \
		echo "check-kernel: warning: Debian's kernel could not be fetched" >&2
