# connector-health: the two commands are `make dev` and `make test` (see README.md);
# `make help` lists the rest. Builds use `--workspace` wherever they can: building one
# package alone unifies features differently and recompiles shared dependencies.
SHELL := /bin/bash
VENV := .venv
SAM_VENV := .venv-sam
# Offline: no telemetry, a region for the linter, and never an AWS credential.
SAM_ENV := SAM_CLI_TELEMETRY=0 AWS_DEFAULT_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
SCRIPTS := infra/devstack/scripts
NODE_TOOLS := $(SCRIPTS)/node_modules
CARGO ?= cargo
# The integration binary fails, instead of skipping, when the emulators are missing.
WITH_EMULATORS := $(SCRIPTS)/with-emulators.sh env CONNECTOR_HEALTH_REQUIRE_EMULATORS=1

.DEFAULT_GOAL := help
.PHONY: help dev test lint unit proptest-long integration build release bench perf clean-tools

help: ## List the targets.
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) \
		| awk 'BEGIN {FS = ":.*## "}; {printf "  %-18s %s\n", $$1, $$2}'

dev: $(VENV)/.installed ## Run the API on http://127.0.0.1:3000 against the AWS emulator, probing demo upstreams (Ctrl-C stops all).
	$(CARGO) build --workspace --bins
	$(SCRIPTS)/dev.sh

test: ## Every check CI runs: format, clippy, template, unit and integration tests, smoke suite, schemathesis.
	$(MAKE) --no-print-directory -j4 -Otarget tools test-build
	$(MAKE) --no-print-directory validate-template
	$(WITH_EMULATORS) $(CARGO) test --workspace --no-fail-fast
	$(MAKE) --no-print-directory smoke-local

# What `test` installs (Python venvs, dynalite): it runs beside the compiler, not before it.
.PHONY: tools test-build
tools: $(VENV)/.smoke-installed $(NODE_TOOLS)/.installed $(SAM_VENV)/.installed browser registries

# The compiler's steps, one after another (cargo holds one lock per target directory).
test-build: lint
	$(CARGO) build --workspace --bins
	$(CARGO) test --workspace --no-run

lint: ## cargo fmt --check, clippy with every warning denied, no import cycle between modules.
	$(CARGO) fmt --all -- --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	python3 $(SCRIPTS)/module-cycles.py shared/src functions/*/src infra/*/src tests/testkit/src

unit: ## Unit tests only: offline, no emulator needed.
	$(CARGO) test --workspace --lib --bins

# The same debug test binary as `unit` (no release build of the AWS SDK for it).
proptest-long: ## The property tests of shared, 100,000 cases each (make test runs 256).
	PROPTEST_CASES=100000 $(CARGO) test -p connector-health-shared --lib properties

integration: $(VENV)/.installed $(NODE_TOOLS)/.installed registries ## The integration binary, with the emulators started and stopped here.
	$(CARGO) build --workspace --bins
	$(WITH_EMULATORS) $(CARGO) test -p connector-health-integration --no-fail-fast

build: ## Debug build of everything.
	$(CARGO) build --workspace

release: ## Release build of every binary.
	$(CARGO) build --workspace --release --bins

bench: ## The criterion benchmarks of the read handlers.
	$(CARGO) bench --workspace

perf: $(VENV)/.installed $(NODE_TOOLS)/.installed musl ## Cold start and first invocation of every function (the deployed musl build, and glibc for comparison), binary sizes, Secrets Manager calls per warm container (docs/performance.md).
	$(CARGO) build --release -p list-connectors -p get-connector -p probe-connectors -p status-page -p hello-lambda -p connector-health-bench
	target/release/cold-start --runs 30 $(PERF_BINARIES)
	$(SCRIPTS)/with-emulators.sh target/release/cold-start --first-invocation --runs 20 $(PERF_BINARIES) 2> >(grep -v '"POST / HTTP/1.1"' >&2)
	stat -c '%s bytes  %n' $(PERF_BINARIES)
	$(SCRIPTS)/with-emulators.sh target/release/sm-count --requests 1000 $(MUSL_DIR)/list-connectors 2> >(grep -v '"POST / HTTP/1.1"' >&2)

# How many invocations `make soak` sends (SOAK_INVOCATIONS=5000 for a quick run), extra
# flags (SOAK_FLAGS=--dynamodb-on-dynalite: the table on dynalite, about 20 times faster), and
# the binary: the deployed musl build by default (SOAK_BINARY=target/release/list-connectors
# for the glibc build).
SOAK_INVOCATIONS ?= 100000
SOAK_FLAGS ?=
SOAK_BINARY ?= $(MUSL_DIR)/list-connectors
.PHONY: soak
soak: $(VENV)/.installed $(NODE_TOOLS)/.installed musl ## One warm list-connectors (the deployed musl build) for SOAK_INVOCATIONS (100,000) invocations against moto: answers, handler time, RSS (docs/performance.md).
	$(CARGO) build --release -p list-connectors -p get-connector -p probe-connectors -p hello-lambda -p connector-health-bench
	$(SCRIPTS)/with-emulators.sh target/release/soak --invocations $(SOAK_INVOCATIONS) $(SOAK_FLAGS) $(SOAK_BINARY)

# Extra flags for `make probe-fanout` (e.g. FANOUT_FLAGS='--connectors 10000 --concurrency 10').
FANOUT_FLAGS ?=
.PHONY: probe-fanout
probe-fanout: ## One probe cycle of 100,000 connectors through the fan-out, simulated in virtual time, for 2 to 100 workers (docs/performance.md).
	$(CARGO) build --release -p connector-health-bench --bin probe-fanout
	target/release/probe-fanout $(FANOUT_FLAGS) > /dev/null

.PHONY: smoke smoke-local contract browser registries

# Headless Chromium and its WebDriver from Debian's packages, for the status page's browser
# checks in the smoke suite; installed only when missing (as root, or through sudo).
SUDO := $(if $(filter 0,$(shell id -u)),,sudo)
# `make -j` may run two installs at once: apt takes them one after the other.
APT_INSTALL := flock $${TMPDIR:-/tmp}/connector-health-apt.lock $(SUDO) sh -c \
	'apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$$@"' apt-get
browser: ## Install chromium and chromium-driver (Debian packages) unless both are there.
	@command -v chromium >/dev/null && command -v chromedriver >/dev/null || \
		$(APT_INSTALL) chromium chromium-driver

# The CNCF distribution registry from Debian's package, a real Docker registry for the
# prober's tests (Verdaccio and pypiserver come with the node tools and the venv).
registries: ## Install docker-registry (Debian package) unless it is there.
	@command -v docker-registry >/dev/null || $(APT_INSTALL) docker-registry

smoke: $(VENV)/.smoke-installed ## The black-box smoke suite against a deployment: make smoke BASE_URL=https://... API_KEY=...
	@test -n "$$BASE_URL" && test -n "$$API_KEY" || { echo "usage: make smoke BASE_URL=https://... API_KEY=..." >&2; exit 2; }
	@PYTHONDONTWRITEBYTECODE=1 $(VENV)/bin/python -m pytest infra/smoke

contract: $(VENV)/.smoke-installed ## openapi.yaml against a deployment with schemathesis: make contract BASE_URL=... API_KEY=...
	@test -n "$$BASE_URL" && test -n "$$API_KEY" || { echo "usage: make contract BASE_URL=https://... API_KEY=..." >&2; exit 2; }
	@infra/smoke/contract.sh

smoke-local: $(VENV)/.smoke-installed $(NODE_TOOLS)/.installed browser ## The smoke suite (the status page in headless Chromium too) and schemathesis against a fresh local stack (part of make test).
	$(CARGO) build --workspace --bins
	infra/smoke/local.sh

$(VENV)/.smoke-installed: infra/smoke/requirements.txt $(VENV)/.installed
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/smoke/requirements.txt
	touch $@

.PHONY: validate-template package

validate-template: target/.template-validated ## template.yaml offline: sam validate --lint, then cfn-lint on the template expanded to plain CloudFormation.

# Again only when the template or the tools change. The least-privilege test of the
# integration binary reads target/template.expanded.json.
target/.template-validated: template.yaml infra/sam/expand.py $(SAM_VENV)/.installed
	@mkdir -p target
	$(SAM_ENV) $(SAM_VENV)/bin/sam validate --lint --region us-east-1 --template template.yaml
	$(SAM_ENV) $(SAM_VENV)/bin/python infra/sam/expand.py template.yaml target/template.expanded.json
	$(SAM_VENV)/bin/cfn-lint target/template.expanded.json
	touch $@

# The functions are deployed as musl builds (static; musl's setenv frees the value it replaces,
# where glibc's keeps every one: docs/performance.md, "Soak"). arm64 when the Rust toolchain
# has the aarch64-unknown-linux-musl target, x86_64 otherwise; PACKAGE_ARCH=... wins.
PACKAGE_ARCH ?= $(if $(shell rustup target list --installed 2>/dev/null | grep -x aarch64-unknown-linux-musl),arm64,x86_64)
package: $(SAM_VENV)/.build-installed validate-template ## sam build (the build-* targets below) into .aws-sam/build (then: sam deploy --guided).
	PACKAGE_ARCH=$(PACKAGE_ARCH) $(SAM_ENV) $(SAM_VENV)/bin/sam build \
		--template template.yaml --parameter-overrides Architecture=$(PACKAGE_ARCH)
	$(SAM_VENV)/bin/python infra/sam/pin_architecture.py .aws-sam/build/template.yaml $(PACKAGE_ARCH)

# cargo-lambda (and the Zig it links with) from $(SAM_VENV): the same build for `make package`
# and for the local runs of the deployed binaries. $(call musl_build,TRIPLE,BINARIES): cargo
# lambda build moves each binary to target/lambda/<binary>/bootstrap; linking it back keeps
# cargo's own output, target/TRIPLE/release/<binary>, so the next build does not link it again.
CARGO_LAMBDA = PATH="$(CURDIR)/$(SAM_VENV)/bin:$$PATH" $(CARGO) lambda build --release
define musl_build
	$(CARGO_LAMBDA) --target $(1) $(addprefix --bin ,$(2))
	$(foreach b,$(2),ln -f target/lambda/$(b)/bootstrap target/$(1)/release/$(b) &&) true
endef
FUNCTION_BINARIES := list-connectors get-connector probe-connectors status-page

# What `sam build` runs for each function (BuildMethod makefile in template.yaml, run in this
# directory with ARTIFACTS_DIR set): the function's musl release binary as
# $(ARTIFACTS_DIR)/bootstrap. SAM does not tell make the architecture it builds for, so it
# must come from the caller, as `make package` passes it: PACKAGE_ARCH=arm64 sam build.
BUILD_FUNCTIONS := build-ListConnectorsFunction build-GetConnectorFunction build-StatusPageFunction \
	build-ProbeConnectorsFunction build-ProbeWorkerFunction
.PHONY: $(BUILD_FUNCTIONS) musl
build-ListConnectorsFunction: FUNCTION_BINARY := list-connectors
build-GetConnectorFunction: FUNCTION_BINARY := get-connector
build-StatusPageFunction: FUNCTION_BINARY := status-page
build-ProbeConnectorsFunction build-ProbeWorkerFunction: FUNCTION_BINARY := probe-connectors
$(BUILD_FUNCTIONS): $(SAM_VENV)/.build-installed
	@test -n "$$ARTIFACTS_DIR" || { echo "$@ is sam build's step (ARTIFACTS_DIR unset): run make package" >&2; exit 2; }
	@case "$(origin PACKAGE_ARCH)" in environment|command\ line) ;; *) \
		echo "$@: name the architecture sam builds for: make package, or PACKAGE_ARCH=arm64|x86_64 sam build" >&2; exit 2;; esac
	$(call musl_build,$(PACKAGE_ARCH:arm64=aarch64)-unknown-linux-musl,$(FUNCTION_BINARY))
	install -m 0755 target/$(PACKAGE_ARCH:arm64=aarch64)-unknown-linux-musl/release/$(FUNCTION_BINARY) "$$ARTIFACTS_DIR/bootstrap"

# The deployed build for this machine's architecture, for `make soak` and `make perf`:
# the functions and the hello world in target/<arch>-unknown-linux-musl/release.
HOST_MUSL := $(shell uname -m)-unknown-linux-musl
MUSL_DIR := target/$(HOST_MUSL)/release
musl: $(SAM_VENV)/.build-installed ## Release builds of the functions as make package deploys them (musl, this machine's architecture) in target/<arch>-unknown-linux-musl/release.
	$(call musl_build,$(HOST_MUSL),$(FUNCTION_BINARIES) hello-lambda)

# What `make perf` starts: the hello world first (the ratio's baseline), the deployed musl
# build, then the glibc build for comparison.
PERF_BINARIES := $(MUSL_DIR)/hello-lambda $(addprefix $(MUSL_DIR)/,$(FUNCTION_BINARIES)) \
	target/release/hello-lambda $(addprefix target/release/,$(FUNCTION_BINARIES))

$(SAM_VENV)/.installed: infra/sam/requirements.txt
	python3 -m venv $(SAM_VENV)
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/sam/requirements.txt
	touch $@

$(SAM_VENV)/.build-installed: infra/sam/requirements-build.txt $(SAM_VENV)/.installed
	$(SAM_VENV)/bin/pip install --quiet --disable-pip-version-check -r infra/sam/requirements-build.txt
	touch $@

$(VENV)/.installed: $(SCRIPTS)/requirements.txt
	python3 -m venv $(VENV)
	$(VENV)/bin/pip install --quiet --disable-pip-version-check -r $(SCRIPTS)/requirements.txt
	touch $@

$(NODE_TOOLS)/.installed: $(SCRIPTS)/package.json $(SCRIPTS)/package-lock.json
	cd $(SCRIPTS) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

clean-tools: ## Remove the Python venvs and node_modules the targets installed.
	rm -rf $(VENV) $(NODE_TOOLS) $(SAM_VENV)
