#!/usr/bin/env bash
# What the product card costs a worker per 720p frame, against FFmpeg's drawtext drawing boxed
# text of the same size through libavfilter, in the same process on the same frames (issue 8,
# performance 1). Also: the blend alone per frame, a redraw (full, for an order, for the
# countdown's second), and a first render against a reused layout.
#
# The work is bench/overlay_bench.c (built by meson; see below); this script waits for a quiet
# machine, checks that the blend loop was vectorised, and prints the figures with what they were
# measured on. About 40 seconds. Every figure is CPU time of the benchmark's thread (the median
# of 5 runs, shopcast and drawtext interleaved), so other work on a shared machine disturbs it
# less than wall time, but not at all only on a quiet one.
#
# Build it with
#   meson setup build-bench --buildtype=release -Dbench=enabled && ninja -C build-bench bench/overlay_bench
# (any build dir with the unit tests and libavfilter-dev builds it too).
#
# Environment (defaults in brackets):
#   OVERLAY_BENCH_BIN [build-bench/bench/overlay_bench]
#   BENCH_PIN [1]: run on CPU 1 only (taskset), away from whatever the machine does on CPU 0
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init overlay_cost

BIN=${OVERLAY_BENCH_BIN:-$ROOT/build-bench/bench/overlay_bench}
PIN=${BENCH_PIN:-1}
check_uint PIN
[ -x "$BIN" ] || die "no $BIN: meson setup build-bench --buildtype=release -Dbench=enabled && ninja -C build-bench bench/overlay_bench"
BLEND_LIB=$(dirname "$BIN")/../overlay/liboverlay_blend.a
[ -f /usr/share/fonts/truetype/wqy/wqy-microhei.ttc ] || die "no WenQuanYi Micro Hei: scripts/deps.sh installs fonts-wqy-microhei"

run=("$BIN")
if [ "$PIN" = 1 ] && command -v taskset >/dev/null && [ "$(nproc)" -ge 2 ]; then
    run=(taskset -c 1 "$BIN")
fi

wait_for_quiet
echo "## overlay_cost.sh: the product card per 720p frame against drawtext ($(date -u +'%F %H:%M UTC'))"
echo
echo "- machine: $(lscpu | sed -n 's/^Model name: *//p'), $(nproc) CPUs, $(uname -r)"
echo "- checkout $(checkout_info); $BIN (sha256 $(sha256sum "$BIN" | cut -c1-12))"
echo "- libavfilter $(pkg-config --modversion libavfilter 2>/dev/null || echo '?'), pango $(pkg-config --modversion pango 2>/dev/null || echo '?'), cairo $(pkg-config --modversion cairo 2>/dev/null || echo '?'), $(gcc --version | head -n1)"
if [ -f "$BLEND_LIB" ]; then
    echo "- vectorised: $("$ROOT/tests/unit/overlay/check_vectorised.sh" "$BLEND_LIB" | tr '\n' ';' | sed 's/;$//; s/;/; /g')"
fi
echo "- load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
echo
read -r busy0 total0 < <(machine_busy)
"${run[@]}"
read -r busy1 total1 < <(machine_busy)
echo
echo "- load average after: $(cut -d' ' -f1-3 /proc/loadavg); machine busy during the run: $(( (busy1 - busy0) * 100 / (total1 - total0 > 0 ? total1 - total0 : 1) ))% of all CPUs (this benchmark alone is $((100 / $(nproc)))%)"
