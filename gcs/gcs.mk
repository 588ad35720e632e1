# The guest compute service. Every gcs/*.c except main.c and testhooks.c is
# archived into libgcs.a (unit tests link it).
#
# Handlers register themselves from constructors (gcs/handler.h), which an
# archive would drop when nothing references their object file: the gcs
# binary therefore links every gcs object directly, so a new handler file
# needs no Makefile change.
#
# gcs-testhooks is gcs plus gcs/testhooks.c (a test-only notification source,
# see that file); it is built for the tests and never installed in the image.
GCS_MAIN_SRCS := gcs/main.c
GCS_TEST_SRCS := gcs/testhooks.c
GCS_LIB_SRCS := $(filter-out $(GCS_MAIN_SRCS) $(GCS_TEST_SRCS),$(sort $(wildcard gcs/*.c)))

$(OUT)/libgcs.a: $(call objs,$(GCS_LIB_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
COMPONENT_LIBS += $(OUT)/libgcs.a

ifneq ($(wildcard gcs/main.c),)
$(OUT)/gcs: $(call objs,$(GCS_MAIN_SRCS) $(GCS_LIB_SRCS)) $(OUT)/libproto.a $(OUT)/liblcow.a
	$(LINK)
$(OUT)/gcs: LDLIBS = $(LDLIBS_ALL) -lpthread
BINARIES += $(OUT)/gcs

$(OUT)/tests/gcs-testhooks: $(call objs,$(GCS_MAIN_SRCS) $(GCS_TEST_SRCS) $(GCS_LIB_SRCS)) \
		$(OUT)/libproto.a $(OUT)/liblcow.a
	$(LINK)
$(OUT)/tests/gcs-testhooks: LDLIBS = $(LDLIBS_ALL) -lpthread
all: $(OUT)/tests/gcs-testhooks
endif
