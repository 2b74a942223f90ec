# The two commands of the README: `make run` and `make test`.
# `make test` = `make lint` (ruff) + `make types` (mypy) + `make check` (Django's checks,
# migrations match the models) + the suite. .pre-commit-config.yaml runs the same checks
# on each commit.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

.PHONY: run test lint types check e2e screenshots fuzz bench clean

$(BIN)/python:
	@$(PYTHON) -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "ICB needs Python 3.11 or newer")'
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-run: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e .
	touch $@

$(VENV)/.installed-dev: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(BIN)/icb run

lint: $(VENV)/.installed-dev
	$(BIN)/ruff check src tests benchmarks
	$(BIN)/ruff format --check src tests benchmarks

# The files it checks, and how strictly, are in pyproject.toml ([tool.mypy]).
types: $(VENV)/.installed-dev
	$(BIN)/mypy

# A model change without its migration fails here (and in CI), not on a user's upgrade.
check: $(VENV)/.installed-dev
	$(BIN)/icb check --fail-level WARNING
	$(BIN)/icb makemigrations --check --dry-run

test: lint types check
	$(BIN)/pytest -q

e2e: $(VENV)/.installed-dev
	$(BIN)/pytest -q tests/e2e

# The README's screenshots, taken by the browser tests of the pages they show.
screenshots: $(VENV)/.installed-dev
	ICB_SCREENSHOTS=$(CURDIR)/docs/screenshots $(BIN)/pytest -q tests/e2e/test_readme_screenshots.py tests/e2e/test_sync_breakdown.py \
		tests/e2e/test_unmapped.py tests/e2e/test_billing_review.py

fuzz: $(VENV)/.installed-dev
	$(BIN)/pytest -q -m fuzz tests/fuzz

bench: $(VENV)/.installed-dev
	$(BIN)/python benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
