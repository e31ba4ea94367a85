# boxoffice: `make demo` serves the demo tenant; `make test` runs every check CI runs; `make check`
# is the fast tier for the edit-test loop.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
# make demo PORT=8001 VENUE_PORT=8081: the instance's and the demo venue page's ports.
PORT       ?= 8000
VENUE_PORT ?= 8080

.PHONY: demo test check lint typecheck unit bench bench-smoke clean

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

# The fast tier (docs/architecture.md, "Tests"): lint, types, import layers and the tests that
# need no server, browser or PostgreSQL (domain, security, services and store on SQLite, the
# dialects' mappers and error tables). About a minute on a quiet 2-core machine.
CHECK_TESTS := tests/domain tests/security tests/services tests/store tests/web/test_security.py \
	tests/api/spektrix/test_mappers.py tests/api/carecloud/test_mappers.py \
	tests/api/test_error_tables.py tests/api/test_json_response.py

check: lint typecheck
	$(BIN)/pytest -n 2 -m 'not e2e' -k 'not postgresql' $(CHECK_TESTS)

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
