#!/usr/bin/env bash
# The unit's exposure as systemd measures it; fails above 1.5.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(systemd-analyze security --offline=yes systemd/feedspool.service 2>&1)
score=$(printf '%s\n' "$out" | sed -n 's/.*Overall exposure level for feedspool.service: \([0-9.]*\).*/\1/p')
echo "systemd exposure: ${score:-unknown}"
[ -n "$score" ] && awk -v s="$score" 'BEGIN { exit !(s <= 1.5) }'
