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
# Robustness against the shared hostile server and kill -9 at random instants
# (both need ../shared beside the repo, as in CI).
if [ -d "${FEEDSPOOL_SHARED:-../shared}/hostile" ]; then
  python3 Scripts/hostile.py --binary .build/debug/feedspool
  python3 Scripts/crash.py --binary .build/debug/feedspool --kills 200
else
  echo "skipped: hostile and crash harnesses (no ../shared/hostile)"
fi
