#!/usr/bin/env bash
# Several builds of `parley` against one parley-bench scenario, interleaved, each on a fresh server: how the
# "A/B" rows of docs/benchmarks.md were measured. Server on core 1, bench on core 0, as in peers.sh.
#
#   bash benchmarks/compare_builds.sh OLD_BINARY NEW_BINARY [OLD_BINARY NEW_BINARY …]
#   BENCH_ARGS="--plain --clients 10000 --senders 1 --rate 1 --duration 5" bash benchmarks/compare_builds.sh …
#
# Default scenario: a 1,000-client plain-mode room at saturation (10 senders, closed loop) for 10 s. Prints one line
# per run: deliveries/s, server CPU µs per delivery, p99, peak RSS and growth per client, what was lost, how long
# the rooms took to fill, and how many presence and typing frames each client got per second; then the CPU per message
# sent of the server's four busiest threads (the SQLite writer is `parley-commit`).
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 PARLEY_BINARY…" >&2; exit 2; }
swift build -c release --product parley-bench >/dev/null
ulimit -n "$(ulimit -Hn)"
read -r -a scenario <<<"${BENCH_ARGS:---plain --clients 1000 --senders 10 --rate 0 --duration 10}"
for binary in "$@"; do
    work=$(mktemp -d)
    # Below the ephemeral range (32768 and up), where the bench's own connections could hold the port.
    port=$((10000 + RANDOM % 20000))
    taskset -c 1 "$binary" serve --port "$port" --db "$work/parley.sqlite" --rate-limit 0 --max-connections-per-ip 0 \
        --log-level warning >"$work/server.log" 2>&1 &
    server=$!
    sleep 1
    baseline=$(awk '/^VmRSS/ {print $2}' "/proc/$server/status")
    taskset -c 0 .build/release/parley-bench --url "ws://127.0.0.1:$port/ws" --server-pid "$server" --warmup 2 \
        --json "$work/report.json" "${scenario[@]}" >/dev/null 2>&1 || true
    kill "$server"
    wait "$server" 2>/dev/null || true
    python3 - "$binary" "$work/report.json" "$baseline" "${scenario[@]}" <<'PY'
import json, sys
binary, path, baseline, scenario = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4:]
clients = int(scenario[scenario.index("--clients") + 1]) if "--clients" in scenario else 0
try:
    r = json.load(open(path))
except (OSError, ValueError):
    print(f"{binary}: no report"); sys.exit()
peak = r.get("serverPeakRSSKiB") or 0
per_client = f" ({(peak - baseline) / clients:.1f} KiB = {(peak - baseline) * 1024 / clients:,.0f} bytes per client)" if clients else ""
print(f"{binary}: {r['deliveriesPerSecond']:,.0f} deliveries/s, {r.get('serverCPUMicrosecondsPerDelivery') or 0:.2f} us/delivery, "
      f"p99 {r['latencyMilliseconds']['p99']:.1f} ms, peak RSS {peak:,} KiB{per_client}, "
      f"lost {r['lost']}, disconnects {r['disconnects']}, filled in {r.get('fillSeconds', 0):.1f} s, "
      f"{r.get('announcementsPerClientPerSecond', 0):.2f} presence/typing frames per client per second")
# Each thread's CPU per message sent (a change to one thread shows there first; the whole server's figure is noisier).
threads = sorted((r.get("serverThreadCPUSeconds") or {}).items(), key=lambda item: -item[1])[:4]
if threads and r["messagesSent"]:
    print("    us per message sent by thread: " + ", ".join(f"{name} {seconds * 1e6 / r['messagesSent']:.0f}" for name, seconds in threads))
PY
    rm -rf "$work"
done
