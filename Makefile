# The two commands a newcomer needs: `make demo` and `make test`. Both set up what they use.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
# Two workers: the suite is mostly waiting on subprocesses and moto, and CI has two cores.
PYTEST_ARGS ?= -n 2
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION := 20
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: install lint typecheck test test-aws unit demo synth bench clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(VENV)/.installed: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[dev]'
	touch $@

# checkov in an environment of its own: it pins boto3 and packaging below the dev extra's (pyproject's
# scan extra). The infrastructure tests run it from here (tests/infrastructure/scanners.py).
SCAN_VENV := .venv-scan
export CHECKOV := $(CURDIR)/$(SCAN_VENV)/bin/checkov

$(SCAN_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(SCAN_VENV)
	$(SCAN_VENV)/bin/pip install --quiet --upgrade pip
	$(SCAN_VENV)/bin/pip install --quiet '.[scan]'
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

install: $(VENV)/.installed $(SCAN_VENV)/.installed node_modules/.installed

lint: $(VENV)/.installed
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(VENV)/.installed
	$(BIN)/mypy $(wildcard powertuning lambdas statemachine stacks app.py benchmarks examples)

test: install lint typecheck
	$(BIN)/pytest $(PYTEST_ARGS)

# The real-account tier (docs/deploy.md): a scratch stack in the account and region of your AWS
# credentials, destroyed at the end. One process: the stack is deployed once for all its tests.
test-aws: install
	POWERTUNING_TEST_AWS=1 PATH="$(CURDIR)/$(BIN):$$PATH" $(BIN)/pytest tests/aws -n 0 -k aws-account

unit: $(VENV)/.installed
	$(BIN)/pytest tests/unit $(PYTEST_ARGS)

# The demo needs only the local extra (moto), not the CDK and dev tools: quicker from a fresh clone.
$(VENV)/.installed-local: pyproject.toml | $(BIN)/python
	$(BIN)/pip install --quiet -e '.[local]'
	touch $@

demo: $(VENV)/.installed-local
	$(BIN)/powertune local --handler examples/primes/handler.py:handler

synth: install
	PATH="$(CURDIR)/$(BIN):$$PATH" npx cdk synth --quiet

clean:
	rm -rf $(VENV) $(SCAN_VENV) node_modules cdk.out .pytest_cache .mypy_cache .ruff_cache
