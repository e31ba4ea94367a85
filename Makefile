# boxoffice: `make demo` serves the demo tenant; `make test` runs every check CI runs.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# make demo PORT=8001 VENUE_PORT=8081: the instance's and the demo venue page's ports.
PORT       ?= 8000
VENUE_PORT ?= 8080

.PHONY: demo test lint typecheck unit bench bench-smoke clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $(VENV)/.installed $@

demo: $(VENV)/.installed
	$(BIN)/boxoffice demo --port $(PORT) --venue-port $(VENUE_PORT)

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests docs
	$(BIN)/ruff format --check src tests docs
	$(BIN)/lint-imports

typecheck: $(VENV)/.installed-dev
	$(BIN)/mypy

unit: $(VENV)/.installed-dev
	$(BIN)/pytest -n 2 --dist loadgroup

test: lint typecheck unit

$(VENV)/.installed-bench: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[dev,bench]'
	touch $(VENV)/.installed $(VENV)/.installed-dev $@

# The benchmark (bench/README.md): about 4 minutes on a quiet machine (more on a busy one); results in bench/results/.
bench: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py

# A few seconds of every scenario on 200 customers; no speed is asserted.
bench-smoke: $(VENV)/.installed-bench
	$(BIN)/python bench/run.py --smoke --out $(or $(OUT),/tmp/boxoffice-bench-smoke)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
