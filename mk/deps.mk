# Static musl builds of the chosen libraries (deps/build.sh), built once into
# build/deps and rebuilt only when deps/versions or the build script change;
# also the image's static mke2fs (from the same e2fsprogs source) and chronyd.
DEPS_DIR := $(TOP)/build/deps
DEPS_PREFIX := $(DEPS_DIR)/musl
UAPI_DIR := $(DEPS_DIR)/uapi
DEPS_STAMP := $(DEPS_PREFIX)/.complete
DEPS_MKE2FS := $(DEPS_PREFIX)/sbin/mke2fs
DEPS_CHRONYD := $(DEPS_PREFIX)/sbin/chronyd

$(DEPS_STAMP): deps/versions deps/build.sh
	@bash mk/setup.sh
	@bash deps/build.sh $(DEPS_DIR)
	@touch $@

ifeq ($(BUILD),musl)
deps: $(DEPS_STAMP)
else
deps: setup
endif
