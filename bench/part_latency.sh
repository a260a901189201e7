#!/usr/bin/env bash
# LL-HLS part-ready latency: how soon after its media arrives a part can be downloaded.
# The goal is the peer here: p95 <= part duration + 100 ms; the script prints p95 / goal.
#
# shopcast runs the default ladder (720p:2500k, 360p:800k, veryfast, 1 s segments, 333 ms parts);
# bench/lib/clockgen.py (a "camera" that draws the wall clock into every frame) is encoded by
# ffmpeg (libx264 veryfast, tune zerolatency, -g 30) and published in real time for
# BENCH_WARMUP + BENCH_SECONDS (+ a margin). Two views of the same parts:
#  1. shopcast's own figure: GET /api/v1/streams/<id> -> renditions[].part_ready_ms {p50, p95},
#     measured from the RTMP arrival of the source packet of the part's LAST frame to the part
#     being in the window (over the last 128 parts). Polled every 10 s; the table shows the end.
#  2. an independent client (bench/lib/part_probe.py), per rung: blocking playlist reloads
#     (_HLS_msn/_HLS_part) and EXT-X-PRELOAD-HINT part fetches, held by the server until the part
#     exists, record when each part's bytes were received in full. That is compared with the
#     part's PROGRAM-DATE-TIME (+ offset in its segment). shopcast anchors PDT to the wall clock
#     when its packager sees the first frame, so PDT already includes the pipeline delay at that
#     moment; the script measures that delay (PDT - the clock read from the first frame of a few
#     segments, decoded with the ffmpeg CLI) and adds it back, giving latency from the moment the
#     frame was made ("capture"), which also includes the publisher's own encoding and RTMP.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-hlsbench/relay/shopcast]
#   BENCH_WARMUP   [5]    seconds after the first segments before measuring
#   BENCH_SECONDS  [60]   seconds measured
#   BENCH_SHOPCAST_ARGS []  more shopcast options (e.g. "--hls-part-ms 200")
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init part_latency

WARMUP=${BENCH_WARMUP:-5}
SECONDS_=${BENCH_SECONDS:-60}
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"
check_uint WARMUP SECONDS_
((SECONDS_ >= 10)) || die "BENCH_SECONDS must be at least 10"
need_tools ffmpeg redis-server
need_shopcast
PUB_SECONDS=$((WARMUP + SECONDS_ + 60))

log_versions
wait_for_quiet
start_redis
DIR="$TMP/shopcast"
mkdir -p "$DIR"
start_shopcast "$DIR" --ladder 720p:2500k,360p:800k --x264-preset veryfast \
    --hls-segment-ms 1000 --hls-part-ms 333 --grace 5 "${SHOPCAST_ARGS[@]}"
create_stream
BASE="http://127.0.0.1:$SC_HTTP/hls/$SC_ID"
start_clock_publisher "$DIR" "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY"
benchlib wait-media "$BASE/master.m3u8" 2 30 ||
    { tail -n 30 "$DIR/shopcast.log" "$DIR/publisher.log" >&2; die "no HLS segments within 30 s"; }
sleep "$WARMUP"
benchlib get "$BASE/720p/media.m3u8" >"$DIR/media.m3u8" || true

# API poller: every 10 s while the client runs (bounded)
(
    for ((i = 1; i <= SECONDS_ / 10; i++)); do
        sleep 10
        benchlib renditions "$SC_HTTP" "$SC_ID" 2>/dev/null | sed "s/^/$((i * 10))\t/" >>"$DIR/api.tsv" || true
    done
) &
POLLER=$!
PIDS+=("$POLLER")

read -r B0 T0 < <(machine_busy)
L0=$(load1)
log "following the live edge of 720p and 360p for ${SECONDS_}s (blocking reloads + preload hints)"
"$PY" "$HERE/lib/part_probe.py" "$BASE" 720p,360p "$SECONDS_" "$DIR/parts.tsv" ||
    die "the part probe failed"
read -r B1 T1 < <(machine_busy)
BUSY=$(((B1 - B0) * 100 / (T1 - T0 > 0 ? T1 - T0 : 1)))
wait "$POLLER" 2>/dev/null || true
forget_pid "$POLLER"
benchlib renditions "$SC_HTTP" "$SC_ID" >"$DIR/api-final.tsv" || true
check_clock_publisher shopcast "$DIR"
log "reading the wall clock from the first frame of a few segments (PDT anchor)"
{
    "$PY" "$HERE/lib/part_probe.py" bias "$BASE" 720p 6
    "$PY" "$HERE/lib/part_probe.py" bias "$BASE" 360p 3
} >"$DIR/bias.tsv" || true
stop_clock_publisher
stop_and_forget "$SC_PID" 20

"$PY" - "$DIR" "$BUSY" "$L0" "$(load1)" "$(cat "$DIR/clockgen.stats" 2>/dev/null || echo '? ? ?')" <<'EOF'
import os, re, statistics, sys
d, busy, l0, l1, cam = sys.argv[1:6]
def pct(v, p):
    v = sorted(v)
    if not v:
        return float("nan")
    return v[max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))]
rows = [l.split("\t") for l in open(os.path.join(d, "parts.tsv")) if l.strip()]
bias = [float(l.split("\t")[3]) for l in open(os.path.join(d, "bias.tsv")) if l.strip()]
b = statistics.median(bias) if bias else None
api = {}
for l in open(os.path.join(d, "api-final.tsv")):
    f = l.rstrip("\n").split("\t")
    api[f[0]] = f
hist = {}
if os.path.exists(os.path.join(d, "api.tsv")):
    for l in open(os.path.join(d, "api.tsv")):
        f = l.rstrip("\n").split("\t")
        hist.setdefault(f[1], []).append(float(f[4]))
pl = open(os.path.join(d, "media.m3u8")).read()
m = re.search(r"PART-TARGET=([0-9.]+)", pl)
part_ms = float(m.group(1)) * 1000 if m else 333.0
goal = part_ms + 100
frame_ms = 1000 / 30
print()
print("PDT anchor (PDT - capture clock of the segment's first frame): %s" % (
    "median %.0f ms over %d segments (range %.0f..%.0f)" % (b, len(bias), min(bias), max(bias)) if bias else "not measured"))
print()
print("| rung | parts | API part_ready p50 / p95 ms (last frame's RTMP arrival -> in window) "
      "| client: hint part received, after part end by PDT, p50 / p95 ms | client: playlist listing it, p50 / p95 ms "
      "| client: from capture of the part's last frame p50 / p95 ms | client: from capture of the part's first frame p50 / p95 ms |")
print("|---|---|---|---|---|---|---|")
out = {}
for rung in ("720p", "360p"):
    rs = [r for r in rows if r[0] == rung]
    ok = [r for r in rs if float(r[5]) > 0]
    end = [float(r[5]) - (float(r[3]) + float(r[4])) for r in ok]
    plv = [float(r[6]) - (float(r[3]) + float(r[4])) for r in rs if float(r[6]) > 0]
    last = [e + frame_ms + b for e in end] if b is not None else []
    first = [float(r[5]) - float(r[3]) + b for r in ok] if b is not None else []
    a = api.get(rung, [rung, "?", "nan", "nan"])
    out[rung] = (float(a[3]), pct(last, 95) if last else None, pct(first, 95) if first else None)
    f = lambda v: "%.0f / %.0f" % (pct(v, 50), pct(v, 95)) if v else "-"
    print("| %s | %d | %.0f / %.0f | %s | %s | %s | %s |" % (
        rung, len(rs), float(a[2]), float(a[3]), f(end), f(plv), f(last), f(first)))
print()
for rung, v in hist.items():
    print("API part_ready p95 of %s every 10 s: %s" % (rung, " ".join("%.0f" % x for x in v)))
print("encoder_speed at the end: %s" % ", ".join("%s %sx" % (k, v[1]) for k, v in api.items()))
c = cam.split()
print("machine busy %s%% during the probe; load1 %s at start, %s at end; camera frames late %s of %s (max %s ms)" % (
    busy, l0, l1, c[1], c[0], c[2] if len(c) > 2 else "?"))
print()
print("goal: p95 <= part duration + 100 ms = %.0f ms" % goal)
for rung, (ap, last, first) in out.items():
    # The API times a part from its last frame's arrival; the goal is per frame, and the part's
    # first frame also waits for the rest of the part to arrive.
    worst = ap + part_ms - frame_ms
    print("  %s: API p95 %.0f ms + the part's other frames %.0f ms = %.0f ms -> ratio %.2f (%s)" % (
        rung, ap, part_ms - frame_ms, worst, worst / goal, "met" if worst <= goal else "NOT met"), end="")
    if first is not None:
        print("; client, from capture of the part's first frame: p95 %.0f ms -> ratio %.2f (%s)" % (
            first, first / goal, "met" if first <= goal else "NOT met"))
    else:
        print()
EOF
