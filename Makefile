# lcow-guest: the Linux side of LCOW (init + gcs + kernel config + image).
# README.md explains the targets; mk/*.mk and each directory's *.mk add theirs.
#
# Flavours:
#   make                  static musl binaries (musl-gcc + deps/ archives)
#   make BUILD=host       the same sources, system compiler, Debian -dev libs
#   make check SANITIZE=1 host flavour with ASan + UBSan
#   make check-tsan       host flavour with ThreadSanitizer (SANITIZE=thread):
#                         the bridge, process, container and storage suites
#
# Component fragments (init/init.mk, gcs/gcs.mk, host/host.mk, ...) use:
#   $(OUT)            output directory of this flavour
#   $(call objs,SRCS) object files for the given .c files
#   $(LINK)           recipe line linking $^ into $@ with $(LDLIBS)
#   BINARIES          guest binaries of the image (append)
#   HOST_PROGRAMS     host-side programs (append)
#   COMPONENT_LIBS    archives unit tests link against (append)

.DEFAULT_GOAL := all
.SECONDARY:
.DELETE_ON_ERROR:
SHELL := /bin/bash
TOP := $(CURDIR)

BUILD ?= musl
SANITIZE ?= 0
ifneq ($(SANITIZE),0)
override BUILD := host
endif

# BUILD_DIR lets several people build the same tree at once without sharing
# objects (the library deps in build/deps are shared).
BUILD_DIR ?= build
ifeq ($(BUILD),musl)
OUT := $(TOP)/$(BUILD_DIR)/musl
else ifeq ($(SANITIZE),1)
OUT := $(TOP)/$(BUILD_DIR)/host-san
else ifeq ($(SANITIZE),thread)
OUT := $(TOP)/$(BUILD_DIR)/host-tsan
else
OUT := $(TOP)/$(BUILD_DIR)/$(BUILD)
endif

include mk/deps.mk

WARN := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wvla
CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 $(WARN) -fno-strict-aliasing
CPPFLAGS += -D_GNU_SOURCE -I$(TOP)/lib -I$(TOP)/gcs -I$(OUT)/gen

ifeq ($(BUILD),musl)
CC := musl-gcc
CPPFLAGS += -isystem $(DEPS_PREFIX)/include -idirafter $(UAPI_DIR)
LDFLAGS += -static -L$(DEPS_PREFIX)/lib
BUILD_PREREQ := $(DEPS_STAMP)
else ifeq ($(BUILD),host)
CC ?= cc
ifeq ($(SANITIZE),1)
CFLAGS += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
LDFLAGS += -fsanitize=address,undefined
else ifeq ($(SANITIZE),thread)
CFLAGS += -fsanitize=thread -fno-omit-frame-pointer
LDFLAGS += -fsanitize=thread
else ifneq ($(SANITIZE),0)
$(error SANITIZE must be 0, 1 (ASan + UBSan) or thread)
endif
BUILD_PREREQ :=
else
$(error BUILD must be musl or host)
endif

# Link flags of the chosen libraries, per flavour.
LIBS_protobuf := -lprotobuf-c
LIBS_json := -ljson-c
LIBS_seccomp := -lseccomp
LIBS_cap := -lcap
LIBS_ext2fs := -lext2fs -lcom_err
LDLIBS_ALL := $(LIBS_protobuf) $(LIBS_json) $(LIBS_seccomp) $(LIBS_cap) $(LIBS_ext2fs)

objs = $(patsubst %.c,$(OUT)/obj/%.o,$(1))
define LINK
@mkdir -p $(@D)
$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) -Wl,--start-group $(filter %.a,$^) $(LDLIBS) -Wl,--end-group
endef

BINARIES :=
HOST_PROGRAMS :=
COMPONENT_LIBS :=
GENERATED :=

$(OUT)/obj/%.o: %.c $(BUILD_PREREQ) | generated
	@mkdir -p $(@D)
	$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

include lib/lib.mk
include proto/proto.mk
-include init/init.mk
-include gcs/gcs.mk
-include host/host.mk
include tests/tests.mk
# Further areas (image, run, fuzz, bench, ...) add their own mk/<area>.mk.
include $(filter-out mk/deps.mk,$(sort $(wildcard mk/*.mk)))

.PHONY: all generated deps setup check check-unit format lint clean distclean run bench fuzz

# `make bench` runs every benchmark: an area adds `bench: bench-<area>`.
bench:
	@echo "bench: done"
generated: $(GENERATED)

all: $(BINARIES) $(HOST_PROGRAMS) $(UNIT_TESTS)
	@echo "built ($(BUILD)):"
	@for f in $(BINARIES) $(HOST_PROGRAMS); do \
		printf '  %-40s %8s bytes  %s\n' "$${f#$(TOP)/}" "$$(stat -c %s $$f)" \
			"$$(file -b $$f | cut -d, -f1,2,5 | sed 's/ELF 64-bit LSB //')"; done

setup:
	@bash mk/setup.sh

# `make run`: builds everything that exists and says what it built. Later
# issues make it boot the image under QEMU (mk/run.mk overrides RUN_RECIPE).
run: setup
	@$(MAKE) --no-print-directory all
ifdef RUN_SCRIPT
	@$(RUN_SCRIPT)
endif

# Our C sources (tracked or new, never build/ or generated code).
C_SOURCES = $(shell git ls-files --cached --others --exclude-standard '*.c' '*.h')

format:
	@clang-format -i $(C_SOURCES)

lint:
	@clang-format --dry-run --Werror $(C_SOURCES)
	@python3 mk/lint_layers.py
	@cppcheck --quiet --error-exitcode=1 --enable=warning,portability --inline-suppr \
		--suppress=missingIncludeSystem -D__GNUC__ -I lib -I gcs $(filter %.c,$(C_SOURCES))
	@echo "lint: clean"

clean:
	rm -rf $(BUILD_DIR)/musl $(BUILD_DIR)/host $(BUILD_DIR)/host-san $(BUILD_DIR)/fuzz

distclean:
	rm -rf build

-include $(shell find $(OUT)/obj -name '*.d' 2>/dev/null)
