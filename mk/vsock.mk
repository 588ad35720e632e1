# vsock backend (host/vsock): `make bench-vsock` streams guest -> host and
# host -> guest through it under QEMU (-accel tcg) with out/vmlinux and
# prints MB/s. VSOCK_BENCH_MIB sets the guest -> host stream size.
VSOCK_BENCH_MIB ?= 256

.PHONY: bench-vsock
bench: bench-vsock
bench-vsock: $(VSOCK_BACKEND) $(VSOCK_TEST_INITRD)
	@/usr/bin/python3 tests/vm/vsock_bench.py $(OUT) $(TOP)/out/vmlinux $(VSOCK_BENCH_MIB)
