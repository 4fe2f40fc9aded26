# Two commands on a fresh machine with Python 3.11 and make: `make dev`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: dev test lint unit bench clean node chromium lambda-bytecode

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Reinstall only when the dependency list changes.
$(INSTALLED): pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@

dev: $(INSTALLED)
	$(BIN)/parkpass dev $(ARGS)

lint: $(INSTALLED)
	$(BIN)/ruff check domain handlers infra functions tests bench
	$(BIN)/mypy

# The mini-program client's test runs on Node.js; Debian's package does.
node:
	@command -v node >/dev/null || { echo "installing Node.js from Debian for the mini-program client test"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nodejs >/dev/null; }

# The admin page's browser tests drive Debian's Chromium (Playwright, no browser download).
# A Chinese font too, so the screenshots the tests save are readable.
chromium:
	@test -x /usr/bin/chromium -a -d /usr/share/fonts/truetype/wqy || { \
		echo "installing Chromium and a Chinese font from Debian for the admin page's browser tests"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null; }

# Two workers on the machine's two cores, a test file each at a time (files share their stacks). schemathesis'
# generated tests do not spread over xdist workers (each function would run as one item), so they run after.
SCHEMATHESIS := tests/e2e/test_schemathesis.py tests/e2e/test_admin_schemathesis.py
test: lint node chromium
	$(BIN)/pytest -n 2 --dist loadfile $(addprefix --ignore=,$(SCHEMATHESIS)) $(ARGS)
	$(BIN)/pytest $(SCHEMATHESIS) $(ARGS)

unit: $(INSTALLED)
	$(BIN)/pytest tests/unit $(ARGS)

# Run before `serverless deploy`: Lambda cannot write __pycache__, so a package without bytecode compiles
# every module on every cold start. checked-hash: valid whatever mtimes the zip keeps.
lambda-bytecode: $(INSTALLED)
	$(BIN)/python -m compileall -q --invalidation-mode checked-hash domain handlers infra functions

bench: $(INSTALLED)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
