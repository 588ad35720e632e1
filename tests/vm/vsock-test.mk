# The vsock backend's guest-side test program and its initrd: a static musl
# /init (tests/vm/vsock_test.c) in a newc cpio of its own, booted with the
# project's kernel (out/vmlinux, its modules appended by the harness) by tests/integration/test_vsock_backend.py
# and by `make bench-vsock`. Built with musl-gcc in every flavour: it runs in
# the VM, not on the build machine. Part of `all` so that `make check` has it.
VSOCK_TEST := $(OUT)/vm/vsock-test
VSOCK_TEST_INITRD := $(OUT)/vm/vsock-test.initrd
VSOCK_TEST_CFLAGS := -static -O2 -std=gnu11 $(WARN) -D_GNU_SOURCE -I$(TOP)/init -I$(TOP)/lib \
	-idirafter $(UAPI_DIR)
# /init's module coldplug, compiled in: the kernel's virtio vsock transport
# is a module (tests/vm/vsock_vm.py appends the modules to the initrd).
VSOCK_TEST_INIT_SRCS := $(addprefix init/,modules.c modules_index.c modules_plan.c glob.c dir.c \
	klog.c)

# build/deps provides the kernel UAPI headers (linux/vm_sockets.h) for musl.
$(VSOCK_TEST): tests/vm/vsock_test.c $(VSOCK_TEST_INIT_SRCS) $(wildcard init/*.h) | $(DEPS_STAMP)
	@mkdir -p $(@D)
	musl-gcc $(VSOCK_TEST_CFLAGS) -o $@ $< $(VSOCK_TEST_INIT_SRCS)

$(VSOCK_TEST_INITRD): $(VSOCK_TEST)
	@rm -rf $(@D)/initrd-root && mkdir -p $(@D)/initrd-root
	@cp $< $(@D)/initrd-root/init
	cd $(@D)/initrd-root && echo init | cpio --quiet -o -H newc -R 0:0 --reproducible >$@.tmp
	@mv $@.tmp $@

all: $(VSOCK_TEST_INITRD)
