# Two commands on a fresh machine with Python 3.11 and make: `make dev`, `make test`.
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV := .venv
BIN := $(VENV)/bin
INSTALLED := $(VENV)/.installed

.PHONY: dev test lint unit bench clean node chromium lambda-bytecode npm package

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
# generated tests do not spread over xdist workers (each function would run as one item), so they run in a third
# process beside them: the two workers leave about a third of the cores idle (waits on browsers, brokers, sockets).
# Its report follows theirs; either failing fails the target.
SCHEMATHESIS := tests/e2e/test_schemathesis.py tests/e2e/test_admin_schemathesis.py
test: lint node chromium
	@fuzz_log=$$(mktemp); \
	$(BIN)/pytest $(SCHEMATHESIS) $(ARGS) > $$fuzz_log 2>&1 & fuzz=$$!; \
	trap 'kill $$fuzz 2>/dev/null; rm -f $$fuzz_log; exit 130' INT TERM; \
	$(BIN)/pytest -n 2 --dist loadfile $(addprefix --ignore=,$(SCHEMATHESIS)) $(ARGS); tests=$$?; \
	wait $$fuzz; fuzzed=$$?; \
	echo "--- schemathesis ($(SCHEMATHESIS)), run beside the tests above:"; cat $$fuzz_log; rm -f $$fuzz_log; \
	test $$tests -eq 0 -a $$fuzzed -eq 0

unit: $(INSTALLED)
	$(BIN)/pytest tests/unit $(ARGS)

# Run before `serverless deploy`: Lambda cannot write __pycache__, so a package without bytecode compiles
# every module on every cold start. checked-hash: valid whatever mtimes the zip keeps.
lambda-bytecode: $(INSTALLED)
	$(BIN)/python -m compileall -q --invalidation-mode checked-hash domain handlers infra functions

# The deployment package as `serverless deploy --package .serverless` uploads it: the CloudFormation template and
# the zip for python3.11 on arm64, built here by the Serverless Framework v3 and its plugins (versions in
# package-lock.json) without AWS credentials, then checked by deploy/lambda_package.py (handler modules, bytecode,
# size under Lambda's 250 MB, no deploy tools, cfn-lint), which prints the sizes. `make package STAGE=prod`.
STAGE ?= dev
REGION ?=
LAMBDA_BUILD := build/lambda
LAMBDA_SOURCES := domain handlers infra functions
# No AWS credentials (packaging must not need any), nothing sent to serverless.com; SOURCE_DATE_EPOCH makes pip
# compile the dependencies' bytecode with checked hashes (a timestamp .pyc never matches on Lambda).
SERVERLESS := env -u AWS_ACCESS_KEY_ID -u AWS_SECRET_ACCESS_KEY -u AWS_SESSION_TOKEN -u AWS_PROFILE \
	AWS_SHARED_CREDENTIALS_FILE=/dev/null AWS_CONFIG_FILE=/dev/null \
	SLS_TELEMETRY_DISABLED=1 SLS_NOTIFICATIONS_MODE=off SLS_INTERACTIVE_SETUP_DISABLE=1 \
	SOURCE_DATE_EPOCH=315532800 PARKPASS_PACKAGE_PYTHON=$(CURDIR)/$(BIN)/python node_modules/.bin/serverless

npm: node
	@command -v npm >/dev/null || { echo "installing npm from Debian for make package"; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm >/dev/null; }

node_modules/.installed: package.json package-lock.json | npm
	npm ci --no-audit --no-fund --ignore-scripts --loglevel=error
	touch $@

package: $(INSTALLED) node_modules/.installed
	$(BIN)/python deploy/lambda_package.py requirements $(LAMBDA_BUILD)
	$(BIN)/python -m compileall -q -f --invalidation-mode checked-hash $(LAMBDA_SOURCES)
	$(SERVERLESS) package --stage $(STAGE) $(if $(REGION),--region $(REGION))
	$(BIN)/python deploy/lambda_package.py check

bench: $(INSTALLED)
	$(BIN)/python -m bench.run

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache .hypothesis
