#!/usr/bin/env bash
# Runs Parley's whole test suite: the web client's unit tests, Swift unit and live-server tests, then end-to-end
# tests of the real binary (with the web client in headless Chromium, and clusters of nodes on PostgreSQL behind
# nginx).
# Installs what it needs first (Debian packages, a Python venv) and starts PostgreSQL, so it works on a fresh
# machine (as root, as CI runs it).
set -euo pipefail
cd "$(dirname "$0")/.."

missing=()
[ -f /usr/include/sqlite3.h ] || missing+=(libsqlite3-dev)
python3 -c 'import ensurepip, venv' 2>/dev/null || missing+=(python3-venv)
# The web client's toolchain and the browser its tests drive, all from Debian (there is no npm registry here).
# PostgreSQL and nginx for the cluster tests.
for package in node-react node-react-dom esbuild node-typescript chromium chromium-driver fonts-liberation postgresql nginx; do
    dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
    echo "==> installing ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
fi

echo "==> PostgreSQL for the cluster tests (a role that may create the tests' databases)"
pg_version=$(ls /usr/lib/postgresql | sort -V | tail -1)
pg_ctlcluster "$pg_version" main status >/dev/null 2>&1 || pg_ctlcluster "$pg_version" main start
for _ in $(seq 1 30); do runuser -u postgres -- pg_isready -q && break; sleep 1; done
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c "DO \$\$ BEGIN
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'parley_test') THEN
        CREATE ROLE parley_test LOGIN CREATEDB PASSWORD 'parley_test';
    END IF;
END \$\$;"
# DROP DATABASE … WITH (FORCE) must also end an autovacuum worker that happens to be in the test's database: that
# takes pg_signal_backend (without it the drop fails, now and then, with "must be a member of the role whose
# process is being terminated").
runuser -u postgres -- psql -q -v ON_ERROR_STOP=1 -c "SET client_min_messages = warning" -c "GRANT pg_signal_backend TO parley_test"
export PARLEY_TEST_POSTGRES=postgres://parley_test:parley_test@127.0.0.1:5432/postgres

echo "==> Python environment for the end-to-end tests"
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q --disable-pip-version-check -r tests/e2e/requirements.txt

echo "==> web client: type-check, unit tests, committed bundle up to date"
bash scripts/test-web.sh

echo "==> the committed OpenAPI document is the one the server serves"
bash scripts/embed-openapi.sh --check

echo "==> Swift formatting (scripts/format.sh fixes what this finds)"
bash scripts/format.sh --check

echo "==> swift build"
swift build --build-tests

echo "==> swift test"
swift test --skip-build

echo "==> end-to-end tests of the parley binary, the web client in headless Chromium included"
PARLEY_BIN="$PWD/.build/debug/parley" .venv/bin/python -m pytest -q tests/e2e
