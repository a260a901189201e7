#!/usr/bin/env bash
# CPU seconds per stream to make the HLS ladder: shopcast (720p and 360p at x264 veryfast, LL-HLS
# in RAM) against the ffmpeg CLI producing the same ladder as HLS from the same input, measured
# in the same run.
#
# Input for both: the pre-encoded 720p30 2.5 Mbit/s H.264 + AAC test clip (the same recipe and
# cache file as ingest_cpu.sh), published in real time over RTMP by
#   ffmpeg -re -stream_loop -1 -i CLIP -c copy -f flv rtmp://...
# The peer is an ffmpeg CLI that receives that RTMP stream itself (-listen 1) and runs
#   split -> [1280x720 as is | scale 640x360 bilinear] -> two libx264 veryfast tune zerolatency
#   encodes (2500k / 800k, maxrate = bufsize = bitrate, no B-frames, rc-lookahead 0, scenecut 0,
#   an IDR every 1 s), AAC copied, -f hls fMP4 with 1 s segments
# which are the encoder settings shopcast uses (relay/media/transcode.c). Each server's utime+stime
# (/proc/PID/stat, all threads) is read at the start and end of a BENCH_WINDOW-second window
# that starts BENCH_WARMUP seconds after the first HLS segments exist. A run counts only if the
# server kept up with real time (shopcast: API encoder_speed >= 0.9 on every rung and no dropped
# frames; ffmpeg: its -progress out_time advanced >= 90% of the window).
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-hlsbench/relay/shopcast]
#   BENCH_WARMUP   [10]   seconds after the first segments before the window
#   BENCH_WINDOW   [30]   measured seconds
#   BENCH_REPEAT   [2]    runs per server (alternating order); the table shows the median
#   BENCH_CLIP_S   [20]   length of the looped clip
#   BENCH_SHOPCAST_ARGS []  more shopcast options
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init transcode_cpu

WARMUP=${BENCH_WARMUP:-10}
WINDOW=${BENCH_WINDOW:-30}
REPEAT=${BENCH_REPEAT:-2}
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"
check_uint WARMUP WINDOW REPEAT
((WINDOW >= 5)) || die "BENCH_WINDOW must be at least 5"
((REPEAT >= 1 && REPEAT <= 10)) || die "BENCH_REPEAT must be 1..10"
need_tools ffmpeg ffprobe redis-server getconf
need_shopcast
need_libx264
TCK=$(getconf CLK_TCK)

# Sets CPU_S (server CPU seconds in the window), PUB_S, BUSY; SERVER_PID must be set
measure_window() {
    local t0 t1 p0 p1 b0 tot0 b1 tot1
    read -r b0 tot0 < <(machine_busy)
    t0=$(cpu_ticks "$SERVER_PID") || die "server gone before the window"
    p0=$(cpu_ticks "$PUB_PID") || die "publisher gone before the window"
    sleep "$WINDOW"
    t1=$(cpu_ticks "$SERVER_PID") || die "server gone during the window"
    p1=$(cpu_ticks "$PUB_PID") || die "publisher gone during the window"
    read -r b1 tot1 < <(machine_busy)
    CPU_S=$(awk -v t=$((t1 - t0)) -v k="$TCK" 'BEGIN { printf "%.2f", t / k }')
    PUB_S=$(awk -v t=$((p1 - p0)) -v k="$TCK" 'BEGIN { printf "%.2f", t / k }')
    BUSY=$(((b1 - b0) * 100 / (tot1 - tot0 > 0 ? tot1 - tot0 : 1)))
}

record() { # SERVER REP SPEED NOTE
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$WINDOW" "$CPU_S" "$PUB_S" "$BUSY" "$3" \
        "$(load1)" >>"$TMP/results.tsv"
    log "$1 run $2: ${CPU_S} CPU-s in ${WINDOW}s ($(awk -v c="$CPU_S" -v w="$WINDOW" \
        'BEGIN { printf "%.0f", c / w * 100 }')% of a core), speed $3; publisher ${PUB_S} CPU-s; machine busy ${BUSY}%; load1 $(load1)"
}

run_shopcast() { # REP
    local dir="$TMP/shopcast-$1" speeds ok
    mkdir -p "$dir"
    start_shopcast "$dir" --ladder 720p:2500k,360p:800k --x264-preset veryfast \
        --hls-segment-ms 1000 --hls-part-ms 333 --grace 2 "${SHOPCAST_ARGS[@]}"
    create_stream
    start_clip_publisher "$CLIP" "$dir/publisher.log" "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY"
    benchlib wait-media "http://127.0.0.1:$SC_HTTP/hls/$SC_ID/master.m3u8" 2 30 ||
        { tail -n 20 "$dir/shopcast.log" "$dir/publisher.log" >&2; die "shopcast: no HLS segments within 30 s"; }
    sleep "$WARMUP"
    SERVER_PID=$SC_PID
    measure_window
    benchlib renditions "$SC_HTTP" "$SC_ID" >"$dir/renditions.tsv" || die "shopcast: API has no renditions"
    speeds=$(awk -F'\t' '{ printf "%s%s=%sx", (NR > 1 ? "," : ""), $1, $2 }' "$dir/renditions.tsv")
    ok=$(awk -F'\t' '$2 < 0.9 || $5 > 0 || $6 != "True" { bad = 1 } END { print bad ? 0 : 1 }' "$dir/renditions.tsv")
    kill -0 "$PUB_PID" 2>/dev/null || ok=0
    if ((ok != 1)); then
        cat "$dir/renditions.tsv" >&2
        tail -n 20 "$dir/shopcast.log" >&2
        die "shopcast run $1 did not keep up with real time (or dropped frames); figures would be meaningless"
    fi
    record shopcast "$1" "$speeds"
    stop_and_forget "$PUB_PID" 10
    stop_and_forget "$SC_PID" 20
}

run_ffmpeg() { # REP
    local dir="$TMP/ffmpeg-$1" port pid o0 o1
    port=$(freeport)
    start_ffmpeg_ladder "$dir" "$port"
    pid=$FF_PID
    benchlib listening "$port" 10 || { cat "$dir/ffmpeg.log" >&2; die "ffmpeg -listen did not listen"; }
    start_clip_publisher "$CLIP" "$dir/publisher.log" "rtmp://127.0.0.1:$port/live/bench"
    local i
    for ((i = 0; i < 300; i++)); do
        [[ $(ls "$dir/hls/360p" 2>/dev/null | grep -c '^seg-') -ge 2 ]] && break
        kill -0 "$pid" 2>/dev/null || { tail -n 20 "$dir/ffmpeg.log" >&2; die "ffmpeg CLI exited"; }
        sleep 0.1
    done
    sleep "$WARMUP"
    SERVER_PID=$pid
    o0=$(progress_us "$dir/progress")
    measure_window
    o1=$(progress_us "$dir/progress")
    local speed
    speed=$(awk -v a="$o0" -v b="$o1" -v w="$WINDOW" 'BEGIN { printf "%.2fx", (b - a) / 1e6 / w }')
    if ! kill -0 "$pid" 2>/dev/null || (((o1 - o0) / 1000 < WINDOW * 900)); then
        tail -n 20 "$dir/ffmpeg.log" >&2
        die "ffmpeg CLI run $1 did not keep up with real time (speed $speed over the window)"
    fi
    record ffmpeg "$1" "speed=$speed"
    stop_and_forget "$PUB_PID" 10
    stop_and_forget "$pid" 20
}

# ---- main ----
log_versions
CLIP=$(test_clip)
log_clip "$CLIP"
wait_for_quiet
start_redis
: >"$TMP/results.tsv"
for ((rep = 1; rep <= REPEAT; rep++)); do
    if ((rep % 2)); then
        run_shopcast "$rep"
        run_ffmpeg "$rep"
    else
        run_ffmpeg "$rep"
        run_shopcast "$rep"
    fi
done
"$PY" - "$TMP/results.tsv" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
print()
print("| server | run | window s | CPU s | cores (CPU s / s) | speed | publisher CPU s | machine busy % | load1 at end |")
print("|---|---|---|---|---|---|---|---|---|")
med = {}
for srv in ("shopcast", "ffmpeg"):
    rs = [r for r in rows if r[0] == srv]
    for r in rs:
        print("| %s | %s | %s | %s | %.3f | %s | %s | %s | %s |" % (
            srv, r[1], r[2], r[3], float(r[3]) / float(r[2]), r[6], r[4], r[5], r[7]))
    if rs:
        med[srv] = statistics.median(float(r[3]) / float(r[2]) for r in rs)
print()
for srv, v in med.items():
    print("%s: median %.3f CPU-s per stream-second (%.1f CPU-s per stream-minute)" % (srv, v, v * 60))
if "shopcast" in med and "ffmpeg" in med:
    ratio = med["shopcast"] / med["ffmpeg"]
    print("shopcast/ffmpeg CPU ratio: %.2f  (goal <= 1.0: %s)" % (ratio, "met" if ratio <= 1.0 else "NOT met"))
EOF
