# Storage runtime benchmark (issue 7): time to make a blank scratch disk
# usable with the in-process ext4 formatter against mkfs.ext4 + mount.
#   make bench-storage [BENCH_STORAGE_MIB=1024] [BENCH_STORAGE_RUNS=5]
BENCH_STORAGE_MIB ?= 1024
BENCH_STORAGE_RUNS ?= 5

$(OUT)/bench/bench_storage: $(call objs,tests/bench/bench_storage.c) $(call gcs_lib,storage) $(call gcs_lib,core) $(OUT)/liblcow.a
	$(LINK)
$(OUT)/bench/bench_storage: LDLIBS = $(LIBS_ext2fs) -lpthread

.PHONY: bench-storage
bench: bench-storage
bench-storage: $(OUT)/bench/bench_storage
	@$< $(BENCH_STORAGE_MIB) $(BENCH_STORAGE_RUNS)
