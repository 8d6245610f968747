#!/usr/bin/env bash
# Deduplication at scale (issue 8): a spool whose seen table already holds N URLs.
#   Benchmarks/dedup.sh [N] [LOOKUPS] [DIR]
# Prints, for N URLs delivered (default 10,000,000):
#   - the seen table's size on disk per URL;
#   - opening the spool (in process) and lookups per second (half of them hits);
#   - the daemon's start-up on that state: `feedspool run --once` with no feeds,
#     wall time and peak RSS from /usr/bin/time.
# The table is filled once (about 13 s for 10M here) and reused by later runs in DIR.
set -euo pipefail
n=${1:-10000000}
lookups=${2:-2000000}
dir=${3:-${TMPDIR:-/tmp}/feedspool-dedup-bench}
here=$(cd "$(dirname "$0")" && pwd)
bin=${FEEDSPOOL_BIN:-$here/../.build/release/feedspool}
mkdir -p "$dir"
"$bin" bench-seen --spool "$dir/spool" --state "$dir/state" --urls "$n" --lookups "$lookups"
printf 'spool: %s\nstate: %s\nfeeds: []\nlogLevel: error\n' "$dir/spool" "$dir/state" > "$dir/feedspool.yaml"
for i in 1 2 3; do
  /usr/bin/time -f "startup_wall_s=%e startup_peak_rss_kb=%M" "$bin" run --once --config "$dir/feedspool.yaml" >/dev/null
done
