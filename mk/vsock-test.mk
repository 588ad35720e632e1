# The vsock backend's guest test program and initrd (tests/vm/).
include tests/vm/vsock-test.mk
