#!/usr/bin/env bash
# Sets up a fresh Debian machine (Swift toolchain present) and runs the daemon on the
# sample config: spool in ./spool, state in ./state. Stop it with Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
Scripts/deps.sh
swift build -c release
exec .build/release/feedspool run --config Config/feedspool.yaml "$@"
