#!/usr/bin/env bash
# Starts a local 3-server rnats cluster in the foreground (Ctrl-C stops all three).
#
#   server   clients  routes  monitoring
#   n1       4222     6222    8222
#   n2       4223     6223    8223
#   n3       4224     6224    8224
#
# n2 and n3 are given only n1 as a seed route: gossip completes the mesh. Set
# CLUSTER_BASE_PORT to shift the client ports (routes and monitoring follow), and
# RNATS_SERVER to use another binary. Logs go to $CLUSTER_DIR (default: a temp dir).
set -euo pipefail

bin=${RNATS_SERVER:?RNATS_SERVER must name the rnats-server binary}
base=${CLUSTER_BASE_PORT:-4222}
dir=${CLUSTER_DIR:-$(mktemp -d -t rnats-cluster.XXXXXX)}
mkdir -p "$dir"
pids=()

stop() {
    for p in "${pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    wait 2>/dev/null || true
}
trap stop EXIT INT TERM

for i in 0 1 2; do
    name="n$((i + 1))"
    args=(-a 127.0.0.1 -p $((base + i)) -m $((base + 4000 + i)) -n "$name"
        --cluster_name local --cluster "nats://127.0.0.1:$((base + 2000 + i))"
        -l "$dir/$name.log")
    if [ "$i" -gt 0 ]; then
        args+=(--routes "nats://127.0.0.1:$((base + 2000))")
    fi
    "$bin" "${args[@]}" &
    pids+=($!)
done

echo "rnats cluster 'local' running (logs in $dir):"
for i in 0 1 2; do
    echo "  n$((i + 1)): nats://127.0.0.1:$((base + i))  monitoring http://127.0.0.1:$((base + 4000 + i))"
done
echo "try: nats -s nats://127.0.0.1:$base,nats://127.0.0.1:$((base + 1)) sub demo"
echo "Ctrl-C stops the cluster."
wait
