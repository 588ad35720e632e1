# Fuzzing: one libFuzzer target per kind of untrusted data (tests/fuzz/,
# README "Fuzzing"), built with clang, ASan + UBSan, the host's -dev
# libraries, whatever BUILD says:
#   bridge    host bytes -> framing -> codec -> dispatch (UVM handlers; the
#             handlers with machine side effects are stubbed by the target)
#   codec     JSON -> codec_parse/decode of every message the host sends ->
#             encode -> parse again
#   oci_spec  an OCI spec -> classify/prepare, an OciProcess, user lookup in
#             a temporary rootfs whose passwd/group come from the input
#   storage   a ModifySettings storage request -> the handler's copy into a
#             struct storage_request; guest path checks in a temporary root
#   network   a NetworkAdapter -> parse, namespace table, resolv.conf/hosts,
#             netlink messages built (never sent)
#
#   make fuzz-build              builds them all (a prerequisite of `make check`)
#   make fuzz                    runs the bridge target for FUZZ_SECONDS
#   make fuzz-all FUZZ_SECONDS=N [FUZZ_JOBS=J]
#                                runs every target in turn, then prints one
#                                line per target (executions, crashes) and
#                                fails if any crashed
# Each run works on a copy of tests/fuzz/corpus/<target> (the committed seeds
# stay small) with tests/fuzz/<target>.dict when there is one; crashes land
# in $(FUZZ_DIR)/artifacts/<target>/.
FUZZ_DIR := $(TOP)/$(BUILD_DIR)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FUZZ_TARGETS := bridge codec oci_spec storage network
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Ulinux -Uunix -Wall -Wextra -Werror \
	-Wno-unused-parameter -Wno-missing-field-initializers -Wno-sign-compare \
	-Wno-unknown-warning-option -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I$(TOP)/lib -I$(TOP)/gcs -I$(FUZZ_DIR)/gen
FUZZ_LDLIBS := $(LDLIBS_ALL) -lpthread

# The bridge target links its handlers' objects directly (they register from
# constructors, which an archive would drop). The others link one archive of
# the gcs code they may reach, so each takes only the objects it uses.
FUZZ_BRIDGE_SRCS := $(wildcard gcs/core/*.c gcs/bridge/*.c) \
	$(addprefix gcs/handlers/,modify.c uvm.c vpci.c pending.c props.c) gcs/storage/vpci.c \
	lib/error.c lib/transport.c
FUZZ_LIB_SRCS := $(sort $(FUZZ_BRIDGE_SRCS) $(wildcard gcs/storage/*.c gcs/network/*.c) \
	gcs/handlers/storage.c gcs/containers/oci_spec.c gcs/containers/user_lookup.c \
	gcs/containers/devices.c gcs/containers/sandbox_mounts.c gcs/containers/spec_json.c)
fuzz_objs = $(patsubst %.c,$(FUZZ_DIR)/obj/%.o,$(1))

$(FUZZ_DIR)/gen/gcs.pb-c.c: proto/gcs.proto
	@mkdir -p $(@D)
	protoc-c --proto_path=proto --c_out=$(@D) $<

$(FUZZ_DIR)/obj/%.o: %.c $(FUZZ_DIR)/gen/gcs.pb-c.c
	@mkdir -p $(@D)
	@echo "  FUZZCC $<"
	@clang $(FUZZ_CFLAGS) -MMD -MP -c -o $@ $<

$(FUZZ_DIR)/obj/gcs.pb-c.o: $(FUZZ_DIR)/gen/gcs.pb-c.c
	@mkdir -p $(@D)
	@echo "  FUZZCC $<"
	@clang $(FUZZ_CFLAGS) -c -o $@ $<

$(FUZZ_DIR)/libfuzz_gcs.a: $(call fuzz_objs,$(FUZZ_LIB_SRCS)) $(FUZZ_DIR)/obj/gcs.pb-c.o
	@rm -f $@
	@echo "  FUZZAR $@"
	@ar rcs $@ $^

$(FUZZ_DIR)/fuzz_bridge: $(call fuzz_objs,tests/fuzz/fuzz_bridge.c $(FUZZ_BRIDGE_SRCS)) \
		$(FUZZ_DIR)/obj/gcs.pb-c.o
	@echo "  FUZZLD $@"
	@clang $(FUZZ_CFLAGS) -o $@ $^ $(FUZZ_LDLIBS)

$(FUZZ_DIR)/fuzz_%: $(FUZZ_DIR)/obj/tests/fuzz/fuzz_%.o $(FUZZ_DIR)/libfuzz_gcs.a
	@echo "  FUZZLD $@"
	@clang $(FUZZ_CFLAGS) -o $@ $^ $(FUZZ_LDLIBS)

-include $(shell find $(FUZZ_DIR)/obj -name '*.d' 2>/dev/null)

.PHONY: fuzz-build fuzz-all
fuzz-build: setup $(foreach t,$(FUZZ_TARGETS),$(FUZZ_DIR)/fuzz_$(t))

fuzz: fuzz-build
	@python3 tests/fuzz/fuzz_all.py --dir $(FUZZ_DIR) --seconds $(FUZZ_SECONDS) \
		--jobs $(FUZZ_JOBS) bridge

# Every target for FUZZ_SECONDS each, one after the other (the machine may be
# shared), its log in $(FUZZ_DIR)/logs/<target>.log, then one line per
# target: executions, crashes; fails on any crash. FUZZ_RUNS=N instead runs
# each target for N executions.
fuzz-all: fuzz-build
	@python3 tests/fuzz/fuzz_all.py --dir $(FUZZ_DIR) --seconds $(FUZZ_SECONDS) \
		--jobs $(FUZZ_JOBS) $(if $(FUZZ_RUNS),--runs $(FUZZ_RUNS)) $(FUZZ_TARGETS)

# `make check` builds every target, and tests/integration/test_fuzz_corpus.py
# replays each seed corpus through its target: a source list that drifts
# from the gcs's files fails the check, not the next fuzzing session.
check: fuzz-build
