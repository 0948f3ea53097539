# infsh-harness — every command installs what it needs first, so each works alone on a fresh machine.
SHELL := /bin/bash
PY ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
NODE_STAMP := node_modules/.installed
HARNESS := $(BIN)/infsh-harness
PORT ?= 8080
PROFILE ?= documented

.PHONY: install browser run test lint mock contract load drift bench clean

$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PY) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	touch $(STAMP)

$(NODE_STAMP): package.json
	npm install --no-audit --no-fund --loglevel=error
	touch $(NODE_STAMP)

## Debian's chromium and chromedriver, for the report's browser test (tests/report/test_browser.py)
browser:
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || { \
	  SUDO=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$SUDO apt-get update -q && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -q chromium chromium-driver; }

install: $(STAMP) $(NODE_STAMP) browser

## the main job: mock + contract + short load + drift; reports under reports/
run: install
	$(HARNESS) run --out reports

## three workers, a test file each at a time (its module fixtures stay in one process): most tests
## wait on subprocesses and sockets, so three fit two cores (about 6 min there instead of 13)
test: install lint
	$(BIN)/python -m pytest tests -n 3 --dist loadfile

lint: install
	$(BIN)/ruff check src tests bench
	$(BIN)/mypy
	REDOCLY_TELEMETRY=off REDOCLY_SUPPRESS_UPDATE_NOTICE=true npx --no-install redocly lint src/infsh_harness/data/openapi/tasks.yaml --format=stylish

mock: install
	$(HARNESS) mock --host 127.0.0.1 --port $(PORT) --profile $(PROFILE)

contract: install
	$(HARNESS) contract --out reports/contract

load: install
	$(HARNESS) load --out reports/load

drift: install
	$(HARNESS) drift --format md,json,junit,html --out reports/drift

bench: install
	$(BIN)/python -m bench

clean:
	rm -rf $(VENV) node_modules reports .mypy_cache .ruff_cache .pytest_cache .hypothesis src/*.egg-info
