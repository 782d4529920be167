# make run  — install and start the app on its embedded default (SQLite in ./data)
# make test — install what tests need (Python packages, Debian's chromium), audit the packages, run the whole suite
# make api  — start the OpenAI-compatible HTTP API on port 8600 (see README, "HTTP API")
# make bench — the speed figures of bench/README.md, one table (about 15 minutes; not part of make test)

PYTHON ?= python3
VENV ?= .venv
PORT ?= 8501
API_PORT ?= 8600
API_WORKERS ?= 2
BIN := $(VENV)/bin
PIP_INSTALL := $(BIN)/python -m pip install --quiet --disable-pip-version-check

.PHONY: run api test lint format browser postgres audit bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.app-installed: requirements.txt constraints.txt | $(BIN)/python
	$(PIP_INSTALL) -r requirements.txt -c constraints.txt
	touch $@

$(VENV)/.dev-installed: $(VENV)/.app-installed requirements-dev.txt
	$(PIP_INSTALL) -r requirements-dev.txt -c constraints.txt
	touch $@

run: $(VENV)/.app-installed
	$(BIN)/streamlit run asgi.py --server.port $(PORT) --server.address $${HOST:-0.0.0.0}

api: $(VENV)/.app-installed
	$(BIN)/uvicorn api.main:app --host $${HOST:-0.0.0.0} --port $(API_PORT) --workers $(API_WORKERS)

browser:
	@command -v chromium >/dev/null 2>&1 || sh scripts/install-chromium.sh

# Debian's PostgreSQL server binaries; the tests start their own server in a temporary folder and remove it.
postgres:
	@sh scripts/install-postgresql.sh

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy

format: $(VENV)/.dev-installed
	$(BIN)/ruff format .
	$(BIN)/ruff check --fix .

# Known vulnerabilities fail the build; an unreachable vulnerability database is reported and skipped.
audit: $(VENV)/.dev-installed
	VENV=$(VENV) sh scripts/audit.sh

test: $(VENV)/.dev-installed browser postgres lint audit
	$(BIN)/python -m pytest

# One table, every row beside its floor (bench/README.md). BENCH_ARGS="--runs 3" for a quick, noisy run (a few
# minutes); "--only start,switch" for some rows; see python -m bench.run --help.
# The local-model rows build two random-weight models of SmolLM2-360M's size once, into bench/.models (about 1 GB).
bench: $(VENV)/.dev-installed
	$(BIN)/python -m bench.run --markdown $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
