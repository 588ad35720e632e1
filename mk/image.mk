# The boot image (issue 8). `make image` writes into out/ every file HCS or a
# UEFI machine boots (guest-image.md §5 and §6):
#   kernel, vmlinux      from `make kernel` (mk/kernel.mk), or KERNEL=/VMLINUX=
#                        (MODULES= for a vendor kernel's lib/modules/<release>)
#   initrd.img           gzip newc cpio + the tools' squashfs as a plain one, reproducible (sorted, 0:0, one mtime)
#   rootfs.tar.gz        the same tree as a tar
#   rootfs.vhd           the same tree as ext4 + a fixed-VHD footer
#   lcow.efi             UKI: systemd-boot stub + kernel + initrd + cmdline
#   lcow-efi.img         GPT disk, ESP with EFI/BOOT/BOOTX64.EFI = lcow.efi
# and prints a size table. The rootfs holds /init and the other guest
# binaries ($(BINARIES), always the static musl build), Debian's runc with its
# libraries, the static mke2fs (mkfs.ext4) from deps/, Debian's busybox-static
# with its applets (sh, test, ls, udhcpc, ...: what hosts exec in the UVM),
# the kernel's modules tree from out/modules (/lib/modules/<release>/, which
# /init loads from), and /info provenance. Scripts: rootfs/ (layout),
# mk/image/.
#
#   make image DEBUG=1     out/debug/: the same tree (named lcow-guest-debug),
#                          but lcow.efi starts a console shell (init -d
#                          /bin/sh) next to the GCS instead of taking entropy
#   make check-image       builds both images and runs tests/integration/test_image.py
#   make bench-image       boot times (QEMU launch → init's child) and sizes
#   EFI_CMDLINE='…'        the command line baked into lcow.efi
# The linuxkit.yml at the top describes the same image for `linuxkit build`;
# the release image ends with out/linuxkit/, the images it names
# (mk/linuxkit.mk).

IMAGE_OUT ?= $(TOP)/out
DEBUG ?= 0
ifeq ($(DEBUG),1)
IMAGE_DIR := $(IMAGE_OUT)/debug
IMAGE_NAME := lcow-guest-debug
else
IMAGE_DIR := $(IMAGE_OUT)
IMAGE_NAME := lcow-guest
endif

# Guest binaries come from the musl flavour whatever BUILD this make runs with.
IMAGE_BIN_DIR := $(TOP)/$(BUILD_DIR)/musl
IMAGE_BINS = $(addprefix $(IMAGE_BIN_DIR)/,$(notdir $(BINARIES)))
RUNC ?= $(firstword $(wildcard /usr/sbin/runc /usr/bin/runc))
BUSYBOX ?= /bin/busybox
MKE2FS ?= $(DEPS_MKE2FS)
CHRONYD ?= $(DEPS_CHRONYD)
IMAGE_EPOCH := $(or $(SOURCE_DATE_EPOCH),$(shell git -C $(TOP) log -1 --format=%ct 2>/dev/null),0)
# Provenance for /info and os-release (recursively expanded: git runs only
# when an image is built).
IMAGE_COMMIT ?= $(or $(shell git -C $(TOP) describe --always --dirty --abbrev=40 2>/dev/null),unknown)
IMAGE_BRANCH ?= $(or $(shell git -C $(TOP) rev-parse --abbrev-ref HEAD 2>/dev/null),unknown)

# hcsshim's GCS command (guest-image.md §3); -e 1 = entropy over vsock port 1.
GCS_CMDLINE := /bin/vsockexec -e 109 /bin/gcs -v4 -log-format json -loglevel debug
ifeq ($(DEBUG),1)
EFI_CMDLINE ?= console=ttyS0 panic=-1 -- -d /bin/sh $(GCS_CMDLINE)
else
EFI_CMDLINE ?= console=ttyS0 panic=-1 -- -e 1 $(GCS_CMDLINE)
endif

.PHONY: image image-binaries image-debug check-image bench-image

# Built in a sub-make with BUILD=musl; a binary that fails to build is left
# out with a warning (the image takes whatever exists), the rest goes on.
# The deps build makes mke2fs and chronyd.
image-binaries: $(BINARIES) $(DEPS_STAMP)

image: kernel
	@$(MAKE) --no-print-directory -k BUILD=musl SANITIZE=0 image-binaries || \
		echo "image: warning: some guest binaries failed to build" >&2
	@IMAGE_DIR=$(IMAGE_DIR) KERNEL_DIR=$(IMAGE_OUT) MODULES_DIR=$(IMAGE_OUT)/modules \
		BINS="$(IMAGE_BINS)" \
		RUNC="$(RUNC)" BUSYBOX="$(BUSYBOX)" MKE2FS="$(MKE2FS)" CHRONYD="$(CHRONYD)" \
		NAME=$(IMAGE_NAME) COMMIT="$(IMAGE_COMMIT)" BRANCH="$(IMAGE_BRANCH)" \
		EFI_CMDLINE='$(EFI_CMDLINE)' SOURCE_DATE_EPOCH=$(IMAGE_EPOCH) \
		bash $(TOP)/mk/image/build-image.sh
ifneq ($(DEBUG),1)
	@$(MAKE) --no-print-directory linuxkit-images IMAGE_OUT=$(IMAGE_OUT)
endif

image-debug:
	@$(MAKE) --no-print-directory image DEBUG=1

# `make check` needs both images: the tests boot the release one and the
# debug lcow.efi (console shell), and inspect both. Without a cached kernel
# this builds it.
check: check-image-prereq
.PHONY: check-image-prereq
check-image-prereq:
	@$(MAKE) --no-print-directory image DEBUG=0
	@$(MAKE) --no-print-directory image DEBUG=1

check-image: check-image-prereq
	@LCOW_OUT=$(OUT) $(PYTEST) -q -rs -p no:cacheprovider tests/integration/test_image.py $(PYTEST_ARGS)

bench: bench-image
bench-image: check-image-prereq
	@python3 $(TOP)/tests/vm/bench_image.py $(IMAGE_OUT)
