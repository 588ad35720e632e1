# Code shared by init, vsockexec and gcs.
LIB_SRCS := lib/transport.c lib/error.c
$(OUT)/liblcow.a: $(call objs,$(LIB_SRCS))
	@mkdir -p $(@D)
	$(AR) rcs $@ $^
COMPONENT_LIBS += $(OUT)/liblcow.a
