# The guest compute service. Every gcs/*.c except main.c is archived into
# libgcs.a, so unit tests link exactly the code the binary runs.
GCS_MAIN_SRCS := gcs/main.c
GCS_LIB_SRCS := $(filter-out $(GCS_MAIN_SRCS),$(sort $(wildcard gcs/*.c)))

$(OUT)/libgcs.a: $(call objs,$(GCS_LIB_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
COMPONENT_LIBS += $(OUT)/libgcs.a

ifneq ($(wildcard gcs/main.c),)
$(OUT)/gcs: $(call objs,$(GCS_MAIN_SRCS)) $(OUT)/libgcs.a $(OUT)/libproto.a $(OUT)/liblcow.a
	$(LINK)
$(OUT)/gcs: LDLIBS = $(LDLIBS_ALL)
BINARIES += $(OUT)/gcs
endif
