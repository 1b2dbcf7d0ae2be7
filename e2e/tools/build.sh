#!/usr/bin/env bash
# Builds the e2e control-plane tools from Go modules into a cache outside the
# checkout, once per pinned version:
#
#   kube-apiserver, kube-controller-manager, kube-scheduler, kubectl
#       one `go build` of k8s.io/kubernetes through the wrapper module in
#       e2e/tools/kubernetes, whose replace directives point every staging
#       module (k8s.io/api, apimachinery, client-go, ...) at its published
#       v0.X.Y (k8s.io/kubernetes' own go.mod points them at ./staging, which
#       only works inside a kubernetes checkout);
#   etcd
#       go.etcd.io/etcd/server/v3 through e2e/tools/etcd (same reason: etcd's
#       go.mod replaces its sibling modules with ../ paths).
#
# The pins live in the two go.mod files (and their go.sum). Output:
#   $RNATS_CACHE/tools/<version>/bin/   (RNATS_CACHE defaults to ~/.cache/rnats)
# where <version> is "k8s-v1.X.Y_etcd-v3.6.Z". A stamp (hash of the wrappers,
# the build recipe and `go version`) makes a warm run a no-op; a changed pin
# gives a new directory. Nothing is written inside the checkout. Go's own
# module and build caches (GOMODCACHE, GOCACHE) are used as usual.
#
# usage:
#   e2e/tools/build.sh             build (or reuse) the tools, print the bin dir last
#   e2e/tools/build.sh --bin-dir   print the bin dir for the current pins, build nothing
#   e2e/tools/build.sh --pin K8S_VERSION ETCD_VERSION
#                                  rewrite the wrapper modules for new versions
#                                  (e.g. --pin 1.37.2 3.6.16); commit the result
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
K8S_DIR="$HERE/kubernetes"
ETCD_DIR="$HERE/etcd"
RNATS_CACHE="${RNATS_CACHE:-$HOME/.cache/rnats}"
K8S_TOOLS=(kube-apiserver kube-controller-manager kube-scheduler kubectl)

now() { date +%s.%N; }
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.1f", b - a }'; }
log() { printf '[e2e-tools] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# The version a wrapper go.mod requires for MODULE (a plain read: no network).
pinned() { awk -v m="$1" '$1 == m && $2 ~ /^v/ { print $2; exit } $1 == "require" && $2 == m { print $3; exit }' "$2/go.mod"; }

# Rewrites both wrapper modules for Kubernetes $1 and etcd $2 (no leading v).
pin() {
    local k8s="$1" etcd="$2" gomod mod minor
    minor="${k8s#1.}"
    log "pinning k8s.io/kubernetes v$k8s (staging modules v0.$minor) and etcd v$etcd"
    (
        cd "$K8S_DIR"
        rm -f go.mod go.sum
        go mod init rnats.local/e2e-tools/kubernetes 2>/dev/null
        go mod edit -go=1.26.0 -require="k8s.io/kubernetes@v$k8s"
        gomod="$(go mod download -json "k8s.io/kubernetes@v$k8s" | awk -F'"' '$2 == "GoMod" { print $4 }')"
        [[ -f "$gomod" ]] || die "no go.mod for k8s.io/kubernetes@v$k8s"
        # Every staging module is required at v0.0.0 and replaced by a ./staging path.
        for mod in $(awk '/^\tk8s\.io\/[^ ]+ v0\.0\.0$/ { print $1 }' "$gomod"); do
            go mod edit -replace="$mod=$mod@v0.$minor"
        done
        for t in "${K8S_TOOLS[@]}"; do go mod edit -tool="k8s.io/kubernetes/cmd/$t"; done
        go mod tidy
    )
    (
        cd "$ETCD_DIR"
        rm -f go.mod go.sum
        go mod init rnats.local/e2e-tools/etcd 2>/dev/null
        go mod edit -go=1.26.0 -require="go.etcd.io/etcd/server/v3@v$etcd" -tool=go.etcd.io/etcd/server/v3
        go mod tidy
    )
}

if [[ "${1:-}" == "--pin" ]]; then
    [[ $# -eq 3 ]] || die "usage: $0 --pin K8S_VERSION ETCD_VERSION"
    pin "${2#v}" "${3#v}"
    log "pinned; run $0 to build"
    exit 0
fi

K8S_VERSION="$(pinned k8s.io/kubernetes "$K8S_DIR")"
ETCD_VERSION="$(pinned go.etcd.io/etcd/server/v3 "$ETCD_DIR")"
[[ "$K8S_VERSION" =~ ^v1\.[0-9]+\.[0-9]+$ ]] || die "cannot read the k8s.io/kubernetes pin from $K8S_DIR/go.mod"
[[ "$ETCD_VERSION" =~ ^v3\.[0-9]+\.[0-9]+$ ]] || die "cannot read the etcd pin from $ETCD_DIR/go.mod"
TOOLS_DIR="$RNATS_CACHE/tools/k8s-${K8S_VERSION}_etcd-${ETCD_VERSION}"
BIN_DIR="$TOOLS_DIR/bin"

if [[ "${1:-}" == "--bin-dir" ]]; then
    echo "$BIN_DIR"
    exit 0
fi
[[ $# -eq 0 ]] || die "unknown arguments: $*"

command -v go >/dev/null || die "go is not installed (Go 1.26 or newer is needed)"
T_ALL=$(now)
STAMP_FILE="$TOOLS_DIR/stamp"
# How the binaries are built; change it whenever the go build lines below change.
BUILD_RECIPE="cgo=0 -trimpath -ldflags='-s -w' + version ldflags, recipe 1"
stamp_want="$( (cat "$K8S_DIR/go.mod" "$K8S_DIR/go.sum" "$ETCD_DIR/go.mod" "$ETCD_DIR/go.sum"; echo "$BUILD_RECIPE") \
    | sha256sum | cut -d' ' -f1) $(go env GOVERSION)"

# Checks that every binary in $1 runs and reports the pinned version.
verify() {
    local dir="$1" t out
    for t in kube-apiserver kube-controller-manager kube-scheduler; do
        out="$("$dir/$t" --version 2>&1)" || die "$t --version failed: $out"
        [[ "$out" == "Kubernetes $K8S_VERSION" ]] || die "$t reports '$out', expected 'Kubernetes $K8S_VERSION'"
    done
    out="$("$dir/kubectl" version --client 2>&1)" || die "kubectl version failed: $out"
    [[ "$out" == *"Client Version: $K8S_VERSION"* ]] || die "kubectl reports '$out', expected $K8S_VERSION"
    out="$("$dir/etcd" --version 2>&1)" || die "etcd --version failed: $out"
    [[ "$out" == *"etcd Version: ${ETCD_VERSION#v}"* ]] || die "etcd reports '$out', expected ${ETCD_VERSION#v}"
}

if [[ "$(cat "$STAMP_FILE" 2>/dev/null)" == "$stamp_want" ]] && (verify "$BIN_DIR") 2>/dev/null; then
    log "up to date: Kubernetes $K8S_VERSION, etcd $ETCD_VERSION in $BIN_DIR ($(elapsed "$T_ALL")s)"
    echo "$BIN_DIR"
    exit 0
fi

# Build into a scratch directory next to the final one and move it into place
# at the end, so an interrupted build never leaves a half-filled bin/.
mkdir -p "$TOOLS_DIR"
SCRATCH="$(mktemp -d "$TOOLS_DIR/build.XXXXXX")"
chmod 755 "$SCRATCH"
trap 'rm -rf "$SCRATCH"' EXIT

# Version variables as kubernetes' hack/lib/version.sh sets them, so that
# `--version` says v1.X.Y and not v0.0.0-master (the apiserver also derives its
# compatibility version from it). The build date is the module's publish time.
k8s_minor="${K8S_VERSION#v1.}"
k8s_minor="${k8s_minor%%.*}"
build_date="$(cd "$K8S_DIR" && go mod download -json "k8s.io/kubernetes@$K8S_VERSION" \
    | awk -F'"' '$2 == "Time" { print $4; exit }')"
k8s_ldflags="-s -w"
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    k8s_ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$k8s_minor"
    k8s_ldflags+=" -X $pkg.gitTreeState=clean -X $pkg.gitCommit= -X $pkg.buildDate=${build_date:-1970-01-01T00:00:00Z}"
done

export CGO_ENABLED=0
GOFLAGS_BUILD=(-mod=readonly -trimpath -buildvcs=false)

t=$(now)
log "building Kubernetes $K8S_VERSION: ${K8S_TOOLS[*]} (cold: tens of minutes on 2 cores)"
pkgs=()
for t_name in "${K8S_TOOLS[@]}"; do pkgs+=("k8s.io/kubernetes/cmd/$t_name"); done
(cd "$K8S_DIR" && go build "${GOFLAGS_BUILD[@]}" -ldflags "$k8s_ldflags" -o "$SCRATCH/" "${pkgs[@]}")
log "Kubernetes built in $(elapsed "$t")s"

t=$(now)
log "building etcd $ETCD_VERSION"
(cd "$ETCD_DIR" && go build "${GOFLAGS_BUILD[@]}" -ldflags "-s -w" -o "$SCRATCH/etcd" go.etcd.io/etcd/server/v3)
log "etcd built in $(elapsed "$t")s"

verify "$SCRATCH"
rm -rf "$BIN_DIR"
mv "$SCRATCH" "$BIN_DIR"
trap - EXIT
echo "$stamp_want" >"$STAMP_FILE"
log "built Kubernetes $K8S_VERSION and etcd $ETCD_VERSION into $BIN_DIR in $(elapsed "$T_ALL")s"
echo "$BIN_DIR"
