#!/usr/bin/env bash
# Installs the Debian 12 packages shopcast needs to build, run and test, if any are missing.
# Usage: scripts/deps.sh [run|test]   (test adds the test and benchmark tools)
set -euo pipefail

run_pkgs=(meson ninja-build pkg-config gcc libavformat-dev libavcodec-dev libavutil-dev
  libswscale-dev libwebsockets-dev libwebsockets-evlib-uv libhiredis-dev libuv1-dev
  libjansson-dev libinih-dev libssl-dev libcairo2-dev libpango1.0-dev fonts-dejavu-core
  fonts-wqy-microhei redis-server curl ca-certificates)
test_pkgs=(libcriterion-dev ffmpeg python3 python3-pytest clang libclang-rt-14-dev openssl
  clang-format chromium wrk time)

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
# browser tests use Debian's chromium). Installed again when one is missing or pinned to another
# version than the one in node_modules (test: the devDependencies too: playwright-core, the other
# players, hls-parser).
cd "$(dirname "$0")/../web"
installed() { # every package of these package.json sections, at its pinned version
  node -e 'const p = require("./package.json");
    for (const s of process.argv.slice(1))
      for (const [n, v] of Object.entries(p[s] || {}))
        if (require("./node_modules/" + n + "/package.json").version !== v) process.exit(1);' \
    "$@" 2>/dev/null
}
if [ "${1:-run}" = test ]; then
  installed dependencies devDependencies || npm ci --no-audit --no-fund --loglevel=error
else
  installed dependencies || npm ci --omit=dev --no-audit --no-fund --loglevel=error
fi
