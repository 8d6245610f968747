#!/usr/bin/env bash
# Installs the Debian packages feedspool builds and tests with (idempotent).
set -euo pipefail
pkgs=(libcurl4-openssl-dev libxml2-dev libpsl-dev zlib1g-dev libbrotli-dev libzstd-dev pkg-config python3 python3-yaml systemd time)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
