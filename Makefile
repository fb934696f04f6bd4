# One-command setup: `make demo` and `make test` create .venv, install, and run.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install demo test test-fast typecheck bench clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[all,dev]"
	touch $(STAMP)

install: $(STAMP)

demo: $(STAMP)
	$(BIN)/memoryos demo

test: $(STAMP)
	$(BIN)/python -m mypy
	$(BIN)/python -m pytest -q -p no:cacheprovider

typecheck: $(STAMP)
	$(BIN)/python -m mypy

test-fast: $(STAMP)
	$(BIN)/python -m pytest -q -m "not slow" -p no:cacheprovider

bench: $(STAMP)
	$(BIN)/python benchmarks/store_latency.py

clean:
	rm -rf $(VENV) memoryos_data build *.egg-info
