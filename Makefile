# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make run    creates .venv, installs, starts PostgreSQL if DATABASE_URL is unset, serves :8000
#   make test   installs the test tools (and Debian's chromium), runs lint, types and every test
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python

.PHONY: run test lint bench worker clean

$(VENV)/.runtime: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -e .
	touch $@

$(VENV)/.test: $(VENV)/.runtime pyproject.toml
	$(PY) -m pip install --quiet -e '.[test]'
	touch $@

run: $(VENV)/.runtime
	$(PY) -m server serve

worker: $(VENV)/.runtime
	$(PY) -m server worker

lint: $(VENV)/.test
	$(VENV)/bin/ruff check server tests bench
	$(VENV)/bin/ruff format --check server tests bench
	$(VENV)/bin/mypy

test: $(VENV)/.test lint
	bash scripts/install-browser.sh
	$(PY) -m pytest

bench: $(VENV)/.test
	bash scripts/install-browser.sh
	bash scripts/install-bench-tools.sh
	$(PY) -m bench

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
