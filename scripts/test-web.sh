#!/usr/bin/env bash
# Type-checks the web client, runs its unit tests with node's test runner, and checks that the committed bundle
# (web/dist and its embedded copy) is what the sources build to.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root/web"
tsc -p tsconfig.json
if grep -rn "innerHTML\|dangerouslySetInnerHTML" src; then
    echo "message text must stay text: no innerHTML or dangerouslySetInnerHTML in web/src" >&2
    exit 1
fi
out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT
for file in tests/*.test.ts; do
    NODE_PATH=/usr/share/nodejs esbuild "$file" --bundle --platform=node --format=cjs --log-level=warning \
        --outfile="$out/$(basename "${file%.ts}").js"
done
node --test "$out"/*.test.js
bash "$root/scripts/build-web.sh" --check
