#!/usr/bin/env bash
# Installs the Debian 12 packages shopcast needs to build, run and test, if any are missing.
# Usage: scripts/deps.sh [run|test]   (test adds the test and benchmark tools)
set -euo pipefail

run_pkgs=(meson ninja-build pkg-config gcc libavformat-dev libavcodec-dev libavutil-dev
  libswscale-dev libwebsockets-dev libwebsockets-evlib-uv libhiredis-dev libuv1-dev
  libjansson-dev libinih-dev libssl-dev libcairo2-dev libpango1.0-dev fonts-dejavu-core
  fonts-wqy-microhei redis-server curl ca-certificates)
test_pkgs=(libcriterion-dev ffmpeg python3 python3-pytest clang libclang-rt-14-dev openssl
  clang-format chromium wrk time nginx libnginx-mod-rtmp)

pkgs=("${run_pkgs[@]}")
[ "${1:-run}" = test ] && pkgs+=("${test_pkgs[@]}")
# Node.js for the front-end packages (hls.js; playwright-core for the browser tests): whatever
# node the machine has, else Debian's.
command -v npm >/dev/null 2>&1 || pkgs+=(nodejs npm)

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "shopcast: installing ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Front-end packages, exactly as web/package-lock.json pins them (no browser download: the
# browser tests use Debian's chromium).
cd "$(dirname "$0")/../web"
if [ "${1:-run}" = test ]; then
  [ -d node_modules/playwright-core ] || npm ci --no-audit --no-fund --loglevel=error
else
  [ -f node_modules/hls.js/dist/hls.min.js ] || npm ci --omit=dev --no-audit --no-fund --loglevel=error
fi
