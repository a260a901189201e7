#!/usr/bin/env bash
# Runs every test: unit tests (plain and with ASan+UBSan), the fuzz target for a bounded time,
# and the integration tests (real shopcast built with sanitizers, real redis-server, real ffmpeg).
# Usage: scripts/test.sh          FUZZ_SECONDS=60 by default; SHOPCAST_TEST_REDIS=redis://... to
#                                 use a running Redis instead of starting one.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/deps.sh test

step() { printf '\n=== %s\n' "$*"; }

step "layout (which folder may include which)"
scripts/check-layout.sh

step "build (warnings are errors)"
# -Dtests=enabled: here a missing Criterion is an error, not a build without unit tests.
scripts/meson-setup.sh build -Dtests=enabled
meson configure build -Dwerror=true -Dtests=enabled
ninja -C build

step "unit tests"
meson test -C build --print-errorlogs

step "build with AddressSanitizer and UndefinedBehaviorSanitizer"
scripts/meson-setup.sh build-asan -Db_sanitize=address,undefined -Db_lundef=false -Dtests=enabled
meson configure build-asan -Dwerror=true -Dtests=enabled
ninja -C build-asan

step "unit tests under sanitizers"
meson test -C build-asan --print-errorlogs

step "fuzz (${FUZZ_SECONDS:-60} s)"
fuzz/run.sh "${FUZZ_SECONDS:-60}" > fuzz-run.log 2>&1 || { tail -40 fuzz-run.log; exit 1; }
tail -12 fuzz-run.log

step "integration tests (sanitized binary)"
export SHOPCAST_BIN="$PWD/build-asan/relay/shopcast"
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:halt_on_error=1"
export LSAN_OPTIONS="suppressions=$PWD/tests/lsan.supp:print_suppressions=0"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"
cd tests/integration
/usr/bin/python3 -m pytest -v -p no:cacheprovider
