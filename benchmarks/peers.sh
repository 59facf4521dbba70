#!/usr/bin/env bash
# Parley against the servers a user would consider, in the same run and interleaved: the tutorial's FastAPI server
# (uvicorn), Node's ws (Debian's node-ws) and the libwebsockets test server's mirror protocol (Debian's
# libwebsockets-test-server). Every server runs pinned to core 1, parley-bench pinned to core 0; the bench reads
# each server's CPU time and memory from /proc over the measured window.
#
#   bash benchmarks/peers.sh [ROUNDS] [CLIENTS] [SENDERS] [SECONDS] [IDLE]     (defaults 2 1000 10 10 10000)
#   PEERS_SERVERS="parley-plain node-ws" bash benchmarks/peers.sh …            (a subset of the servers)
#   PEERS_SCENARIOS=everyday bash benchmarks/peers.sh [ROUNDS] … [SECONDS]     (moderate rates instead)
#
# Scenarios, per server and round: a CLIENTS-client room at saturation (SENDERS senders, each sending its next text
# when its previous one comes back), the same room at 100 msg/s (open loop), and IDLE idle connections (one
# message a second) for memory. With PEERS_SCENARIOS=everyday, the everyday load of issue 17 instead: 10,000
# deliveries a second offered three ways (a 10-client room at 1,000 msg/s, a 100-client room at 100 msg/s, a
# 1,000-client room at 10 msg/s), a 10-client room at saturation, 100 msg/s into a 10-client and into a 1,000-client
# room (the issue's two absolute targets: a share of a core, and a tail), and 10,000 clients in 1,000 rooms of ten at
# 1,000 msg/s in all (parley.v1 only: the other servers broadcast to everyone, one room). Parley runs in plain mode (the tutorial's protocol, every message stored in
# SQLite) and with parley.v1. Prints one line per run and a Markdown table at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2} clients=${2:-1000} senders=${3:-10} seconds=${4:-10} idle=${5:-10000}

missing=()
for package in node-ws libwebsockets-test-server; do dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package"); done
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r benchmarks/requirements.txt
swift build -c release --product parley >/dev/null
swift build -c release --product parley-bench >/dev/null
# Each connection is a file descriptor in the server and in the bench: raise the soft limit as far as allowed.
ulimit -n "$(ulimit -Hn)"

work=$(mktemp -d)
server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
trap 'stop_server; rm -rf "$work"' EXIT

# start_server NAME PORT: starts it on core 1 and sets server_pid, url and subprotocol_flag.
start_server() {
    local name=$1 port=$2
    subprotocol_flag=()
    url="ws://127.0.0.1:$port/ws"
    case $name in
        parley-plain | parley-v1)
            taskset -c 1 .build/release/parley serve --port "$port" --db "$work/$name-$port.sqlite" --rate-limit 0 \
                --max-connections-per-ip 0 --log-level warning \
                >"$work/server.log" 2>&1 &
            ;;
        fastapi-tutorial)
            (cd benchmarks/peers && exec taskset -c 1 ../../.venv/bin/uvicorn tutorial_fastapi:app --port "$port" \
                --log-level warning --ws websockets) >"$work/server.log" 2>&1 &
            ;;
        node-ws)
            NODE_PATH=/usr/share/nodejs taskset -c 1 node benchmarks/peers/ws_broadcast.js "$port" >"$work/server.log" 2>&1 &
            ;;
        libwebsockets)
            taskset -c 1 libwebsockets-test-server --port="$port" >"$work/server.log" 2>&1 &
            url="ws://127.0.0.1:$port/"
            subprotocol_flag=(--subprotocol lws-mirror-protocol)
            ;;
    esac
    server_pid=$!
    for _ in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then return; fi
        sleep 0.1
    done
    echo "$name did not start: $(cat "$work/server.log")" >&2
    exit 1
}

# bench NAME SCENARIO ARGS…: one parley-bench run against a fresh server; appends its report to results.jsonl.
bench() {
    local name=$1 scenario=$2
    shift 2
    # Below the ephemeral range (32768 and up), where the previous run's connections could still hold the port.
    local port=$((10000 + RANDOM % 20000))
    start_server "$name" "$port"
    sleep 0.5
    local baseline
    baseline=$(awk '/^VmRSS/ {print $2}' "/proc/$server_pid/status")
    local dialect=(--plain "${subprotocol_flag[@]}")
    [ "$name" = parley-v1 ] && dialect=()
    local report="$work/report.json"
    taskset -c 0 .build/release/parley-bench --url "$url" "${dialect[@]}" --server-pid "$server_pid" \
        --warmup 2 --json "$report" "$@" >/dev/null 2>&1 || echo '{"failed": true}' >"$report"
    stop_server
    python3 benchmarks/peers_report.py add "$name" "$scenario" "$report" "$baseline" "$work/results.jsonl"
}

servers=(${PEERS_SERVERS:-parley-plain parley-v1 fastapi-tutorial node-ws libwebsockets})
echo "== $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); servers on core 1, parley-bench on core 0"
for round in $(seq 1 "$rounds"); do
    echo "== round $round"
    for name in "${servers[@]}"; do
        if [ "${PEERS_SCENARIOS:-}" = everyday ]; then
            bench "$name" 10x1000msg/s --clients 10 --senders 10 --rate 1000 --duration "$seconds"
            bench "$name" 100x100msg/s --clients 100 --senders 10 --rate 100 --duration "$seconds"
            bench "$name" 1000x10msg/s --clients 1000 --senders 10 --rate 10 --duration "$seconds"
            bench "$name" 10-saturation --clients 10 --senders 10 --rate 0 --duration "$seconds"
            bench "$name" 10x100msg/s --clients 10 --senders 10 --rate 100 --duration "$seconds"
            bench "$name" 1000x100msg/s --clients 1000 --senders 10 --rate 100 --duration "$seconds"
            if [ "$name" = parley-v1 ]; then
                bench "$name" 1000-rooms-of-10 --clients 10000 --rooms 1000 --senders 1000 --rate 1000 --duration "$seconds"
            fi
            continue
        fi
        bench "$name" saturation --clients "$clients" --senders "$senders" --rate 0 --duration "$seconds"
        bench "$name" 100msg/s --clients "$clients" --senders "$senders" --rate 100 --duration "$seconds"
        # parley.v1 clients idle in rooms of 10: a 10,000-member room is a presence storm (each join is announced
        # to everyone already there), not an idle server.
        rooms=()
        [ "$name" = parley-v1 ] && rooms=(--rooms $((idle / 10)))
        bench "$name" "idle-$idle" --clients "$idle" "${rooms[@]}" --senders 1 --rate 1 --duration 5
    done
done

echo
python3 benchmarks/peers_report.py table "$work/results.jsonl"
