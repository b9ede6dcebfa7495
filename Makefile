# xaa-bridge: build, test, deploy and demo.
# Every target mirrors a CI step; `make ci` is what `.ci/run` runs.
# Python tools (cargo-lambda, zig, moto, cfn-lint, sam) live in a project-local venv (.venv).

# ---- settings (override on the command line: make invoke EVENT=events/with-session.json) ----
PYTHON        ?= python3
VENV          ?= .venv
REQUIREMENTS  ?= requirements-dev.txt
CARGO         ?= cargo
TEMPLATE      ?= template.yaml
LAMBDA_BIN    ?= xaa-bridge
ARM64_TARGET  ?= aarch64-unknown-linux-gnu
EVENT         ?= events/valid.json
INVOKE_PORT   ?= 9000
INVOKE_ADDR   ?= 127.0.0.1
AWS_REGION_DEFAULT ?= us-east-1

VENV_BIN      := $(abspath $(VENV))/bin
# The stamp holds a copy of the requirements it was built from: setup is a no-op until they change.
SETUP_STAMP   := $(VENV)/.setup-stamp
# Tools from the venv come first; cargo-lambda finds zig there (python -m ziglang).
TOOLS_ENV     := PATH="$(VENV_BIN):$$PATH" VIRTUAL_ENV="$(abspath $(VENV))"
# Tests start moto themselves from this binary.
TEST_ENV      := $(TOOLS_ENV) MOTO_SERVER_BIN="$(VENV_BIN)/moto_server"
# Okta's Node verifier (@okta/jwt-verifier), the judge of crates/verify's conformance test and
# the baseline of `make bench`: a project-local node_modules from the pinned package-lock.json.
OKTA_VERIFIER := dev/okta-verifier
# The stamp holds a copy of the lock file it was installed from: a no-op until it changes.
OKTA_STAMP    := $(OKTA_VERIFIER)/.npm-stamp
# sam/cfn-lint offline: a region, no real credentials, no telemetry.
SAM_ENV       := $(TOOLS_ENV) AWS_DEFAULT_REGION="$${AWS_DEFAULT_REGION:-$(AWS_REGION_DEFAULT)}" \
                 SAM_CLI_TELEMETRY=0 SAM_CLI_DISABLE_UPDATE_CHECK=1

.DEFAULT_GOAL := help
.PHONY: help setup okta-verifier fmt lint test build agentcore-build agentcore-image invoke validate deploy demo demo-agentcore demo-credentials bench fuzz ci clean-venv

help: ## List the targets
	@echo "xaa-bridge make targets:"
	@grep -hE '^[a-zA-Z_-]+:.*## ' $(MAKEFILE_LIST) | awk 'BEGIN {FS = ":.*## "}; {printf "  %-10s %s\n", $$1, $$2}'
	@echo "Variables: EVENT=$(EVENT) INVOKE_PORT=$(INVOKE_PORT) VENV=$(VENV) PYTHON=$(PYTHON)"

setup: ## Create .venv and install the pinned tools (fast when already done)
	@if [ -x "$(VENV_BIN)/python" ] && cmp -s "$(REQUIREMENTS)" "$(SETUP_STAMP)" \
	    && "$(VENV_BIN)/python" -c "" 2>/dev/null; then \
	  echo "setup: $(VENV) is up to date with $(REQUIREMENTS)"; \
	else \
	  set -e; \
	  echo "setup: installing $(REQUIREMENTS) into $(VENV)"; \
	  if ! { [ -x "$(VENV_BIN)/python" ] && "$(VENV_BIN)/python" -m pip --version >/dev/null 2>&1; }; then \
	    rm -rf "$(VENV)"; \
	    if ! $(PYTHON) -m venv "$(VENV)"; then \
	      echo "setup: '$(PYTHON) -m venv' failed (no ensurepip?); using virtualenv from PyPI"; \
	      rm -rf "$(VENV)" .venv-bootstrap; \
	      $(PYTHON) -m pip install --quiet --target .venv-bootstrap virtualenv; \
	      PYTHONPATH=.venv-bootstrap $(PYTHON) -m virtualenv --quiet "$(VENV)"; \
	      rm -rf .venv-bootstrap; \
	    fi; \
	  fi; \
	  rm -f "$(SETUP_STAMP)"; \
	  PIP_DISABLE_PIP_VERSION_CHECK=1 "$(VENV_BIN)/python" -m pip install --quiet --require-virtualenv -r "$(REQUIREMENTS)"; \
	  PIP_DISABLE_PIP_VERSION_CHECK=1 "$(VENV_BIN)/python" -m pip check; \
	  cp "$(REQUIREMENTS)" "$(SETUP_STAMP)"; \
	  echo "setup: done"; \
	fi

okta-verifier: ## Install Okta's Node verifier into dev/okta-verifier (npm ci; fast when already done)
	@if [ -f "$(OKTA_VERIFIER)/node_modules/@okta/jwt-verifier/package.json" ] \
	    && cmp -s "$(OKTA_VERIFIER)/package-lock.json" "$(OKTA_STAMP)"; then \
	  echo "okta-verifier: $(OKTA_VERIFIER)/node_modules is up to date with package-lock.json"; \
	else \
	  set -e; \
	  command -v node >/dev/null 2>&1 && command -v npm >/dev/null 2>&1 \
	    || { echo "okta-verifier: node and npm (node 20 or later) must be on PATH" >&2; exit 1; }; \
	  node -e 'process.exit(Number(process.versions.node.split(".")[0]) >= 20 ? 0 : 1)' \
	    || { echo "okta-verifier: node $$(node --version) is too old, need 20 or later" >&2; exit 1; }; \
	  echo "okta-verifier: npm ci in $(OKTA_VERIFIER) (node $$(node --version))"; \
	  rm -f "$(OKTA_STAMP)"; \
	  npm ci --prefix "$(OKTA_VERIFIER)" --ignore-scripts --no-audit --no-fund --loglevel=error </dev/null; \
	  cp "$(OKTA_VERIFIER)/package-lock.json" "$(OKTA_STAMP)"; \
	fi

fmt: ## Check formatting (cargo fmt --all --check)
	$(CARGO) fmt --all --check

lint: ## Clippy on every target, warnings are errors
	$(CARGO) clippy --workspace --all-targets -- -D warnings

test: setup okta-verifier ## Run the whole test suite (needs moto from .venv, Okta's verifier from npm)
	$(TEST_ENV) $(CARGO) test --workspace

build: setup ## Release build for Lambda (arm64, via cargo-lambda + zig) -> target/lambda/{xaa-bridge,xaa-tool}/bootstrap
	@rustup target list --installed 2>/dev/null | grep -qx "$(ARM64_TARGET)" || rustup target add "$(ARM64_TARGET)"
	$(TOOLS_ENV) cargo-lambda lambda build --release --arm64 --bin $(LAMBDA_BIN)
	$(TOOLS_ENV) cargo-lambda lambda build --release --arm64 --package xaa-tool --bin xaa-tool

agentcore-build: setup ## Release arm64 build of the AgentCore front door -> target/lambda/xaa-bridge-agentcore/bootstrap
	@rustup target list --installed 2>/dev/null | grep -qx "$(ARM64_TARGET)" || rustup target add "$(ARM64_TARGET)"
	$(TOOLS_ENV) cargo-lambda lambda build --release --arm64 --package xaa-bridge-agentcore --bin xaa-bridge-agentcore
	@ls -l target/lambda/xaa-bridge-agentcore/bootstrap

agentcore-image: agentcore-build ## Build the ARM64 container image (needs docker or podman with buildx)
	docker buildx build --platform linux/arm64 -t xaa-bridge-agentcore:latest --load .

invoke: setup ## Send EVENT (default events/valid.json) to a running `cargo lambda watch` on INVOKE_PORT
	$(TOOLS_ENV) cargo-lambda lambda invoke $(LAMBDA_BIN) --invoke-address $(INVOKE_ADDR) --invoke-port $(INVOKE_PORT) --data-file $(EVENT)

validate: setup ## sam validate --lint and cfn-lint on template.yaml (offline)
	$(SAM_ENV) sam validate --lint --template-file $(TEMPLATE)
	$(SAM_ENV) cfn-lint --non-zero-exit-code informational -- $(TEMPLATE)

deploy: setup ## sam build && sam deploy --guided (needs AWS credentials)
	$(SAM_ENV) sam build --beta-features --template-file $(TEMPLATE)
	$(SAM_ENV) sam deploy --guided

demo: ## The whole chain offline: devstack + moto + cargo lambda watch + invoke
	bash scripts/demo.sh

demo-agentcore: ## The hosted chain offline: devstack + moto + xaa-bridge-agentcore + POST /invocations
	DEMO_FRONT=agentcore bash scripts/demo.sh

demo-credentials: ## Every credential an AI agent can get (xaa CLI vs devstack), then AGBAC at xaa-tool
	bash scripts/demo-credentials.sh

bench: okta-verifier ## Benchmarks (scripts/bench.sh; Okta's Node verifier for the verify job)
	@if [ -f scripts/bench.sh ]; then bash scripts/bench.sh; else echo "bench: scripts/bench.sh is not written yet"; fi

fuzz: ## Fuzz parsers, the token verifier and the Bedrock stream drain in release, FUZZ_CASES (1000000) inputs per target
	FUZZ_CASES=$${FUZZ_CASES:-1000000} $(CARGO) test --release --no-fail-fast -p xaa -p xaa-bridge-core -p xaa-verify --test fuzz -- fuzz_ --nocapture --test-threads 1
	FUZZ_CASES=$${FUZZ_CASES:-1000000} $(CARGO) test --release --no-fail-fast -p xaa --test fuzz_credentials -- fuzz_ --nocapture --test-threads 1

ci: ## What CI runs: setup fmt lint test validate demo demo-agentcore demo-credentials
	$(MAKE) --no-print-directory setup
	$(MAKE) --no-print-directory fmt
	$(MAKE) --no-print-directory lint
	$(MAKE) --no-print-directory test
	$(MAKE) --no-print-directory validate
	$(MAKE) --no-print-directory demo
	$(MAKE) --no-print-directory demo-agentcore
	$(MAKE) --no-print-directory demo-credentials

clean-venv: ## Remove .venv (the next setup reinstalls)
	rm -rf "$(VENV)"
