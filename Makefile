# The two commands: `make run` and `make test`. Everything else is a step they call.
SHELL := /bin/bash
.DEFAULT_GOAL := help

VENV := .venv
PY := $(VENV)/bin/python
HOST ?= 127.0.0.1
PORT ?= 8000
CHROMIUM ?= /usr/bin/chromium

.PHONY: help run test test-only chaos lint check-chromium demo-password worker web clean bench-log bench

help:
	@echo "make run            set up and start the dashboard (web, Celery worker, TLS sandbox) on $(HOST):$(PORT)"
	@echo "make test           set up what the tests need and run them all (after make lint)"
	@echo "make test-only      the same without the lint (PYTEST_ARGS=... picks tests)"
	@echo "make chaos          real faults (kill -9, Redis and PostgreSQL stopped, load) on their own services"
	@echo "make lint           ruff (lint, format) and mypy (types, with django-stubs)"
	@echo "make demo-password  give the demo user a new password"
	@echo "make bench-log      the team log with a million runs on PostgreSQL (BENCH_ARGS=...)"
	@echo "make bench          every benchmark beside its anchor, on its own services; writes bench/RESULTS.md"

$(PY):
	@python=$$(scripts/find-python) || exit 1; \
	echo "Creating $(VENV) with $$python"; \
	"$$python" -m venv $(VENV)

$(VENV)/.installed-run: requirements.txt | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements.txt
	@touch $@

# requirements-dev.txt also installs the apidiag CLI (./cli, editable) for its tests.
$(VENV)/.installed-dev: requirements.txt requirements-dev.txt cli/pyproject.toml | $(PY)
	$(PY) -m pip install --quiet --disable-pip-version-check -r requirements-dev.txt
	@touch $@ $(VENV)/.installed-run

run: $(VENV)/.installed-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --url http://$(HOST):$(PORT)/
	$(PY) scripts/run_dev.py --host $(HOST) --port $(PORT)

demo-password: $(VENV)/.installed-run
	$(PY) manage.py migrate --noinput
	$(PY) manage.py seed_demo --reset-password --url http://$(HOST):$(PORT)/

# The browser tests drive Debian's Chromium; Playwright cannot download its own here.
check-chromium:
	@if [ ! -x "$(CHROMIUM)" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "Installing Chromium from Debian's packages for the browser tests"; \
	    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; \
	  else \
	    echo "error: the browser tests need Chromium at $(CHROMIUM)."; \
	    echo "  Install it (Debian: sudo apt-get install chromium) or set CHROMIUM=/path/to/chromium."; \
	    exit 1; \
	  fi; \
	fi

# mypy's settings are in pyproject.toml; its cache is .mypy_cache/ (a warm run takes seconds).
lint: $(VENV)/.installed-dev
	$(PY) -m ruff check .
	$(PY) -m ruff format --check .
	$(PY) -m mypy

# axe-core for the browser tests' accessibility checks (injected by Playwright, never served).
AXE := tests/browser/axe/node_modules/axe-core/axe.min.js
$(AXE): tests/browser/axe/package.json tests/browser/axe/package-lock.json
	@command -v npm >/dev/null || { echo "error: the browser tests need npm to install axe-core (Debian: apt-get install npm)"; exit 1; }
	npm ci --prefix tests/browser/axe --no-audit --no-fund
	@touch $@

# `make test` lints, then runs the suite; `make test-only` runs the suite alone.
# pytest exits 5 when it collected no test: that is a broken suite, not a pass.
test: lint test-only

test-only: $(VENV)/.installed-dev check-chromium $(AXE)
	@CHROMIUM=$(CHROMIUM) $(PY) -m pytest -m "not chaos" $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: pytest collected no tests"; exit 1; fi; \
	exit $$status

# Real faults: each test starts its own PostgreSQL cluster and Redis on free ports (needs
# initdb and redis-server), a web server, workers and beat, and stops them all at the end.
chaos: $(VENV)/.installed-dev
	@$(PY) -m pytest -m chaos tests/chaos $(PYTEST_ARGS); status=$$?; \
	if [ $$status -eq 5 ]; then echo "error: pytest collected no chaos tests"; exit 1; fi; \
	exit $$status

# The team log at scale: against $(DATABASE_URL), else a "bench" database on the local
# PostgreSQL (created when missing). The first run generates the million runs (minutes).
BENCH_DATABASE_URL ?= postgres://postgres@127.0.0.1:5432/bench
bench-log: $(VENV)/.installed-run
	DATABASE_URL="$${DATABASE_URL:-$(BENCH_DATABASE_URL)}" $(PY) bench/log_scale.py $(BENCH_ARGS)

# Every benchmark beside its anchor (throughput vs a raw Python loop and newman, latency,
# the browser, the team log, worker memory under 1 GiB bodies), each on its own PostgreSQL
# and Redis; the table goes to bench/RESULTS.md. newman is installed from bench/package-lock.json.
bench/node_modules/.bin/newman: bench/package.json bench/package-lock.json
	npm ci --prefix bench --no-audit --no-fund
	@touch $@

bench: $(VENV)/.installed-dev check-chromium bench/node_modules/.bin/newman
	@CHROMIUM=$(CHROMIUM) $(PY) bench/run_all.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) var artifacts staticfiles .pytest_cache .ruff_cache .mypy_cache
