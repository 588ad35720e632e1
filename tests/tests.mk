# Unit tests: every tests/unit/test_*.c is one binary linked with the
# component archives and all the chosen libraries. `make check` builds them and
# runs them, with the integration tests, through pytest (tests/test_unit.py).
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_TESTS := $(patsubst tests/unit/%.c,$(OUT)/tests/%,$(UNIT_SRCS))

$(OUT)/tests/%: $(OUT)/obj/tests/unit/%.o $(OUT)/obj/tests/unit/unit.o $(COMPONENT_LIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(OUT)/obj/tests/unit/unit.o \
		-Wl,--start-group $(COMPONENT_LIBS) $(LDLIBS_ALL) -Wl,--end-group

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
