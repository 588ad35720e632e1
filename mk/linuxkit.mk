# LinuxKit (issue 15): the images linuxkit.yml names, written by us, so that
# `linuxkit build` needs no registry.
#
#   make linuxkit-images   out/linuxkit/{kernel,init,runc}.oci.tar from the
#                          release image in out/ (`make image` ends with it):
#                          OCI image-layout tarballs for `linuxkit cache
#                          import`, tagged docker.io/lcow-guest/<name>:<version>
#                          and :latest (mk/linuxkit_images.py says what each
#                          holds)
#   make check-linuxkit    with a `linuxkit` on PATH (or LINUXKIT=path):
#                          imports them into a fresh cache, runs `linuxkit
#                          build --format kernel+initrd` of linuxkit.yml from
#                          another directory, and boots that kernel and initrd
#                          as `make run` does (host/run/run.py: a busybox
#                          container); without one it says so and skips.
#                          LINUXKIT_BUILD_DIR=dir keeps the cache and the
#                          build there (default: a temporary directory)
LINUXKIT ?= linuxkit
LINUXKIT_OUT = $(IMAGE_OUT)/linuxkit
LINUXKIT_BUILD_DIR ?=

.PHONY: linuxkit-images check-linuxkit

linuxkit-images:
	@python3 $(TOP)/mk/linuxkit_images.py $(IMAGE_OUT) $(LINUXKIT_OUT)

# Built from inside the build directory: the yml must not need this tree.
check-linuxkit:
	@if ! command -v $(LINUXKIT) >/dev/null; then \
		echo "check-linuxkit: skipped: no '$(LINUXKIT)' on PATH (LinuxKit's CLI; LINUXKIT=path)"; \
		exit 0; fi; \
	set -e; \
	$(MAKE) --no-print-directory run-image $(VSOCK_BACKEND); \
	$(MAKE) --no-print-directory linuxkit-images; \
	dir="$(LINUXKIT_BUILD_DIR)"; \
	if [ -z "$$dir" ]; then \
		dir=$$(mktemp -d /tmp/lcow-linuxkit.XXXXXX); trap 'rm -rf "$$dir"' EXIT; fi; \
	mkdir -p "$$dir"; dir=$$(realpath "$$dir"); rm -rf "$$dir/cache"; \
	for t in $(LINUXKIT_OUT)/*.oci.tar; do \
		$(LINUXKIT) cache import --cache "$$dir/cache" "$$t"; done; \
	$(LINUXKIT) cache ls --cache "$$dir/cache"; \
	(cd "$$dir" && $(LINUXKIT) build --cache "$$dir/cache" --format kernel+initrd \
		--no-sbom --name lcow $(TOP)/linuxkit.yml); \
	ls -l "$$dir"/lcow-*; \
	/usr/bin/python3 $(TOP)/host/run/run.py --out $(IMAGE_OUT) --backend $(VSOCK_BACKEND) \
		--kernel "$$dir/lcow-kernel" --initrd "$$dir/lcow-initrd.img"
