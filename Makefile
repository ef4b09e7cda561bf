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

.PHONY: demo test build bench sanitize cwarn clean

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

demo: $(VENV)/.installed
	$(PY) -m flight.codec.demo

test: $(VENV)/.installed-dev cwarn
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
