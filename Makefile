# Two commands do all the set-up on a fresh machine with Python 3.11+:
#   make run    creates .venv, installs, starts PostgreSQL if DATABASE_URL is unset, serves :8000
#   make demo   (beside `make run`) a demo clinic: one clinician, five patients, logins printed
#   make test   installs the test tools (and Debian's chromium), runs lint, types and every test
#   make check  the fast part of `make test` while working: lint, types, and every test but the
#               browser, fault, fuzz and newcomer suites (no Chromium; under 2 minutes on 2 cores)
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
# The suites `make check` leaves to `make test`: a real server in a subprocess, Chromium, faults,
# and the README's first steps from a fresh copy (a new venv: about a minute).
SLOW_SUITES := tests/browser tests/faults tests/fuzz tests/newcomer

# Every package comes from a lock file with hashes (requirements/, made by scripts/lock.sh):
# dev.txt for running (the app and the embedded PostgreSQL), test.txt adds the test tools.
# Then the project itself, without dependencies (pip refuses an editable install in a
# --require-hashes command), built with the locked setuptools: nothing unhashed is downloaded.
LOCKED  := $(PY) -m pip install --quiet --require-hashes -r
PROJECT := $(PY) -m pip install --quiet --no-deps --no-build-isolation -e .

.PHONY: run demo test check lint bench worker clean messages

$(PY):
	$(PYTHON) -m venv $(VENV)

$(VENV)/.runtime: requirements/dev.txt pyproject.toml | $(PY)
	$(LOCKED) requirements/dev.txt
	$(PROJECT)
	touch $@

$(VENV)/.test: requirements/test.txt $(VENV)/.runtime
	$(LOCKED) requirements/test.txt
	touch $@

run: $(VENV)/.runtime
	$(PY) -m server serve

worker: $(VENV)/.runtime
	$(PY) -m server worker

demo: $(VENV)/.runtime
	$(PY) -m server demo-data

lint: $(VENV)/.test
	$(VENV)/bin/ruff check server tests bench
	$(VENV)/bin/ruff format --check server tests bench
	$(VENV)/bin/mypy

test: $(VENV)/.test lint
	bash scripts/install-browser.sh
	$(PY) -m pytest

check: $(VENV)/.test lint
	$(PY) -m pytest $(addprefix --ignore=,$(SLOW_SUITES))

bench: $(VENV)/.test
	bash scripts/install-browser.sh
	bash scripts/install-bench-tools.sh
	$(PY) -m bench

# The message catalogues (README, "Languages"): every message of the Python, the templates and the
# scripts (t("…")) extracted, and merged into each language's .po (new ones empty, to translate).
# The .po files are committed; the app compiles them in memory at start (no .mo file).
# Besides _() and N_(): server.i18n's gettext(language, message) and ngettext(language, one,
# many, n), t("…") in the scripts, and the `detail` of a problem response where an error is
# raised (tests/unit/test_catalogue.py reads this line).
MESSAGE_KEYWORDS := -k gettext:2 -k ngettext:2,3 -k t -k InvalidField:2 -k UnknownLanguage:2 -k AppError:1 -k NotFound:1 \
	-k Forbidden:1 -k Conflict:1 -k NotSignedIn:1 -k TooManyAttempts:1
messages: $(VENV)/.runtime
	$(VENV)/bin/pybabel -q extract -F babel.cfg $(MESSAGE_KEYWORDS) --add-comments=TRANSLATORS: \
		--width=100 -o $(VENV)/messages.pot .
	$(VENV)/bin/pybabel -q update -i $(VENV)/messages.pot -d server/locale --width=100 \
		--no-fuzzy-matching --ignore-obsolete

clean:
	rm -rf $(VENV) .mypy_cache .ruff_cache .pytest_cache
