#!/usr/bin/env bash
# Formats every Swift file with swift-format and the project's .swift-format (the test suite fails on any file it
# would change). With --check, changes nothing and fails listing what is not formatted.
set -euo pipefail
cd "$(dirname "$0")/.."
# The embedded web client and OpenAPI document are generated (scripts/build-web.sh, scripts/embed-openapi.sh) and
# left as generated.
mapfile -d '' files < <(find Package.swift Sources Tests -name '*.swift' ! -name EmbeddedWebClient.swift ! -name OpenAPIDocument.swift -print0 | sort -z)
if [ "${1:-}" = "--check" ]; then
    swift format lint --strict --configuration .swift-format "${files[@]}"
else
    swift format format --in-place --configuration .swift-format "${files[@]}"
fi
