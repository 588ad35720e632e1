# Unit tests: every tests/unit/test_*.c is one binary linked with the
# component archives (init, lib, proto), the gcs archives of the folders it
# names below (with what those folders use, gcs/gcs.mk) and all the chosen
# libraries. `make check` builds them and runs them, with the integration
# tests, through pytest (tests/test_unit.py).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))

# The gcs folders each unit test exercises (none: it links no gcs archive).
UNIT_GCS_test_bridge := bridge
UNIT_GCS_test_cgroup := cgroups
UNIT_GCS_test_codec := bridge
UNIT_GCS_test_flags := options
UNIT_GCS_test_framing := bridge
UNIT_GCS_test_libs := storage
UNIT_GCS_test_loop := core
UNIT_GCS_test_network := network containers
UNIT_GCS_test_oci_spec := containers
UNIT_GCS_test_process := process bridge
UNIT_GCS_test_relay := process
UNIT_GCS_test_runc := runc
UNIT_GCS_test_runc_runtime := containers
UNIT_GCS_test_scsi_virtio := storage
UNIT_GCS_test_security_policy := security
UNIT_GCS_test_shell_words := process
UNIT_GCS_test_stats := cgroups
UNIT_GCS_test_storage_overlay := storage
UNIT_GCS_test_storage_paths := storage
UNIT_GCS_test_storage_plan9 := storage
UNIT_GCS_test_storage_real := storage
UNIT_GCS_test_storage_request := storage
UNIT_GCS_test_storage_scsi := storage
UNIT_GCS_test_storage_verity := storage
UNIT_GCS_test_storage_vpmem := storage
UNIT_GCS_test_timesync := timesync
UNIT_GCS_test_log_writer := core
UNIT_GCS_test_tool_run := core
UNIT_GCS_test_uvm_process := process
UNIT_GCS_test_user_lookup := containers
UNIT_GCS_test_utf8 := core

unit_libs = $(foreach a,$(call gcs_closure,$(UNIT_GCS_$(1))),$(call gcs_lib,$(a))) \
	$(COMPONENT_LIBS)

.SECONDEXPANSION:
$(OUT)/tests/%: $(OUT)/obj/tests/unit/%.o $(OUT)/obj/tests/unit/unit.o $$(call unit_libs,$$*)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(OUT)/obj/tests/unit/unit.o \
		-Wl,--start-group $(call unit_libs,$*) $(LDLIBS_ALL) -Wl,--end-group

PYTEST ?= /usr/bin/python3 -m pytest
PYTEST_ARGS ?=

# The final line of `make check` is "N passed, N failed[, N skipped]"
# (printed by tests/conftest.py); the exit status is pytest's.
check: setup
	@$(MAKE) --no-print-directory all
	@LCOW_OUT=$(OUT) LCOW_BUILD=$(BUILD) $(PYTEST) -q -rs -p no:cacheprovider tests $(PYTEST_ARGS)

check-unit: setup
	@$(MAKE) --no-print-directory $(UNIT_TESTS)
	@LCOW_OUT=$(OUT) $(PYTEST) -q -rs -p no:cacheprovider tests/test_unit.py $(PYTEST_ARGS)

# ThreadSanitizer over what runs threads (the loop's workers and the code
# they call): the unit tests and the bridge, process, container and storage
# suites. A report is a non-JSON line on the gcs's stderr, which those tests
# fail on, and halt_on_error ends the program that raced.
TSAN_SUITES := tests/test_unit.py tests/integration/test_bridge.py \
	tests/integration/test_process.py tests/integration/test_container.py \
	tests/integration/test_storage_bridge.py
.PHONY: check-tsan
check-tsan: setup
	@$(MAKE) --no-print-directory SANITIZE=thread all
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66 $(TSAN_OPTIONS)" \
		LCOW_OUT=$(TOP)/$(BUILD_DIR)/host-tsan $(PYTEST) -q -rs -p no:cacheprovider \
		$(TSAN_SUITES) $(PYTEST_ARGS)
