#!/usr/bin/env bash
# The cold round's CPU work without network or spool (issue 8): every feed document of a
# bench corpus parsed and every item made into its article file, on one thread.
#   Benchmarks/build.sh CORPUS_DIR [REPS] [BINARY...]
# CORPUS_DIR is one of ../shared/bench's generated corpora (its feeds/ directory is read;
# the .gz copies are skipped). Each binary (default: this checkout's release build) runs
# REPS times (default 3), alternating, and prints the seconds of each run, their median,
# microseconds per article and a digest of every file name and file written: two builds
# with the same digest made the same article files byte for byte.
set -euo pipefail
corpus=${1:?usage: build.sh CORPUS_DIR [REPS] [BINARY...]}
reps=${2:-3}
shift $(( $# >= 2 ? 2 : 1 ))
here=$(cd "$(dirname "$0")" && pwd)
bins=("$@")
[ ${#bins[@]} -gt 0 ] || bins=("$here/../.build/release/feedspool")
list=$(mktemp)
trap 'rm -f "$list"' EXIT
find "$(cd "$corpus" && pwd)/feeds" -type f ! -name '*.gz' | sort > "$list"
declare -A times digests
for ((r = 1; r <= reps; r++)); do
  for b in "${bins[@]}"; do
    out=$("$b" bench-build --list "$list" --digest)
    s=$(sed -n 's/^seconds=//p' <<< "$out")
    times[$b]="${times[$b]:-} $s"
    digests[$b]=$(sed -n 's/.*digest=//p' <<< "$out")
    echo "$b rep $r: ${s}s $(grep -E '^(feeds|us_per)' <<< "$out" | tr '\n' ' ')" >&2
  done
done
for b in "${bins[@]}"; do
  median=$(tr ' ' '\n' <<< "${times[$b]}" | grep . | sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')
  echo "$b: median ${median}s over $reps (${times[$b]# }) digest ${digests[$b]}"
done
