#!/usr/bin/env bash
# Capacity per node: how many 720p streams, and how many LL-HLS viewers, one shopcast carries,
# so that an operator can size a node. Two phases, each step on a fresh shopcast with the
# default ladder (720p:2500k + 360p:800k, x264 veryfast) and the default part length.
#
# 1. Streams. For N = 1, 2, ... (up to BENCH_MAX_STREAMS), N publishers of the pre-encoded 720p30
#    2.5 Mbit/s test clip (ffmpeg -re -stream_loop -1 -c copy: next to no CPU of their own, so the
#    machine is the server's), then BENCH_WARMUP s, then a BENCH_WINDOW-second window: the server's
#    CPU, and per stream what the API says. N streams keep real time when every rung of every
#    stream encodes at >= 1x real time (encoder_speed), drops no frame, and has its parts ready
#    within a segment (part-ready p95 < 1 s: a stream whose worker cannot keep up falls further
#    behind every second). The phase stops at the first N that does not. The peer in the same run:
#    N ffmpeg CLIs each making the same ladder (lib/common.sh start_ffmpeg_ladder), fed the same way;
#    they keep real time when every one's output advanced >= 97% of the window.
# 2. Viewers. One stream; for each V in BENCH_VIEWER_STEPS, V viewers (bench/hls_client.c: one
#    epoll loop, a keep-alive connection each, following the 720p live edge with blocking playlist
#    reloads and part GETs, as hls.js does) for BENCH_WINDOW s. A step holds when the part-ready
#    latency as the viewers see it (the delivery delay: from the first viewer having a part to
#    each viewer having it; the first stands for the part being ready, as all wait for it with a
#    blocking reload) has p95 <= 100 ms, every request succeeds, the viewers get >= 99% of the
#    parts, and the stream keeps real time (720p's part-ready p95 in the API, from frame arrival
#    to part ready over its last 128 parts, under a segment, as in phase 1: serving takes CPU from
#    the encoders). The phase stops at the first step that does not. Viewers per core =
#    V / (the server's cores at V - its cores with no viewer): the serving cost alone.
#    There is no peer that holds LL-HLS requests in Debian; serving.sh prices a request against
#    nginx's.
# Everything runs on this machine: the load client's CPU is printed beside the server's.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-bench/relay/shopcast]  HLS_CLIENT [build-bench/bench/hls_client]
#   BENCH_PHASES   ["streams viewers"]
#   BENCH_MAX_STREAMS [8]   BENCH_PEER [1]: 0 skips the ffmpeg CLI peer of the streams phase
#   BENCH_VIEWER_STEPS ["100 200 400 800 1600 3200 6400"]
#   BENCH_WARMUP   [10]  BENCH_WINDOW [30]   BENCH_CLIP_S [20]
#   BENCH_SOURCES  [127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4]  the viewers' source addresses
#   BENCH_SHOPCAST_ARGS []  more shopcast options
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init capacity build-bench

PHASES=${BENCH_PHASES:-"streams viewers"}
MAX_STREAMS=${BENCH_MAX_STREAMS:-8}
PEER=${BENCH_PEER:-1}
STEPS=${BENCH_VIEWER_STEPS:-"100 200 400 800 1600 3200 6400"}
WARMUP=${BENCH_WARMUP:-10}
WINDOW=${BENCH_WINDOW:-30}
SOURCES=${BENCH_SOURCES:-127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4}
HLS_CLIENT=${HLS_CLIENT:-$ROOT/build-bench/bench/hls_client}
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"
read -ra STEP_LIST <<<"$STEPS"
check_uint MAX_STREAMS PEER WARMUP WINDOW
((WINDOW >= 10)) || die "BENCH_WINDOW must be at least 10"
for v in "${STEP_LIST[@]}"; do [[ $v =~ ^[1-9][0-9]*$ ]] || die "BENCH_VIEWER_STEPS: '$v' is not a count"; done
need_tools ffmpeg ffprobe redis-server getconf
need_shopcast
need_libx264
[[ -x $HLS_CLIENT ]] || die "load client not found at $HLS_CLIENT (meson setup build-bench --buildtype=release -Dbench=enabled && ninja -C build-bench bench/hls_client)"
TCK=$(getconf CLK_TCK)
CORES=$(getconf _NPROCESSORS_ONLN)
ulimit -n "$(ulimit -Hn)" # shopcast and the client each hold one descriptor per viewer

start_node() { # DIR: a fresh shopcast with the default ladder
    start_shopcast "$1" --ladder 720p:2500k,360p:800k --x264-preset veryfast --hls-segment-ms 1000 \
        --grace 2 "${SHOPCAST_ARGS[@]}"
}

# PIDS_VAR: sleeps the window; sets W_SERVER W_OTHER (cores: SERVER_PIDS, OTHER_PIDS) and W_BUSY (%)
measure_window() {
    local s0 s1 o0 o1 b0 t0 b1 t1
    read -r b0 t0 < <(machine_busy)
    s0=$(cpu_ticks "${SERVER_PIDS[@]}") || die "server gone before the window"
    o0=$(cpu_ticks "${OTHER_PIDS[@]}") || die "publisher gone before the window"
    sleep "$WINDOW"
    s1=$(cpu_ticks "${SERVER_PIDS[@]}") || die "server gone during the window"
    o1=$(cpu_ticks "${OTHER_PIDS[@]}") || die "publisher gone during the window"
    read -r b1 t1 < <(machine_busy)
    W_SERVER=$(awk -v t=$((s1 - s0)) -v k="$TCK" -v w="$WINDOW" 'BEGIN { printf "%.3f", t / k / w }')
    W_OTHER=$(awk -v t=$((o1 - o0)) -v k="$TCK" -v w="$WINDOW" 'BEGIN { printf "%.3f", t / k / w }')
    W_BUSY=$(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
}

# ---- phase 1: streams ----

shopcast_streams() { # N: prints "ok min_speed max_p95_ms dropped" after the window; sets W_*
    local n=$1 dir="$TMP/streams-shopcast-$1" i
    start_node "$dir"
    create_stream "$n"
    for ((i = 0; i < n; i++)); do
        benchlib card "$SC_HTTP" "$SC_TOKEN" "${SC_IDS[i]}" || die "shopcast: the card of stream $i did not come on"
    done
    OTHER_PIDS=()
    for ((i = 0; i < n; i++)); do
        start_clip_publisher "$CLIP" "$dir/publisher-$i.log" "rtmp://127.0.0.1:$SC_RTMP/live/${SC_KEYS[i]}"
        OTHER_PIDS+=("$PUB_PID")
    done
    for ((i = 0; i < n; i++)); do
        benchlib wait-media "http://127.0.0.1:$SC_HTTP/hls/${SC_IDS[i]}/master.m3u8" 2 60 ||
            { tail -n 20 "$dir/shopcast.log" >&2; die "shopcast: stream $i has no HLS segments within 60 s"; }
    done
    sleep "$WARMUP"
    SERVER_PIDS=("$SC_PID")
    measure_window
    : >"$dir/renditions.tsv"
    for ((i = 0; i < n; i++)); do
        benchlib renditions "$SC_HTTP" "${SC_IDS[i]}" >>"$dir/renditions.tsv" || die "shopcast: API has no renditions"
    done
    for p in "${OTHER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || die "shopcast: a publisher exited"; done
    # name speed p50 p95 dropped live stages
    awk -F'\t' 'BEGIN { ok = 1; min = 1e9 }
        { if ($2 < 1 || $5 > 0 || $4 >= 1000 || $6 != "True") ok = 0
          if ($2 < min) min = $2; if ($4 > max) max = $4; if ($5 > drop) drop = $5 }
        END { printf "%d %.2f %.0f %d\n", ok, min, max, drop }' "$dir/renditions.tsv"
    for p in "${OTHER_PIDS[@]}"; do stop_and_forget "$p" 10; done
    stop_and_forget "$SC_PID" 20
}

ffmpeg_streams() { # N: prints "ok min_speed" after the window; sets W_*
    local n=$1 dir="$TMP/streams-ffmpeg-$1" i port o0=() o1=() ports=()
    SERVER_PIDS=() OTHER_PIDS=()
    for ((i = 0; i < n; i++)); do
        port=$(freeport)
        start_ffmpeg_ladder "$dir/$i" "$port"
        SERVER_PIDS+=("$FF_PID") ports+=("$port")
    done
    for ((i = 0; i < n; i++)); do
        benchlib listening "${ports[i]}" 10 || { cat "$dir/$i/ffmpeg.log" >&2; die "ffmpeg -listen did not listen"; }
        start_clip_publisher "$CLIP" "$dir/$i/publisher.log" "rtmp://127.0.0.1:${ports[i]}/live/bench"
        OTHER_PIDS+=("$PUB_PID")
    done
    local t
    for ((i = 0; i < n; i++)); do
        for ((t = 0; t < 600; t++)); do
            [[ $(find "$dir/$i/hls/360p" -name 'seg-*' 2>/dev/null | wc -l) -ge 2 ]] && break
            sleep 0.1
        done
    done
    sleep "$WARMUP"
    for ((i = 0; i < n; i++)); do o0+=("$(progress_us "$dir/$i/progress")"); done
    measure_window
    for ((i = 0; i < n; i++)); do o1+=("$(progress_us "$dir/$i/progress")"); done
    for p in "${SERVER_PIDS[@]}" "${OTHER_PIDS[@]}"; do kill -0 "$p" 2>/dev/null || die "ffmpeg: a process exited"; done
    for ((i = 0; i < n; i++)); do echo $(((o1[i] - o0[i]) / 1000)); done |
        awk -v w="$WINDOW" 'BEGIN { ok = 1; min = 1e9 }
            { s = $1 / 1000 / w; if (s < 0.97) ok = 0; if (s < min) min = s }
            END { printf "%d %.2f\n", ok, min }'
    for p in "${OTHER_PIDS[@]}" "${SERVER_PIDS[@]}"; do stop_and_forget "$p" 10; done
}

streams_phase() {
    local n who ok speed p95 dropped
    for who in shopcast ffmpeg; do
        [[ $who == ffmpeg ]] && ((PEER == 0)) && continue
        for ((n = 1; n <= MAX_STREAMS; n++)); do
            wait_for_quiet
            "${who}_streams" "$n" >"$TMP/step.out" # not in a subshell: it sets W_* and PIDS
            read -r ok speed p95 dropped < <(tail -n1 "$TMP/step.out")
            printf '%s\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$who" "$n" "$ok" "$speed" "${p95:--}" \
                "${dropped:--}" "$W_SERVER" "$W_OTHER" "$W_BUSY" >>"$TMP/streams.tsv"
            log "$who, $n streams: real time $([[ $ok == 1 ]] && echo yes || echo NO); slowest ${speed}x; part-ready p95 ${p95:--} ms; server ${W_SERVER} cores, publishers ${W_OTHER}; machine busy ${W_BUSY}%"
            [[ $ok == 1 ]] || break
        done
    done
}

# ---- phase 2: viewers ----

viewers_phase() {
    local dir="$TMP/viewers" v c0 w0 w1 s0 s1 b0 t0 b1 t1
    start_node "$dir"
    create_stream
    benchlib card "$SC_HTTP" "$SC_TOKEN" "$SC_ID" || die "shopcast: the card did not come on"
    start_clip_publisher "$CLIP" "$dir/publisher.log" "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY"
    benchlib wait-media "http://127.0.0.1:$SC_HTTP/hls/$SC_ID/master.m3u8" 2 30 ||
        { tail -n 20 "$dir/shopcast.log" >&2; die "shopcast: no HLS segments within 30 s"; }
    sleep "$WARMUP"
    SERVER_PIDS=("$SC_PID") OTHER_PIDS=("$PUB_PID")
    measure_window # no viewer: the stream's own cost
    benchlib renditions "$SC_HTTP" "$SC_ID" >"$dir/r-0.tsv" || die "shopcast: API has no renditions"
    printf '0\t%s\t-\t-\t-\t-\t%s\t%s\t0\t-\n' "$(awk -F'\t' '$1 == "720p" { print $4 }' "$dir/r-0.tsv")" \
        "$W_SERVER" "$W_BUSY" >"$TMP/viewers.tsv"
    log "no viewer: server ${W_SERVER} cores; 720p part-ready p95 (API) $(cut -f2 "$TMP/viewers.tsv") ms"
    for v in "${STEP_LIST[@]}"; do
        read -r b0 t0 < <(machine_busy)
        s0=$(cpu_ticks "$SC_PID") || die "shopcast gone"
        w0=$(date +%s%N)
        "$HLS_CLIENT" --port "$SC_HTTP" --path "/hls/$SC_ID/720p" --clients "$v" --seconds "$WINDOW" \
            --sources "$SOURCES" >"$dir/v-$v.json" 2>"$dir/v-$v.err" &
        c0=$!
        PIDS+=("$c0")
        wait "$c0" || { cat "$dir/v-$v.err" >&2; die "the load client failed at $v viewers"; }
        forget_pid "$c0"
        w1=$(date +%s%N)
        s1=$(cpu_ticks "$SC_PID") || die "shopcast gone at $v viewers"
        read -r b1 t1 < <(machine_busy)
        benchlib renditions "$SC_HTTP" "$SC_ID" >"$dir/r-$v.tsv" || die "shopcast: API has no renditions"
        "$PY" - "$dir/v-$v.json" "$dir/r-$v.tsv" "$v" "$((s1 - s0))" "$TCK" "$(((w1 - w0) / 1000000))" \
            "$(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))" >>"$TMP/viewers.tsv" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
p95 = [l.split("\t")[3] for l in open(sys.argv[2]) if l.startswith("720p\t")]
ticks, tck, wall_ms = int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
client = j["cpu_total_s"] / (wall_ms / 1000)
print("%s\t%.1f\t%.4f\t%d\t%.1f\t%.3f\t%.3f\t%s\t%d\t%.1f" % (
    sys.argv[3], float(p95[0]) if p95 else -1, j["mean_share_of_viewers"], j["errors"] + j["failed"],
    j["fanout_p95_ms"], client, ticks / tck / (wall_ms / 1000), sys.argv[7], j["parts"],
    j["delivery_p95_ms"]))
EOF
        local row
        row=$(tail -n1 "$TMP/viewers.tsv")
        IFS=$'\t' read -r _ p95 share errs fan client cores busy parts delivery <<<"$row"
        log "$v viewers: delivery p95 ${delivery} ms; viewers got ${share} of the parts; errors ${errs}; fan-out p95 ${fan} ms; 720p part-ready p95 ${p95} ms; server ${cores} cores, client ${client}; busy ${busy}%"
        awk -v d="$delivery" -v p="$p95" -v s="$share" -v e="$errs" \
            'BEGIN { exit !(d <= 100 && p < 1000 && s >= 0.99 && e == 0) }' || break
    done
    stop_and_forget "$PUB_PID" 10
    stop_and_forget "$SC_PID" 20
}

# ---- main ----
log_versions
log "machine: $CORES cores, $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
CLIP=$(test_clip)
log_clip "$CLIP"
wait_for_quiet
start_redis
for phase in $PHASES; do
    case $phase in
    streams) streams_phase ;;
    viewers) viewers_phase ;;
    *) die "unknown phase '$phase' in BENCH_PHASES" ;;
    esac
done
"$PY" - "$TMP" "$CORES" <<'EOF'
import os, sys
d, cores = sys.argv[1], int(sys.argv[2])
def rows(name):
    p = os.path.join(d, name)
    return [l.rstrip("\n").split("\t") for l in open(p)] if os.path.exists(p) else []
st = rows("streams.tsv")
if st:
    print()
    print("| server | streams | real time | slowest encoder x | part-ready p95 ms | dropped | server cores | publishers' cores | machine busy % |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in st:
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (r[0], r[1], "yes" if r[2] == "1" else "NO", *r[3:]))
    kept = {}
    for who in ("shopcast", "ffmpeg"):
        ok = [r for r in st if r[0] == who and r[2] == "1"]
        if ok:
            best = max(ok, key=lambda r: int(r[1]))
            kept[who] = int(best[1])
            print("%s: %d streams in real time on %d cores: %.2f streams per core (%.2f cores per stream at %d)" % (
                who, kept[who], cores, kept[who] / cores, float(best[6]) / kept[who], kept[who]))
        elif any(r[0] == who for r in st):
            kept[who] = 0
            print("%s: not even 1 stream in real time" % who)
    if kept.get("ffmpeg"):
        print("shopcast/ffmpeg CLI streams per node: %.2f" % (kept.get("shopcast", 0) / kept["ffmpeg"]))
vw = rows("viewers.tsv")
if vw:
    print()
    print("| viewers | delivery p95 ms | share of parts got | errors | fan-out p95 ms | 720p part-ready p95 ms (API) | client cores | server cores | machine busy % | parts fetched |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in vw:
        print("| %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r[0], r[9] if len(r) > 9 else "-", r[2], r[3], r[4], r[1], r[5], r[6], r[7], r[8]))
    base = float(vw[0][6])
    held = [r for r in vw[1:] if float(r[9]) <= 100 and float(r[1]) < 1000 and float(r[2]) >= 0.99
            and int(r[3]) == 0]
    if held:
        best = max(held, key=lambda r: int(r[0]))
        v, serve = int(best[0]), float(best[6]) - base
        print("viewers: %d held (delivery p95 <= 100 ms, the stream in real time); serving them took %.2f cores "
              "beyond the stream's %.2f: %.0f viewers per core" % (v, serve, base, v / serve if serve > 0 else float("inf")))
        if held[-1] is vw[-1]:
            print("viewers: every step held; the limit is above %d (BENCH_VIEWER_STEPS)" % v)
    else:
        print("viewers: not even the first step held")
EOF
