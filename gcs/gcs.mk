# The guest compute service. GCS_LIB_SRCS are everything but main(), archived
# so that unit tests link the same code.
GCS_LIB_SRCS := gcs/ext4_format.c
GCS_MAIN_SRCS :=

$(OUT)/libgcs.a: $(call objs,$(GCS_LIB_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
COMPONENT_LIBS += $(OUT)/libgcs.a
