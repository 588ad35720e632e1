# `make fuzz`: the libFuzzer target of the bridge (tests/fuzz/fuzz_bridge.c):
# host bytes -> framing -> codec -> dispatch, built with clang, ASan + UBSan,
# the host's -dev libraries, whatever BUILD says. It links the bridge core
# and the UVM handlers, not the handlers with machine side effects (the
# target stubs those). It runs for FUZZ_SECONDS on a copy of the seed corpus
# (tests/fuzz/corpus, which stays small); crashes land in $(FUZZ_DIR).
FUZZ_DIR := $(TOP)/$(BUILD_DIR)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_JOBS ?= 1
FUZZ_GCS_SRCS := $(wildcard gcs/core/*.c gcs/bridge/*.c) \
	$(addprefix gcs/handlers/,modify.c uvm.c vpci.c pending.c props.c) gcs/storage/vpci.c \
	lib/error.c lib/transport.c
FUZZ_CFLAGS := -g -O1 -std=gnu11 -D_GNU_SOURCE -Ulinux -Uunix -Wall -Wextra -Werror \
	-Wno-unused-parameter -fno-omit-frame-pointer \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	-I$(TOP)/lib -I$(TOP)/gcs -I$(FUZZ_DIR)/gen

$(FUZZ_DIR)/gen/gcs.pb-c.c: proto/gcs.proto
	@mkdir -p $(@D)
	protoc-c --proto_path=proto --c_out=$(@D) $<

$(FUZZ_DIR)/fuzz_bridge: tests/fuzz/fuzz_bridge.c $(FUZZ_GCS_SRCS) $(FUZZ_DIR)/gen/gcs.pb-c.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) -Wno-missing-field-initializers -o $@ $(filter %.c,$^) \
		-lprotobuf-c -ljson-c -lpthread

.PHONY: fuzz-build
fuzz-build: setup $(FUZZ_DIR)/fuzz_bridge

fuzz: fuzz-build
	@mkdir -p $(FUZZ_DIR)/corpus $(FUZZ_DIR)/artifacts
	@cp -n tests/fuzz/corpus/* $(FUZZ_DIR)/corpus/ 2>/dev/null || true
	cd $(FUZZ_DIR) && ./fuzz_bridge -max_total_time=$(FUZZ_SECONDS) -jobs=$(FUZZ_JOBS) \
		-workers=$(FUZZ_JOBS) -max_len=200000 -timeout=10 -rss_limit_mb=2048 \
		-dict=$(TOP)/tests/fuzz/bridge.dict -artifact_prefix=$(FUZZ_DIR)/artifacts/ corpus

# `make check` builds the target too, and tests/integration/test_fuzz_corpus.py
# replays the seed corpus through it: a source list that drifts from the
# bridge's files fails the check, not the next fuzzing session.
check: fuzz-build
