# `make bench` (figures, not tests): bench-bridge times bridge round trips of a
# no-op request (GetProperties on the UVM) against the gcs of this flavour
# over the unix transport, and reads the gcs VmRSS after negotiation.
# Targets: p50 <= 50 us, RSS <= 1.5 MiB. The client is a host program.
BENCH_ITERS ?= 20000
BENCH_BIN := $(TOP)/$(BUILD_DIR)/bench

$(BENCH_BIN)/bench_bridge: tests/bench/bench_bridge.c
	@mkdir -p $(@D)
	cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -o $@ $< -lpthread

.PHONY: bench-bridge
bench: bench-bridge
bench-bridge: $(OUT)/gcs $(BENCH_BIN)/bench_bridge
	@$(BENCH_BIN)/bench_bridge $(OUT)/gcs $(BENCH_ITERS) info
	@$(BENCH_BIN)/bench_bridge $(OUT)/gcs $(BENCH_ITERS) debug
