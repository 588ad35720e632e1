# `make run` (issue 9): after `make all` (the Makefile's run target), build
# the image if it is missing or older than the guest binaries, then boot it
# under QEMU (-accel tcg) with the vhost-user vsock backend and drive it as
# hcsshim drives a utility VM (host/run/run.py): entropy on port 1, the gcs
# log from port 109 printed line by line, NegotiateProtocol, `uname -a` as a
# UVM process, a busybox container (layer and scratch on virtio-scsi LUNs)
# printing "hello from lcow-guest", then ShutdownGraceful; QEMU exits by
# itself.
#   make run CMD='ls -l /'     the command the container runs (sh -c)
#   make run KERNEL=bzImage    boot a vendor kernel instead of out/vmlinux
#            [MODULES=dir]     with the modules LCOW needs from
#            [CONFIG=file]     dir/lib/modules/<release>/ appended to the
#                              initrd, loaded by /init (as make check-kernel
#                              does; CONFIG= when the kernel has no IKCONFIG);
#                              without MODULES= it needs virtio-pci, vsock
#                              and virtio-scsi built in
#   make run-debian            the same with Debian's stock kernel
#                              (mk/check-kernel.mk fetches it)
RUN_KERNEL = $(or $(KERNEL),$(IMAGE_OUT)/vmlinux)
# The image is rebuilt when a guest binary, mke2fs or the rootfs layout or
# image scripts are newer than it.
RUN_SCRIPT = $(MAKE) --no-print-directory run-vm

.PHONY: run-image run-vm
run-image:
	@if [ ! -e $(IMAGE_OUT)/initrd.img ] || [ ! -e $(IMAGE_OUT)/vmlinux ] || \
	    [ -n "$$(find $(IMAGE_BINS) $(MKE2FS) $(TOP)/rootfs $(TOP)/mk/image \
	        -newer $(IMAGE_OUT)/initrd.img 2>/dev/null)" ]; then \
		echo "run: building the image (make image)"; \
		$(MAKE) --no-print-directory image KERNEL= VMLINUX= DEBUG=0; \
	else echo "run: $(IMAGE_OUT) is up to date with $(IMAGE_BIN_DIR)"; fi

run-vm: export LCOW_RUN_CMD = $(CMD)
run-vm: run-image $(VSOCK_BACKEND)
	@/usr/bin/python3 $(TOP)/host/run/run.py --out $(IMAGE_OUT) --backend $(VSOCK_BACKEND) \
		--kernel $(RUN_KERNEL) $(if $(KERNEL),$(if $(MODULES),--modules "$(MODULES)") \
		$(if $(CONFIG),--config "$(CONFIG)"))
