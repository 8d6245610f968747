#!/usr/bin/env bash
# The file system's floor under a cold round: Benchmarks/store-floor.sh NEW_DIR WORK [GROUP...]
#   NEW_DIR  a finished cold round's spool/new/ (the real article files and sizes)
#   WORK     a directory on the file system to measure (the bench keeps its state in /tmp)
#   GROUP    files per durable group (default: 0 = one syncfs at the end, and 100)
# Builds Benchmarks/store-floor.c with cc, then writes every file of NEW_DIR into
# WORK/floor-GROUP-K/tmp and renames it into .../new, durably, timing only that; no
# parsing, no article building, no feedspool. Prints files=N bytes=B group=G seconds=S and
# the process's user and system CPU. Each run writes a new directory (ext4 slows the
# allocation of inodes freed in the last minute); the directories are removed at the end.
set -euo pipefail
[ $# -ge 2 ] || { sed -n '2,10p' "$0"; exit 2; }
new=$1 work=$2
shift 2
groups=("$@")
[ ${#groups[@]} -gt 0 ] || groups=(0 100)
here=$(cd "$(dirname "$0")" && pwd)
bin=$(mktemp -d)
trap 'rm -rf "$bin"' EXIT
cc -O2 -o "$bin/store-floor" "$here/store-floor.c"
mkdir -p "$work"
made=()
for g in "${groups[@]}"; do
  dest="$work/floor-$g-$$-$RANDOM"
  made+=("$dest")
  sync
  sleep 2
  /usr/bin/time -f "user=%U sys=%S" "$bin/store-floor" "$new" "$dest" "$g" 2>&1
done
rm -rf "${made[@]}"
