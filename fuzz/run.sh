#!/usr/bin/env bash
# Builds the libFuzzer targets with clang and runs each for a share of a bounded time; exits
# non-zero on a crash.
#
# Usage: fuzz/run.sh [SECONDS]       (default 60, split between the targets)
#   FUZZ_BUILD=dir     build directory (default build-fuzz)
#   FUZZ_TARGETS="..." which targets (default: all of them, see below)
# Each target starts from a copy of its seeds, fuzz/corpus/<target>/, in
# $FUZZ_BUILD/corpus-run/<target>, so new inputs it finds never touch the committed seeds; crash
# inputs are written to $FUZZ_BUILD/artifacts/. Replay one with:
#   $FUZZ_BUILD/fuzz/fuzz_<target> $FUZZ_BUILD/artifacts/crash-...
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${1:-60}
build=${FUZZ_BUILD:-build-fuzz}
# target: -max_len (enough for its seeds: the recorded publish prefix, a body, a small picture;
# signal: a little over the 4,096 bytes a client message may have)
declare -A max_len=([proto]=8192 [catalog]=4096 [image]=65536 [orders]=8192 [signal]=4200)
read -r -a targets <<< "${FUZZ_TARGETS:-proto catalog image orders signal}"
share=$(( seconds / ${#targets[@]} ))
(( share >= 1 )) || share=1

# No unit tests here: they need Criterion and gcc-style sanitizer flags, not libFuzzer.
CC=clang scripts/meson-setup.sh "$build" -Dfuzz=true -Dtests=disabled -Dbuildtype=debugoptimized
ninja -C "$build" "${targets[@]/#/fuzz/fuzz_}"

# Leaks are reported too (detect_leaks): the code under test frees everything it allocates.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
mkdir -p "$build/artifacts"
status=0
for t in "${targets[@]}"; do
  run="$build/corpus-run/$t"
  mkdir -p "$run"
  for seed in fuzz/corpus/"$t"/*; do # earlier finds stay: each run goes on from there
    [ -e "$run/${seed##*/}" ] || cp "$seed" "$run/"
  done
  dict=()
  [ -f "fuzz/$t.dict" ] && dict=(-dict="fuzz/$t.dict")
  echo "fuzz/run.sh: fuzz_$t for $share s"
  # -timeout: a hang is a bug too.
  "$build/fuzz/fuzz_$t" -max_total_time="$share" -max_len="${max_len[$t]:-8192}" -timeout=10 \
    -rss_limit_mb=2048 "${dict[@]}" -print_final_stats=1 -artifact_prefix="$build/artifacts/" \
    "$run" || { rc=$?; status=$rc; echo "fuzz/run.sh: fuzz_$t failed (exit $rc)" >&2; }
done
if [ "$status" -ne 0 ]; then
  echo "fuzz/run.sh: inputs in $build/artifacts/:" >&2
  ls -l "$build/artifacts/" >&2
fi
exit "$status"
