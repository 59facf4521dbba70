#!/usr/bin/env bash
# Fan-out on this machine: parley-bench on core 0 against parley serve on core 1, and the server's CPU time per
# delivery from /proc. Usage: benchmarks/fanout.sh CLIENTS SENDERS RATE [DURATION]   (RATE 0 = closed loop)
set -euo pipefail
cd "$(dirname "$0")/.."
clients=${1:-1000} senders=${2:-10} rate=${3:-100} duration=${4:-10}
db="$(mktemp -d)/bench.sqlite"
port=$((20000 + RANDOM % 20000))
taskset -c 1 .build/release/parley serve --port "$port" --db "$db" --rate-limit 0 --max-connections-per-ip 0 \
    --log-level warning > /dev/null &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null || true' EXIT
sleep 1
ticks() { awk '{print $14 + $15}' "/proc/$server/stat"; }
report="$(mktemp)"
before=$(ticks)
taskset -c 0 .build/release/parley-bench --url "ws://127.0.0.1:$port/ws" --clients "$clients" --senders "$senders" \
    --rate "$rate" --duration "$duration" --warmup 2 --json "$report" 2>/dev/null
after=$(ticks)
hz=$(getconf CLK_TCK)
python3 - "$report" "$before" "$after" "$hz" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
before, after, hz = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
cpu = (after - before) / hz
total = report["deliveries"]
print(f"{report['clients']} clients, {report['senders']} senders, rate {report['targetRate'] or 'closed loop'}: "
      f"{report['deliveriesPerSecond']:,.0f} deliveries/s, p50 {report['latencyMilliseconds']['p50']:.2f} ms, "
      f"p99 {report['latencyMilliseconds']['p99']:.2f} ms, p99.9 {report['latencyMilliseconds']['p999']:.2f} ms, "
      f"lost {report['lost']}, dup {report['duplicated']}, server CPU {cpu:.1f} s "
      f"(whole run incl. connect and warm-up) = {cpu / max(total, 1) * 1e6:.2f} us per measured delivery")
PY
