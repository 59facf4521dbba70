#!/usr/bin/env bash
# Parley on PostgreSQL, measured on this machine: NOTIFY commits/s (pgbench), then two release nodes on a fresh
# database: commit latency and the latency between nodes at a steady pace (benchmarks/cluster.py), then the
# cluster's throughput (parley-bench: in each of ROOMS rooms one sender on node A and one reader on node B, RATE
# messages a second in all, open loop), with node A's commits.
#   bash benchmarks/cluster.sh [RATE] [ROOMS] [SECONDS]   (defaults 15000 10 10)
# PARLEY_BIN=/path/to/parley runs the nodes from another build (A/B); by default this tree's release build.
# Needs the PostgreSQL that scripts/test.sh starts (or PARLEY_BENCH_POSTGRES=postgres://… with CREATEDB).
set -euo pipefail
cd "$(dirname "$0")/.."
admin=${PARLEY_BENCH_POSTGRES:-postgres://parley_test:parley_test@127.0.0.1:5432/postgres}
database=parley_bench_$$
url="${admin%/*}/$database"
pgbench=$(ls /usr/lib/postgresql/*/bin/pgbench | sort -V | tail -1)
workdir=$(mktemp -d)
nodes=()

cleanup() {
    for pid in "${nodes[@]}"; do kill "$pid" 2>/dev/null || true; done
    wait 2>/dev/null || true
    psql "$admin" -qc "DROP DATABASE IF EXISTS $database WITH (FORCE)" >/dev/null
    rm -rf "$workdir"
}
trap cleanup EXIT

swift build -c release --product parley >/dev/null
swift build -c release --product parley-bench >/dev/null
psql "$admin" -qc "CREATE DATABASE $database"

echo "== NOTIFY on this PostgreSQL: one pg_notify per transaction, 8 clients, 10 s (pgbench)"
echo "SELECT pg_notify('parley_bench', 'a payload of about the size of one chat message, 100 bytes or so......');" > "$workdir/notify.sql"
"$pgbench" -n -f "$workdir/notify.sql" -c 8 -j 2 -T 10 "$url" | grep -E "^(tps|latency average)"

# start_node NAME: starts a node in the background (not in a subshell, so cleanup knows its pid) and sets node_url.
start_node() {
    local log="$workdir/node$1.log"
    "${PARLEY_BIN:-.build/release/parley}" serve --port 0 --db "$url" --rate-limit 0 --max-connections-per-ip 0 --log-level warning >"$log" 2>&1 &
    nodes+=($!)
    for _ in $(seq 1 100); do
        if grep -q "listening on" "$log"; then
            node_url=$(grep -o "http://[^ ]*" "$log" | head -1 | sed 's|http://|ws://|; s|$|/ws|')
            return
        fi
        sleep 0.1
    done
    echo "node $1 did not start: $(cat "$log")" >&2
    exit 1
}
start_node a
node_a=$node_url
start_node b
node_b=$node_url
sleep 1

rate=${1:-15000}
rooms=${2:-10}
seconds=${3:-10}
echo "== two nodes ($node_a, $node_b), release build, everything on this machine's $(nproc) cores"
.venv/bin/python benchmarks/cluster.py "$node_a" "$node_b" "$seconds" 500
echo "== $rate msg/s in $rooms rooms, each with a sender on node A and a reader on node B, $seconds s (parley-bench)"
.build/release/parley-bench --url "$node_a" --reader-url "$node_b" --clients $((rooms * 2)) --rooms "$rooms" \
    --senders "$rooms" --rate "$rate" --duration "$seconds" 2>/dev/null
echo "== node A's commits, whole run (one parley_append call each)"
curl -s "$(echo "$node_a" | sed 's|^ws://|http://|; s|/ws$|/metrics|')" | grep -E "^parley_store_commit_(duration_seconds|batch_size)_(sum|count)"
