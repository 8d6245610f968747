#!/usr/bin/env bash
# Runs the hostile-input harness (Scripts/hostile.py) against a release build:
# builds it when missing or older than the sources, installs GNU time and PyYAML
# when missing. Arguments go to hostile.py (see --help). Exit 1 when a case fails.
set -euo pipefail
cd "$(dirname "$0")/.."
need=()
[ -x /usr/bin/time ] || need+=(time)
python3 -c 'import yaml' 2>/dev/null || need+=(python3-yaml)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
bin=.build/release/feedspool
if [ ! -x "$bin" ] || [ -n "$(find Sources Package.swift -newer "$bin" -print -quit)" ]; then
  swift build -c release >&2
fi
exec python3 Scripts/hostile.py --binary "$bin" "$@"
