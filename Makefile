# Autonomous Sky: `make demo` and `make test` each do all the set-up on a fresh machine.

PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip
C_SOURCES := $(wildcard flight/codec/src/*.c)
C_HEADERS := $(wildcard flight/codec/src/*.h)
BUILD_INPUTS := pyproject.toml setup.py flight/codec/_build.py $(C_SOURCES) $(C_HEADERS)
SANITIZE_DIR := build/sanitize
ASAN_LIBS := $(shell $(CC) -print-file-name=libasan.so) $(shell $(CC) -print-file-name=libubsan.so)

.PHONY: demo test build bench sanitize cwarn ctest cross-check clean

$(VENV)/.created:
	$(PYTHON) -m venv $(VENV)
	$(PIP) install -q -U pip
	touch $@

# Installing compiles the C engine (cffi, API mode, out of line); a compile error fails here.
$(VENV)/.installed: $(VENV)/.created $(BUILD_INPUTS)
	$(PIP) install -q -e .
	touch $@

$(VENV)/.installed-dev: $(VENV)/.created $(BUILD_INPUTS)
	$(PIP) install -q -e '.[dev]'
	touch $@ $(VENV)/.installed

# The emulated satellite flying two passes (docs/emulation.md); the codec demonstration is
# `.venv/bin/python -m flight.codec.demo`.
demo: $(VENV)/.installed
	$(VENV)/bin/flight emulate

test: $(VENV)/.installed-dev cwarn ctest
	$(PY) -m pytest -q --benchmark-disable
	$(MAKE) sanitize

# Rebuild the engine in place after editing C sources (the editable install picks it up).
build: $(VENV)/.installed-dev
	$(PY) setup.py -q build_ext --inplace

bench: $(VENV)/.installed-dev
	$(PY) -m pytest tests/benchmarks --benchmark-only --benchmark-columns=min,median,ops \
		--benchmark-json=build/benchmarks.json

# The engine's own sources, strictly: C99, pedantic, every warning an error.
cwarn:
	$(CC) -std=c99 -pedantic -Wall -Wextra -Werror -fsyntax-only -Iflight/codec/src $(C_SOURCES)

# The engine's C known-answer tests (tests/c), linked without Python: optimized, without GNU C
# builtins (AS_RICE_PORTABLE), and under ASan+UBSan.
CTEST_DIR := build/ctest
CTEST_SOURCES := tests/c/test_engine.c $(C_SOURCES)
CTEST_FLAGS := -std=c99 -pedantic -Wall -Wextra -Werror -Iflight/codec/src -Itests/c
CTEST_INPUTS := $(CTEST_SOURCES) $(C_HEADERS) tests/c/engine_vectors.h

$(CTEST_DIR)/engine: $(CTEST_INPUTS)
	@mkdir -p $(@D)
	$(CC) $(CTEST_FLAGS) -O3 $(CTEST_SOURCES) -o $@

$(CTEST_DIR)/engine-portable: $(CTEST_INPUTS)
	@mkdir -p $(@D)
	$(CC) $(CTEST_FLAGS) -O2 -DAS_RICE_PORTABLE $(CTEST_SOURCES) -o $@

$(CTEST_DIR)/engine-sanitize: $(CTEST_INPUTS)
	@mkdir -p $(@D)
	$(CC) $(CTEST_FLAGS) -O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer $(CTEST_SOURCES) -o $@

ctest: $(CTEST_DIR)/engine $(CTEST_DIR)/engine-portable $(CTEST_DIR)/engine-sanitize
	$(CTEST_DIR)/engine && $(CTEST_DIR)/engine-portable && $(CTEST_DIR)/engine-sanitize

# The same tests cross-compiled for aarch64 (static: no sysroot needed to run) and run under
# qemu-user, also without builtins and with UBSan trapping; missing tools are installed when run
# as root.
CROSS_CC ?= aarch64-linux-gnu-gcc
CROSS_QEMU ?= qemu-aarch64
CROSS_PACKAGES ?= gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user
CROSS_BUILD = $(CROSS_CC) $(CTEST_FLAGS) -Wcast-align=strict -O3 -static $(CTEST_SOURCES)

cross-check:
	@command -v $(CROSS_CC) >/dev/null && { command -v $(CROSS_QEMU) || \
		command -v $(CROSS_QEMU)-static; } >/dev/null || { \
		echo "cross-check needs $(CROSS_CC) and $(CROSS_QEMU); as root:"; \
		echo "  apt-get update && apt-get install -y $(CROSS_PACKAGES)"; \
		[ "$$(id -u)" = 0 ] && apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $(CROSS_PACKAGES) >/dev/null; }
	mkdir -p $(CTEST_DIR)
	$(CROSS_BUILD) -o $(CTEST_DIR)/engine-cross
	$(CROSS_BUILD) -DAS_RICE_PORTABLE -o $(CTEST_DIR)/engine-cross-portable
	$(CROSS_BUILD) -fsanitize=undefined -fsanitize-undefined-trap-on-error \
		-o $(CTEST_DIR)/engine-cross-ubsan
	@qemu="$$(command -v $(CROSS_QEMU) || command -v $(CROSS_QEMU)-static)"; \
	for test in engine-cross engine-cross-portable engine-cross-ubsan; do \
		echo "$$qemu $(CTEST_DIR)/$$test"; "$$qemu" $(CTEST_DIR)/$$test || exit 1; done

# Build the engine with ASan+UBSan in a scratch copy and run the codec tests against it there.
sanitize: $(VENV)/.installed-dev
	rm -rf $(SANITIZE_DIR) && mkdir -p $(SANITIZE_DIR)
	cp -r flight setup.py pyproject.toml README.md $(SANITIZE_DIR)/
	mkdir -p $(SANITIZE_DIR)/tests && cp -r tests/codec tests/conftest.py $(SANITIZE_DIR)/tests/
	find $(SANITIZE_DIR) -name '*.so' -delete
	cd $(SANITIZE_DIR) && FLIGHT_CODEC_SANITIZE=1 ../../$(PY) setup.py -q build_ext --inplace
	cd $(SANITIZE_DIR) && LD_PRELOAD="$(ASAN_LIBS)" ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		../../$(PY) -m pytest -q -p no:cacheprovider -m "not soak" tests/codec

clean:
	rm -rf $(VENV) build *.egg-info flight/codec/*.so
