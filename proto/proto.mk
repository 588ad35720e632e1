# proto/gcs.proto -> C types and descriptors (protoc-c, from Debian's
# protobuf-c-compiler), generated at build time into $(OUT)/gen.
PROTO_GEN_C := $(OUT)/gen/gcs.pb-c.c
PROTO_GEN_H := $(OUT)/gen/gcs.pb-c.h

$(PROTO_GEN_H): $(PROTO_GEN_C)
$(PROTO_GEN_C): proto/gcs.proto
	@mkdir -p $(@D)
	protoc-c --proto_path=proto --c_out=$(@D) $<

$(OUT)/gen/gcs.pb-c.o: $(PROTO_GEN_C) $(BUILD_PREREQ)
	$(CC) $(CPPFLAGS) $(CFLAGS) -Wno-missing-field-initializers -c -o $@ $<

$(OUT)/libproto.a: $(OUT)/gen/gcs.pb-c.o
	$(AR) rcs $@ $^

GENERATED += $(PROTO_GEN_H)
COMPONENT_LIBS += $(OUT)/libproto.a

# gnu11 predefines the macro `linux` (and `unix`) as 1, which would break the
# generated member of LCOWContainerConstraints.Linux; nothing may rely on them
# (use __linux__).
CPPFLAGS += -Ulinux -Uunix
