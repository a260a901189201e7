#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs them for a bounded time in all; exits non-zero
# on a crash.
#
# Usage: fuzz/run.sh [SECONDS]       (default 60, shared between the targets)
#   FUZZ_BUILD=dir   build directory (default build-fuzz)
# Each target starts from a copy of its seeds (fuzz/corpus/ for fuzz_proto, fuzz/corpus-NAME/
# for fuzz_NAME) in $FUZZ_BUILD/corpus-run[-NAME], so new inputs it finds never touch the
# committed seeds; crash inputs are written to $FUZZ_BUILD/artifacts/. Replay one with:
# $FUZZ_BUILD/fuzz/fuzz_proto $FUZZ_BUILD/artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build=${FUZZ_BUILD:-build-fuzz}

# target, share of the time (%), seeds, run corpus, dictionary, -max_len: one row per target.
# fuzz_proto's max_len is enough for the recorded publish prefix in its corpus.
targets=(
  "fuzz_proto 75 fuzz/corpus corpus-run fuzz/proto.dict 8192"
  "fuzz_orders 25 fuzz/corpus-orders corpus-run-orders fuzz/orders.dict 8192"
)

# No unit tests here: they need Criterion and gcc-style sanitizer flags, not libFuzzer.
CC=clang scripts/meson-setup.sh "$build" -Dfuzz=true -Dtests=disabled -Dbuildtype=debugoptimized
for t in "${targets[@]}"; do
  read -r name _ <<<"$t"
  ninja -C "$build" "fuzz/$name"
done

# Leaks are reported too (detect_leaks): the code under test frees everything it allocates.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  read -r name share seeds run dict max_len <<<"$t"
  mkdir -p "$build/$run"
  for seed in "$seeds"/*; do # earlier finds stay: each run goes on from there
    [ -e "$build/$run/${seed##*/}" ] || cp "$seed" "$build/$run/"
  done
  secs=$((seconds * share / 100))
  [ "$secs" -ge 1 ] || secs=1
  echo "fuzz/run.sh: $name for $secs s"
  # -timeout: a hang is a bug too.
  "$build/fuzz/$name" -max_total_time="$secs" -max_len="$max_len" -timeout=10 -rss_limit_mb=2048 \
    -dict="$dict" -print_final_stats=1 -artifact_prefix="$build/artifacts/" "$build/$run" || {
    rc=$?
    echo "fuzz/run.sh: $name failed (exit $rc); inputs in $build/artifacts/:" >&2
    ls -l "$build/artifacts/" >&2
    status=$rc
  }
done
exit "$status"
