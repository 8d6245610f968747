#!/usr/bin/env bash
# One feedspool round for ../shared/bench's e2e_bench.sh (the OURS hook):
#   OURS='/path/to/Benchmarks/round.sh {urls} {state} {jobs}' ./e2e_bench.sh 2000
# Turns the URL list into a config (spool and state under STATE, JOBS transfers in
# flight and JOBS per origin, since every bench feed is on one loopback origin) and
# runs `feedspool run --once --force`, which prints stored=N.
set -euo pipefail
urls=$1 state=$2 jobs=${3:-8}
here=$(cd "$(dirname "$0")" && pwd)
bin=${FEEDSPOOL_BIN:-$here/../.build/release/feedspool}
mkdir -p "$state"
cfg=$state/feedspool.yaml
if [ ! -f "$cfg" ] || [ "$urls" -nt "$cfg" ]; then
  port=$(head -1 "$urls" | sed -n 's#^http://127.0.0.1:\([0-9]*\)/.*#\1#p')
  {
    echo "spool: $state/spool"
    echo "state: $state/state"
    echo "interval: 60m"
    echo "jobs: $jobs"
    echo "logLevel: error"
    echo "network:"
    echo "  perOrigin: $jobs"
    [ -n "$port" ] && echo "  allow: [\"127.0.0.1:$port\"]"
    echo "feeds:"
    sed 's/^/  - /' "$urls"
  } > "$cfg"
fi
exec "$bin" run --once --force --config "$cfg"
