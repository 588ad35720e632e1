# Host-side programs: they run on the build machine (next to QEMU), so they
# are built with the system compiler whatever the flavour. The host flavours
# reuse their flags (SANITIZE=1 gives an ASan/UBSan backend); the musl flavour
# uses plain host flags. Objects live in $(OUT)/hostobj, apart from the
# flavour's own objects.
HOST_CC := cc
# ThreadSanitizer cannot follow the vsock backend's fences on memory it
# shares with QEMU: the TSan flavour builds host programs plainly.
ifneq ($(filter musl,$(BUILD))$(filter thread,$(SANITIZE)),)
HOST_PROG_CFLAGS := -O2 -g -std=gnu11 $(WARN) -fno-strict-aliasing
HOST_PROG_LDFLAGS :=
else
HOST_PROG_CFLAGS := $(CFLAGS)
HOST_PROG_LDFLAGS := $(LDFLAGS)
endif
HOST_PROG_CPPFLAGS := -D_GNU_SOURCE -I$(TOP)/lib

$(OUT)/hostobj/%.o: %.c
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_PROG_CPPFLAGS) $(HOST_PROG_CFLAGS) -MMD -MP -c -o $@ $<

-include $(shell find $(OUT)/hostobj -name '*.d' 2>/dev/null)

# vsock-backend: vhost-user-vsock backend bridging guest AF_VSOCK to unix
# sockets (host/vsock/main.c explains the command line).
VSOCK_BACKEND_SRCS := $(sort $(wildcard host/vsock/*.c))
VSOCK_BACKEND := $(OUT)/vsock-backend

$(VSOCK_BACKEND): $(patsubst %.c,$(OUT)/hostobj/%.o,$(VSOCK_BACKEND_SRCS))
	@mkdir -p $(@D)
	$(HOST_CC) $(HOST_PROG_LDFLAGS) -o $@ $^

HOST_PROGRAMS += $(VSOCK_BACKEND)
