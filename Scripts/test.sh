#!/usr/bin/env bash
# Installs what the tests need, builds with no warnings allowed in our code, lints,
# and runs every test (unit, loopback HTTP, end to end with check_spool.py).
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/deps.sh
log=$(mktemp)
swift build --build-tests 2>&1 | tee "$log"
if grep -E "^/.*/(Sources|Tests)/.*: warning:" "$log" | grep -v "/.build/" ; then
  echo "error: the build has warnings (see above)" >&2
  exit 1
fi
rm -f "$log"
swift format lint --strict -r Sources Tests Package.swift
Scripts/check-service.sh
swift test --skip-build
