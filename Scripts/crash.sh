#!/usr/bin/env bash
# Runs the kill -9 crash-safety test (Scripts/crash.py) against a release build,
# building it when missing or older than the sources. Arguments go to crash.py
# (--kills N, --mode once|daemon, --seed S, ...). Exit 1 when a check fails.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! python3 -c 'import yaml' 2>/dev/null; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends python3-yaml
fi
bin=.build/release/feedspool
if [ ! -x "$bin" ] || [ -n "$(find Sources Package.swift -newer "$bin" -print -quit)" ]; then
  swift build -c release >&2
fi
exec python3 Scripts/crash.py --binary "$bin" "$@"
