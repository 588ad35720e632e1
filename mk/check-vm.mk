# End-to-end VM tests (issue 9): tests/integration/test_vm_e2e*.py boot the
# image under QEMU (-accel tcg) with the vsock backend and drive the gcs
# through the bridge: boot, entropy, log, negotiation, UVM processes, SCSI /
# VPMem / Plan 9 storage on real virtio devices, a busybox container,
# ShutdownGraceful. They are part of `make check` (which builds the image
# first); `make check-vm` runs only them.
#   make bench-vm     QEMU launch -> entropy / log / bridge / negotiated,
#                     and stdio throughput both ways (4 KiB, 64 KiB, 1 MiB
#                     writes) of a UVM process and a container process
#                     against a process on a vsock socket of its own, in one
#                     VM (tests/vm/bench_vm.py says what each figure times)
#                     (BENCH_VM_RUNS boots with BENCH_VM_CPUS vCPUs,
#                     BENCH_VM_MIB streamed per case, BENCH_VM_STDIO_RUNS
#                     rounds)
BENCH_VM_RUNS ?= 5
BENCH_VM_CPUS ?= 1
BENCH_VM_MIB ?= 64
BENCH_VM_STDIO_RUNS ?= 3

.PHONY: check-vm bench-vm
check-vm: setup
	@$(MAKE) --no-print-directory all
	@$(MAKE) --no-print-directory run-image
	@LCOW_OUT=$(OUT) LCOW_IMAGE_OUT=$(IMAGE_OUT) $(PYTEST) -q -rs -p no:cacheprovider \
		$(sort $(wildcard tests/integration/test_vm_e2e*.py)) $(PYTEST_ARGS)

bench: bench-vm
bench-vm: run-image $(VSOCK_BACKEND)
	@/usr/bin/python3 $(TOP)/tests/vm/bench_vm.py --out $(IMAGE_OUT) --backend $(VSOCK_BACKEND) \
		--runs $(BENCH_VM_RUNS) --cpus $(BENCH_VM_CPUS) --mib $(BENCH_VM_MIB) \
		--stdio-runs $(BENCH_VM_STDIO_RUNS)
