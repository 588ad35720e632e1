# init/: /init (PID 1 of the utility VM) and /bin/vsockexec.
#
# Both are static, built with -Os and stripped: hcsshim's musl init is about
# 79 KB and ours is to stay well under it (guest-image.md §2.1): 67 KB since
# it mounts the initrd's tools squashfs, whose 0.8 KB of code took its text
# past a 4 KiB page boundary (it was 59 KB, under 64). They link only
# libinit.a (their own pieces, archived so that the unit tests reach the
# parsers) and liblcow.a (the transport); no json or protobuf.
INIT_MAINS := init/main.c init/vsockexec.c
INIT_LIB_SRCS := $(filter-out $(INIT_MAINS),$(wildcard init/*.c))
INIT_HELPERS := $(OUT)/tests/helpers/init_probe $(OUT)/tests/helpers/nsrun

# The init tests run these chrooted in a root that has no libc, so they are
# static in every flavour but the sanitizer one (ASan cannot link
# statically; those tests then skip).
ifneq ($(SANITIZE),0)
INIT_STATIC :=
else
INIT_STATIC := -static
endif

$(call objs,$(INIT_MAINS) $(INIT_LIB_SRCS)): CFLAGS += -Os

$(OUT)/libinit.a: $(call objs,$(INIT_LIB_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(OUT)/init: $(call objs,init/main.c) $(OUT)/libinit.a $(OUT)/liblcow.a
	$(LINK)

$(OUT)/vsockexec: $(call objs,init/vsockexec.c) $(OUT)/libinit.a $(OUT)/liblcow.a
	$(LINK)

$(OUT)/init $(OUT)/vsockexec: private LDFLAGS += $(INIT_STATIC) -s

# Test helpers: a probe that runs as init's child and reports what it sees,
# and a launcher that starts init as PID 1 of new namespaces in a chroot.
$(OUT)/tests/helpers/init_probe: $(OUT)/obj/tests/helpers/init_probe.o
	$(LINK)

$(OUT)/tests/helpers/nsrun: $(OUT)/obj/tests/helpers/nsrun.o
	$(LINK)

$(OUT)/tests/helpers/init_probe: private LDFLAGS += $(INIT_STATIC)

BINARIES += $(OUT)/init $(OUT)/vsockexec
COMPONENT_LIBS += $(OUT)/libinit.a
all: $(INIT_HELPERS)
