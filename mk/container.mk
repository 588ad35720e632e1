# Containers (issue 6) benchmark, figures not a test:
#   make bench-container [BENCH_CONTAINER_RUNS=50]
# `true` in a container through the gcs (Create + ExecuteProcess + Wait, and
# with DeleteContainerState) against `runc run` of the same bundle; target
# within 5 %. Needs root and runc; the gcs is confined as in the tests.
BENCH_CONTAINER_RUNS ?= 50

.PHONY: bench-container
bench: bench-container
bench-container: $(OUT)/gcs
	@/usr/bin/python3 $(TOP)/tests/bench/bench_container.py $(OUT)/gcs $(BENCH_CONTAINER_RUNS)
