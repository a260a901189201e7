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
# which are the encoder settings shopcast uses (relay/media/transcode.c). shopcast runs as it
# ships: its default segment and part lengths, with the product card on screen (a pinned product
# with its picture and a running flash sale's countdown, benchlib card). Both servers run at the
# same time, each with its own publisher (0.4 of a core each here), so that both see the same
# host: run one after the other, the host's drift from minute to minute (10-20 % on a VM with
# neighbours) went into the ratio. Each server's CPU time (the scheduler's ns,
# /proc/PID/task/*/schedstat, all threads) is read at the start and end of one BENCH_WINDOW-second
# window that starts BENCH_WARMUP seconds after both have HLS segments. A run counts only if the server kept up with real time (shopcast: API encoder_speed
# >= 0.9 on every rung and no dropped frames; ffmpeg: its -progress out_time advanced >= 90% of
# the window).
#
# Where the CPU goes: during the window `perf record -e cpu-clock` samples each server (all its
# threads, 499 Hz), and the samples are split by the library they fell in. libx264's share is
# the encoders' own work, the floor neither server can go under; the rest (decoding in
# libavcodec, scaling in libswscale, the card, packaging, the kernel, ...) is what a server adds.
# The kernel's samples are all counted as the server's, x264's thread wake-ups among them.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-hlsbench/relay/shopcast]
#   BENCH_WARMUP   [10]   seconds after the first segments before the window
#   BENCH_WINDOW   [30]   measured seconds
#   BENCH_REPEAT   [3]    runs (which server starts first alternates); the table shows the median
#   BENCH_CLIP_S   [20]   length of the looped clip
#   BENCH_SHOPCAST_ARGS []  more shopcast options
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_PROFILE  [1]    0: no perf sampling (no split of the CPU by library)
#   BENCH_KEEP_TMP [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init transcode_cpu

WARMUP=${BENCH_WARMUP:-10}
PROFILE=${BENCH_PROFILE:-1}
WINDOW=${BENCH_WINDOW:-30}
REPEAT=${BENCH_REPEAT:-3}
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"
check_uint WARMUP WINDOW REPEAT
((WINDOW >= 5)) || die "BENCH_WINDOW must be at least 5"
((REPEAT >= 1 && REPEAT <= 10)) || die "BENCH_REPEAT must be 1..10"
need_tools ffmpeg ffprobe redis-server getconf
need_shopcast
need_libx264
if ((PROFILE)); then
    need_tools --hint "Debian: apt-get install linux-perf" perf
    perf stat -e cpu-clock true >/dev/null 2>&1 || die "perf cannot sample here (BENCH_PROFILE=0 to skip)"
fi

# Both servers are measured over the same window, each with its own publisher: the host's speed
# drifts by 10-20 % from one minute to the next (a VM with neighbours), and a run of one server
# after the other put that drift into the ratio. Sets CPU_S[server], PUB_S[server], BUSY, and
# with PROFILE the files DIR/perf.data; SERVER_PIDS[server] and PUBLISHERS[server] must be set.
declare -A SERVER_PIDS PUBLISHERS DIRS CPU_S PUB_S
measure_window() {
    local s b0 tot0 b1 tot1 perf_pids=()
    local -A t0 p0
    read -r b0 tot0 < <(machine_busy)
    if ((PROFILE)); then
        for s in shopcast ffmpeg; do
            perf record -q -e cpu-clock -F 499 -p "${SERVER_PIDS[$s]}" -o "${DIRS[$s]}/perf.data" \
                >"${DIRS[$s]}/perf.log" 2>&1 &
            perf_pids+=($!)
            PIDS+=($!)
        done
        sleep 0.5 # perf attaches to every thread before the window opens
    fi
    for s in shopcast ffmpeg; do
        sum_ns "${SERVER_PIDS[$s]}" || die "$s gone before the window"; t0[$s]=$SUM_NS
        sum_ns "${PUBLISHERS[$s]}" || die "$s's publisher gone before the window"; p0[$s]=$SUM_NS
    done
    sleep "$WINDOW"
    for s in shopcast ffmpeg; do
        sum_ns "${SERVER_PIDS[$s]}" || die "$s gone during the window"
        CPU_S[$s]=$(awk -v t=$((SUM_NS - t0[$s])) 'BEGIN { printf "%.3f", t / 1e9 }')
        sum_ns "${PUBLISHERS[$s]}" || die "$s's publisher gone during the window"
        PUB_S[$s]=$(awk -v t=$((SUM_NS - p0[$s])) 'BEGIN { printf "%.3f", t / 1e9 }')
    done
    read -r b1 tot1 < <(machine_busy)
    for s in "${perf_pids[@]}"; do kill -INT "$s" 2>/dev/null || true; done
    for s in "${perf_pids[@]}"; do wait "$s" 2>/dev/null || true; done
    if ((PROFILE)); then
        for s in shopcast ffmpeg; do
            [[ -s ${DIRS[$s]}/perf.data ]] || { cat "${DIRS[$s]}/perf.log" >&2; die "perf recorded nothing for $s"; }
        done
    fi
    BUSY=$(((b1 - b0) * 100 / (tot1 - tot0 > 0 ? tot1 - tot0 : 1)))
}

# The window's samples by library, as "dso=percent,..." (empty without PROFILE)
split_by_dso() { # DIR
    ((PROFILE)) || return 0
    perf report -i "$1/perf.data" --sort dso --stdio -q --percent-limit 0 2>/dev/null |
        awk '$1 ~ /%$/ { sub(/%$/, "", $1); printf "%s%s=%s", (n++ ? "," : ""), $2, $1 }'
}

record() { # SERVER REP SPEED
    local s=$1
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$2" "$WINDOW" "${CPU_S[$s]}" "${PUB_S[$s]}" \
        "$BUSY" "$3" "$(load1)" "$(split_by_dso "${DIRS[$s]}")" >>"$TMP/results.tsv"
    log "$s run $2: ${CPU_S[$s]} CPU-s in ${WINDOW}s ($(awk -v c="${CPU_S[$s]}" -v w="$WINDOW" \
        'BEGIN { printf "%.0f", c / w * 100 }')% of a core), speed $3; publisher ${PUB_S[$s]} CPU-s; machine busy ${BUSY}%; load1 $(load1)"
}

start_shopcast_side() { # REP
    local dir="$TMP/shopcast-$1"
    mkdir -p "$dir"
    DIRS[shopcast]=$dir
    start_shopcast "$dir" --ladder 720p:2500k,360p:800k --x264-preset veryfast --grace 2 \
        "${SHOPCAST_ARGS[@]}"
    create_stream
    benchlib card "$SC_HTTP" "$SC_TOKEN" "$SC_ID" || die "shopcast: the card did not come on"
    start_clip_publisher "$CLIP" "$dir/publisher.log" "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY"
    SERVER_PIDS[shopcast]=$SC_PID PUBLISHERS[shopcast]=$PUB_PID
    benchlib wait-media "http://127.0.0.1:$SC_HTTP/hls/$SC_ID/master.m3u8" 2 30 ||
        { tail -n 20 "$dir/shopcast.log" "$dir/publisher.log" >&2; die "shopcast: no HLS segments within 30 s"; }
}

start_ffmpeg_side() { # REP
    local dir="$TMP/ffmpeg-$1" port i
    DIRS[ffmpeg]=$dir
    port=$(freeport)
    start_ffmpeg_ladder "$dir" "$port"
    benchlib listening "$port" 10 || { cat "$dir/ffmpeg.log" >&2; die "ffmpeg -listen did not listen"; }
    start_clip_publisher "$CLIP" "$dir/publisher.log" "rtmp://127.0.0.1:$port/live/bench"
    SERVER_PIDS[ffmpeg]=$FF_PID PUBLISHERS[ffmpeg]=$PUB_PID
    for ((i = 0; i < 300; i++)); do
        [[ $(ls "$dir/hls/360p" 2>/dev/null | grep -c '^seg-') -ge 2 ]] && break
        kill -0 "$FF_PID" 2>/dev/null || { tail -n 20 "$dir/ffmpeg.log" >&2; die "ffmpeg CLI exited"; }
        sleep 0.1
    done
}

run_pair() { # REP
    local rep=$1 o0 o1 speed speeds ok dir
    # which starts first alternates, so that neither always has the warmer caches
    if ((rep % 2)); then start_shopcast_side "$rep"; start_ffmpeg_side "$rep"
    else start_ffmpeg_side "$rep"; start_shopcast_side "$rep"; fi
    sleep "$WARMUP"
    o0=$(progress_us "${DIRS[ffmpeg]}/progress")
    measure_window
    o1=$(progress_us "${DIRS[ffmpeg]}/progress")

    dir=${DIRS[shopcast]}
    benchlib renditions "$SC_HTTP" "$SC_ID" >"$dir/renditions.tsv" || die "shopcast: API has no renditions"
    speeds=$(awk -F'\t' '{ printf "%s%s=%sx", (NR > 1 ? "," : ""), $1, $2 }' "$dir/renditions.tsv")
    ok=$(awk -F'\t' '$2 < 0.9 || $5 > 0 || $6 != "True" { bad = 1 } END { print bad ? 0 : 1 }' "$dir/renditions.tsv")
    kill -0 "${PUBLISHERS[shopcast]}" 2>/dev/null || ok=0
    if ((ok != 1)); then
        cat "$dir/renditions.tsv" >&2
        tail -n 20 "$dir/shopcast.log" >&2
        die "shopcast run $rep did not keep up with real time (or dropped frames); figures would be meaningless"
    fi
    speed=$(awk -v a="$o0" -v b="$o1" -v w="$WINDOW" 'BEGIN { printf "%.2fx", (b - a) / 1e6 / w }')
    if ! kill -0 "${SERVER_PIDS[ffmpeg]}" 2>/dev/null || (((o1 - o0) / 1000 < WINDOW * 900)); then
        tail -n 20 "${DIRS[ffmpeg]}/ffmpeg.log" >&2
        die "ffmpeg CLI run $rep did not keep up with real time (speed $speed over the window)"
    fi
    record shopcast "$rep" "$speeds"
    record ffmpeg "$rep" "speed=$speed"
    for s in shopcast ffmpeg; do stop_and_forget "${PUBLISHERS[$s]}" 10; done
    for s in shopcast ffmpeg; do stop_and_forget "${SERVER_PIDS[$s]}" 20; done
}

# ---- main ----
log_versions
CLIP=$(test_clip)
log_clip "$CLIP"
wait_for_quiet
start_redis
: >"$TMP/results.tsv"
for ((rep = 1; rep <= REPEAT; rep++)); do run_pair "$rep"; done
"$PY" - "$TMP/results.tsv" <<'EOF'
import statistics, sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]

def split(r):
    """The run's perf samples as {group: percent}: the encoders' library, then what the server adds."""
    groups = {}
    for kv in filter(None, (r[8] if len(r) > 8 else "").split(",")):
        dso, pct = kv.rsplit("=", 1)
        g = ("libx264" if dso.startswith("libx264") else "libavcodec" if dso.startswith("libavcodec")
             else "libswscale" if dso.startswith("libswscale") else "kernel" if dso.startswith("[kernel")
             else "server" if dso in ("shopcast", "ffmpeg") else "libc" if dso.startswith("libc.so")
             else "other")
        groups[g] = groups.get(g, 0.0) + float(pct)
    return groups

cols = ("libx264", "libavcodec", "libswscale", "server", "libc", "kernel", "other")
print()
print("| server | run | window s | CPU s | cores (CPU s / s) | speed | publisher CPU s | machine busy %% "
      "| load1 at end | CPU by library, %% of samples: %s | non-encoder share |" % " / ".join(cols))
print("|---|---|---|---|---|---|---|---|---|---|---|")
med, share, own = {}, {}, {}
for srv in ("shopcast", "ffmpeg"):
    rs = [r for r in rows if r[0] == srv]
    shares, owns = [], []
    for r in rs:
        g = split(r)
        ne = (100 - g["libx264"]) if "libx264" in g else None
        if ne is not None:
            shares.append(ne)
            owns.append(ne - g.get("libavcodec", 0.0))
        print("| %s | %s | %s | %s | %.3f | %s | %s | %s | %s | %s | %s |" % (
            srv, r[1], r[2], r[3], float(r[3]) / float(r[2]), r[6], r[4], r[5], r[7],
            " / ".join("%.1f" % g.get(c, 0.0) for c in cols) if g else "-",
            "%.1f %%" % ne if ne is not None else "-"))
    if rs:
        med[srv] = statistics.median(float(r[3]) / float(r[2]) for r in rs)
    if shares:
        share[srv] = statistics.median(shares)
        own[srv] = statistics.median(owns)
print()
for srv, v in med.items():
    line = "%s: median %.3f CPU-s per stream-second (%.1f CPU-s per stream-minute)" % (srv, v, v * 60)
    if srv in share:
        line += "; outside libx264 %.1f %% (%.3f CPU-s/s), in libx264 %.3f CPU-s/s" % (
            share[srv], v * share[srv] / 100, v * (100 - share[srv]) / 100)
    print(line)
if "shopcast" in med and "ffmpeg" in med:
    ratio = med["shopcast"] / med["ffmpeg"]
    print("shopcast/ffmpeg CPU ratio: %.2f  (goal <= 0.85: %s)" % (ratio, "met" if ratio <= 0.85 else "NOT met"))
if "shopcast" in share:
    print("shopcast's CPU outside the encoders: %.1f %% of its whole (goal <= 15 %%: %s)" % (
        share["shopcast"], "met" if share["shopcast"] <= 15 else "NOT met"))
    # libavcodec here is the H.264 decoder (AAC is copied by both): the other codec either
    # server must run. What is left is each server's own work.
    print("outside the codecs (libx264 and libavcodec, the decoder): shopcast %.1f %%, ffmpeg %s" % (
        own["shopcast"], "%.1f %%" % own["ffmpeg"] if "ffmpeg" in own else "-"))
EOF
