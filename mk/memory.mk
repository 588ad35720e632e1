# Guest memory (issue 17 item 2). `make bench-memory` (figures, not a test):
# boots the image both ways hcsshim does (initrd; rootfs.vhd as root on a
# pmem device) under QEMU (-accel tcg, 512 MiB), prints the idle guest's
# used memory (MemTotal - MemAvailable after negotiation) with where it goes,
# then runs BENCH_MEMORY_CYCLES busybox containers in the initrd boot and
# prints the growth per cycle (tests/vm/bench_memory.py).
BENCH_MEMORY_CYCLES ?= 100

.PHONY: bench-memory
bench: bench-memory
bench-memory: run-image $(VSOCK_BACKEND)
	@/usr/bin/python3 $(TOP)/tests/vm/bench_memory.py --out $(IMAGE_OUT) \
		--backend $(VSOCK_BACKEND) --cycles $(BENCH_MEMORY_CYCLES)
