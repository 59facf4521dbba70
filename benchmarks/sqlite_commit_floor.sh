#!/usr/bin/env bash
# The CPU one durable SQLite commit costs on this machine, without Parley (benchmarks/sqlite_commit_floor.c): the
# floor under Parley's server CPU per message in a small room, where every message is committed and synced before
# its ack. Runs the rates of issue 17's small rooms, on disk (beside this checkout, where `parley serve` keeps its
# database by default) and on tmpfs (/dev/shm: no device under the sync), pinned to core 1 as peers.sh pins servers.
#
#   bash benchmarks/sqlite_commit_floor.sh [ROUNDS]     (default 2)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-2}

missing=()
command -v cc >/dev/null || command -v clang >/dev/null || missing+=(gcc)
[ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
if [ ${#missing[@]} -gt 0 ]; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi
# Debian's cc, or the clang that comes with Swift.
compiler=$(command -v cc || command -v clang)

work=$(mktemp -d -p .)
trap 'rm -rf "$work" /dev/shm/parley-floor.*' EXIT
"$compiler" -O2 -o "$work/sqlite_commit_floor" benchmarks/sqlite_commit_floor.c -lsqlite3
pin=()
[ "$(nproc)" -gt 1 ] && pin=(taskset -c 1)

# COMMITS_PER_SECOND MESSAGES_PER_COMMIT: 100 msg/s and 1,000 msg/s one per commit, 1,000 msg/s two per commit (what
# Parley's writer gathers at that rate), and back to back.
cases=("100 1" "1000 1" "500 2" "0 1")
for round in $(seq "$rounds"); do
    for case in "${cases[@]}"; do
        read -r rate per_commit <<<"$case"
        commits=$(( rate == 0 ? 20000 : rate * 12 ))
        for place in disk tmpfs; do
            database="$work/floor.sqlite"
            [ "$place" = tmpfs ] && database="/dev/shm/parley-floor.$$.sqlite"
            rm -f "$database" "$database-wal" "$database-shm"
            printf '%-6s' "$place"
            "${pin[@]}" "$work/sqlite_commit_floor" "$database" "$rate" "$per_commit" "$commits"
            rm -f "$database" "$database-wal" "$database-shm"
        done
    done
done
