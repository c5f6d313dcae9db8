# connector-health: the two commands are `make dev` and `make test` (see README.md).
SHELL := /bin/bash
VENV := .venv
NODE_TOOLS := infra/dev/node_modules
CARGO ?= cargo

.PHONY: dev test lint unit integration build release bench clean-tools

## Run the API locally on http://127.0.0.1:3000 against the AWS emulator (Ctrl-C stops all).
dev: $(VENV)/.installed
	$(CARGO) build -p connector-health-admin
	infra/dev/dev.sh

## Every check CI runs: formatting, clippy, then all tests with the emulators started here.
test: $(VENV)/.installed $(NODE_TOOLS)/.installed lint
	$(CARGO) build --workspace --bins
	infra/dev/with-emulators.sh $(CARGO) test --workspace --no-fail-fast

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

$(VENV)/.installed: infra/dev/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/dev/requirements.txt
	touch $@

$(NODE_TOOLS)/.installed: infra/dev/package.json infra/dev/package-lock.json
	cd infra/dev && npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean-tools:
	rm -rf $(VENV) $(NODE_TOOLS)
