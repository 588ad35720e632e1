# UVM processes (issue 5) benchmark, figures not tests:
#   make bench-process [BENCH_PROCESS_MIB=1024] [BENCH_PROCESS_EXECS=500]
# stdio throughput through the gcs relay against a plain socket <-> pipe copy
# (target >= 80 %), and ExecuteProcess + WaitForProcess latency of /bin/true.
# The stdio endpoints are a host program (tests/bench/stdio_copy.c).
BENCH_PROCESS_MIB ?= 1024
BENCH_PROCESS_EXECS ?= 500
PROCESS_BENCH_DIR := $(TOP)/$(BUILD_DIR)/bench

$(PROCESS_BENCH_DIR)/stdio_copy: tests/bench/stdio_copy.c
	@mkdir -p $(@D)
	cc -O2 -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror -o $@ $<

.PHONY: bench-process
bench: bench-process
bench-process: $(OUT)/gcs $(PROCESS_BENCH_DIR)/stdio_copy
	@/usr/bin/python3 $(TOP)/tests/bench/bench_process.py $(OUT)/gcs \
		$(PROCESS_BENCH_DIR)/stdio_copy $(BENCH_PROCESS_MIB) $(BENCH_PROCESS_EXECS)
