#!/usr/bin/env bash
# Installs the Debian 12 packages shopcast needs to build, run and test, if any are missing.
# Usage: scripts/deps.sh [run|test]   (test adds the test and benchmark tools)
set -euo pipefail

run_pkgs=(meson ninja-build pkg-config gcc libavformat-dev libavcodec-dev libavutil-dev
  libswscale-dev libwebsockets-dev libwebsockets-evlib-uv libhiredis-dev libuv1-dev
  libjansson-dev libinih-dev libssl-dev libcairo2-dev libpango1.0-dev fonts-dejavu-core
  fonts-wqy-microhei redis-server curl ca-certificates)
test_pkgs=(libcriterion-dev ffmpeg python3 python3-pytest clang libclang-rt-14-dev openssl
  clang-format chromium wrk time nginx libnginx-mod-rtmp libavfilter-dev python3-websockets
  python3-prometheus-client)

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
  # An install that was interrupted (Ctrl-C in an earlier run) is finished first, as apt asks.
  $SUDO dpkg --configure -a
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
  # nginx is here for the edge-cache test, which runs its own; Debian's package would also start
  # and enable a system nginx on port 80.
  if [[ " ${missing[*]} " == *" nginx "* ]] && [ -d /run/systemd/system ]; then
    $SUDO systemctl disable --now nginx >/dev/null 2>&1 || true
  fi
fi

# Front-end packages, exactly as web/package-lock.json pins them (no browser download: the
# browser tests use Debian's chromium). A stamp records what the last complete `npm ci` installed,
# so an interrupted install, or a changed lock file, is installed again.
cd "$(dirname "$0")/../web"
mode=${1:-run}
want="$mode $(sha256sum package-lock.json | cut -d' ' -f1)"
have=$(cat node_modules/.shopcast-installed 2>/dev/null || true)
if [ "$have" != "$want" ] && [ "$have" != "test ${want#* }" ]; then # a test install serves run too
  omit=()
  [ "$mode" = test ] || omit=(--omit=dev)
  npm ci "${omit[@]}" --no-audit --no-fund --loglevel=error
  echo "$want" >node_modules/.shopcast-installed
fi
