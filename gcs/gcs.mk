# The guest compute service, one archive per folder (CONTRIBUTING.md shows
# the layers and who may include whom):
#
#   core/        event loop, jobs, log, arena, kmsg, crash, dial, child exec
#   bridge/      the connection, framing, codec, dispatch, replies, HRESULTs
#   handlers/    one file per message family: request -> runtime -> reply
#   process/ containers/ runc/ storage/ network/ cgroups/ security/ timesync/
#                the runtime, which knows nothing of the wire
#
# Each folder becomes $(OUT)/libgcs_<folder>.a; unit tests link only the
# archives they use (tests/tests.mk). main.c, options and flags stay at the
# top (libgcs_options.a).
#
# Handlers register themselves from constructors (gcs/bridge/handler.h),
# which an archive would drop when nothing references their object file: the
# gcs binary therefore links the handlers' objects directly, so a new handler
# file needs no Makefile change.
#
# gcs-testhooks is gcs plus gcs/testhooks.c (a test-only notification source,
# see that file); it is built for the tests and never installed in the image.
GCS_AREAS := core bridge handlers process containers runc storage network cgroups security \
	timesync

# Who may include whom, one line per folder: the one source for `make lint`
# (mk/lint_layers.py checks every #include against it), for the archives a
# unit test links (the closure of what it names) and for the picture in
# CONTRIBUTING.md. main.c and testhooks.c assemble the layers and may
# include anything.
GCS_USES_core :=
GCS_USES_bridge := core
GCS_USES_process := core
GCS_USES_runc := core
GCS_USES_storage := core
GCS_USES_network := core
GCS_USES_cgroups := core
GCS_USES_security := core
GCS_USES_timesync := core
GCS_USES_containers := core process runc storage network cgroups
GCS_USES_handlers := core bridge process containers runc storage network cgroups security
GCS_USES_options := core

# The folders `areas` need, themselves included (depth 4 covers the table).
gcs_uses1 = $(sort $(1) $(foreach a,$(1),$(GCS_USES_$(a))))
gcs_closure = $(call gcs_uses1,$(call gcs_uses1,$(call gcs_uses1,$(call gcs_uses1,$(1)))))
GCS_MAIN_SRCS := gcs/main.c
GCS_TEST_SRCS := gcs/testhooks.c
GCS_OPTIONS_SRCS := gcs/options.c gcs/flags.c
gcs_area_srcs = $(sort $(wildcard gcs/$(1)/*.c))
gcs_lib = $(OUT)/libgcs_$(1).a

define GCS_AREA_RULE
$(call gcs_lib,$(1)): $(call objs,$(call gcs_area_srcs,$(1)))
	@mkdir -p $$(@D)
	@rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach a,$(GCS_AREAS),$(eval $(call GCS_AREA_RULE,$(a))))

$(call gcs_lib,options): $(call objs,$(GCS_OPTIONS_SRCS))
	@mkdir -p $(@D)
	@rm -f $@
	$(AR) rcs $@ $^

GCS_LIBS := $(foreach a,$(GCS_AREAS) options,$(call gcs_lib,$(a)))
GCS_HANDLER_OBJS := $(call objs,$(call gcs_area_srcs,handlers))

ifneq ($(wildcard gcs/main.c),)
$(OUT)/gcs: $(call objs,$(GCS_MAIN_SRCS)) $(GCS_HANDLER_OBJS) $(GCS_LIBS) $(OUT)/libproto.a \
		$(OUT)/liblcow.a
	$(LINK)
$(OUT)/gcs: LDLIBS = $(LDLIBS_ALL) -lpthread
BINARIES += $(OUT)/gcs

$(OUT)/tests/gcs-testhooks: $(call objs,$(GCS_MAIN_SRCS) $(GCS_TEST_SRCS)) $(GCS_HANDLER_OBJS) \
		$(GCS_LIBS) $(OUT)/libproto.a $(OUT)/liblcow.a
	$(LINK)
$(OUT)/tests/gcs-testhooks: LDLIBS = $(LDLIBS_ALL) -lpthread
all: $(OUT)/tests/gcs-testhooks
endif
