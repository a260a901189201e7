#!/usr/bin/env bash
# Builds the libFuzzer target with clang and runs it for a bounded time; exits non-zero on a crash.
#
# Usage: fuzz/run.sh [SECONDS]       (default 60)
#   FUZZ_BUILD=dir   build directory (default build-fuzz)
# The run starts from a copy of fuzz/corpus/ in $FUZZ_BUILD/corpus-run, so new inputs it finds
# never touch the committed seeds; crash inputs are written to $FUZZ_BUILD/artifacts/. Replay one
# with: $FUZZ_BUILD/fuzz/fuzz_proto $FUZZ_BUILD/artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build=${FUZZ_BUILD:-build-fuzz}

# No unit tests here: they need Criterion and gcc-style sanitizer flags, not libFuzzer.
CC=clang scripts/meson-setup.sh "$build" -Dfuzz=true -Dtests=disabled -Dbuildtype=debugoptimized
ninja -C "$build" fuzz/fuzz_proto

mkdir -p "$build/corpus-run" "$build/artifacts"
for seed in fuzz/corpus/*; do # earlier finds stay: each run goes on from there
  [ -e "$build/corpus-run/${seed##*/}" ] || cp "$seed" "$build/corpus-run/"
done

# Leaks are reported too (detect_leaks): the proto code frees everything it allocates.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
# -max_len: enough for the recorded publish prefix in the corpus; -timeout: a hang is a bug too.
status=0
"$build/fuzz/fuzz_proto" -max_total_time="$seconds" -max_len=8192 -timeout=10 -rss_limit_mb=2048 \
  -dict=fuzz/proto.dict -print_final_stats=1 -artifact_prefix="$build/artifacts/" "$build/corpus-run" || status=$?
if [ "$status" -ne 0 ]; then
  echo "fuzz/run.sh: fuzz_proto failed (exit $status); inputs in $build/artifacts/:" >&2
  ls -l "$build/artifacts/" >&2
fi
exit "$status"
