# connector-health: the two commands are `make dev` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
NODE_TOOLS := infra/dev/node_modules
CARGO ?= cargo

.PHONY: dev test lint unit integration build release bench perf clean-tools

## Run the API locally on http://127.0.0.1:3000 against the AWS emulator (Ctrl-C stops all).
dev: $(VENV)/.installed
	$(CARGO) build -p connector-health-admin
	infra/dev/dev.sh

## Every check CI runs: formatting, clippy, then all tests with the emulators started here.
test: $(VENV)/.installed $(NODE_TOOLS)/.installed lint validate-template
	$(CARGO) build --workspace --bins
	infra/dev/with-emulators.sh $(CARGO) test --workspace --no-fail-fast
	$(MAKE) --no-print-directory smoke-local

lint:
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings

## Unit tests only (no emulator needed).
unit:
	$(CARGO) test --workspace --lib --bins

build:
	$(CARGO) build --workspace

release:
	$(CARGO) build --workspace --release --bins

bench:
	$(CARGO) bench --workspace

## Cold start, release binary sizes and Secrets Manager calls per warm container (PERFORMANCE.md).
perf: $(VENV)/.installed
	$(CARGO) build --release -p list-connectors -p get-connector -p hello-lambda -p connector-health-bench
	target/release/cold-start --runs 30
	stat -c '%s bytes  %n' target/release/list-connectors target/release/get-connector target/release/hello-lambda
	infra/dev/with-emulators.sh target/release/sm-count --requests 1000 2> >(grep -v '"POST / HTTP/1.1"' >&2)

.PHONY: smoke smoke-local contract

## The black-box smoke suite against a deployment: make smoke BASE_URL=https://... API_KEY=...
## (the key is read from the environment; make does not echo it).
smoke: $(VENV)/.smoke-installed
	@test -n "$$BASE_URL" && test -n "$$API_KEY" || { echo "usage: make smoke BASE_URL=https://... API_KEY=..." >&2; exit 2; }
	@PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/python -m pytest infra/smoke

## openapi.yaml against a deployment with schemathesis: make contract BASE_URL=... API_KEY=...
contract: $(VENV)/.smoke-installed
	@test -n "$$BASE_URL" && test -n "$$API_KEY" || { echo "usage: make contract BASE_URL=https://... API_KEY=..." >&2; exit 2; }
	@infra/smoke/contract.sh

## The smoke suite and schemathesis against a fresh local stack (part of `make test`).
smoke-local: $(VENV)/.smoke-installed
	$(CARGO) build -p connector-health-admin
	infra/smoke/local.sh

$(VENV)/.smoke-installed: infra/smoke/requirements.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/smoke/requirements.txt
	touch $@

.PHONY: validate-template package
SAM_VENV := .venv-sam
# Offline: no telemetry, a region for the linter, and never an AWS credential.
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true

## template.yaml, offline: sam validate --lint, then cfn-lint on the template expanded from SAM to
## plain CloudFormation (target/template.expanded.json, read by tests/tests/template_policies.rs).
validate-template: $(SAM_VENV)/.installed
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint --region us-east-1 --template template.yaml
	$(SAM_ENV) $(SAM_VENV)/bin/python infra/sam/expand.py template.yaml target/template.expanded.json
	$(SAM_VENV)/bin/cfn-lint target/template.expanded.json

## sam build with cargo-lambda into .aws-sam/build (then: sam deploy --guided). arm64 when the
## Rust toolchain has the aarch64-unknown-linux-gnu target, x86_64 otherwise; PACKAGE_ARCH=... wins.
PACKAGE_ARCH ?= $(if $(shell rustup target list --installed 2>/dev/null | grep -x aarch64-unknown-linux-gnu),arm64,x86_64)
package: $(SAM_VENV)/.build-installed validate-template
	PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(SAM_ENV) $(SAM_VENV)/bin/sam build --beta-features \
		--template template.yaml --parameter-overrides Architecture=$(PACKAGE_ARCH)
	$(SAM_VENV)/bin/python infra/sam/pin_architecture.py .aws-sam/build/template.yaml $(PACKAGE_ARCH)

$(SAM_VENV)/.installed: infra/sam/requirements.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/sam/requirements.txt
	touch $@

$(SAM_VENV)/.build-installed: infra/sam/requirements-build.txt $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/sam/requirements-build.txt
	touch $@

$(VENV)/.installed: infra/dev/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/dev/requirements.txt
	touch $@

$(NODE_TOOLS)/.installed: infra/dev/package.json infra/dev/package-lock.json
	cd infra/dev && npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean-tools:
	rm -rf $(VENV) $(NODE_TOOLS) $(SAM_VENV)
