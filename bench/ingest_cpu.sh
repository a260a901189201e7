#!/usr/bin/env bash
# CPU used by the RTMP ingest server per publishing stream: shopcast (--record off --ladder off) against
# Debian's nginx + libnginx-mod-rtmp (application live, "live on;"), measured in the same run.
#
# For each N in BENCH_COUNTS, N ffmpeg processes publish the same pre-encoded 720p30 H.264
# 2.5 Mbit/s + AAC clip (-re -stream_loop -1 -c copy) for BENCH_WARMUP + BENCH_WINDOW seconds.
# The server's utime+stime (/proc/PID/stat; all nginx processes; for shopcast also its event-loop
# thread alone) is sampled at the start and end of the window, and divided by the seconds of media
# the publishers sent meanwhile (ffmpeg -progress). Every run starts a fresh server; shopcast and
# nginx runs alternate. Each publisher must have streamed in real time for the whole window, and
# the server must report it as publishing with a non-zero bitrate, or the script fails.
# Prints a Markdown table and the ratios shopcast / nginx-rtmp per N (goal <= 1.0).
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-bench/relay/shopcast]  a release build, see bench/README.md
#   BENCH_COUNTS   ["1 4 8"]   publisher counts
#   BENCH_WARMUP   [3]         seconds between the last publisher starting and the window
#   BENCH_WINDOW   [20]        measured seconds
#   BENCH_REPEAT   [2]         runs per server and N; the table shows the median
#   BENCH_CLIP_S   [20]        length of the looped test clip, seconds
#   BENCH_MIN_KBPS [500]       lowest per-stream bitrate a server may report for a run to count
#   BENCH_CACHE    [bench/.cache]  where the encoded clip is kept between runs
#   BENCH_SHOPCAST_ARGS []     more shopcast options (split on spaces), e.g. "--ladder 144p:100k"
#   BENCH_SERVERS  ["shopcast nginx"]  which servers to run (one alone gives no ratio)
#   BENCH_TSV      []          also copy the raw per-run figures to this file
#   BENCH_KEEP_TMP [0]         1: keep the temp dir (logs, configs) for inspection
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init ingest_cpu build-bench

COUNTS=${BENCH_COUNTS:-"1 4 8"}
WARMUP=${BENCH_WARMUP:-3}
WINDOW=${BENCH_WINDOW:-20}
REPEAT=${BENCH_REPEAT:-2}
CLIP_S=${BENCH_CLIP_S:-20}
MIN_KBPS=${BENCH_MIN_KBPS:-500}
SERVERS=${BENCH_SERVERS:-"shopcast nginx"}
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"

check_uint --env WARMUP WINDOW REPEAT CLIP_S MIN_KBPS
((WINDOW >= 5)) || die "BENCH_WINDOW must be at least 5 seconds"
((REPEAT >= 1 && REPEAT <= 20)) || die "BENCH_REPEAT must be 1..20"
for n in $COUNTS; do
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 64)) || die "BENCH_COUNTS entries must be 1..64, got '$n'"
done

# ---- tools (checked, never installed) ----
need_tools --hint "Debian: apt-get install ffmpeg redis-server nginx libnginx-mod-rtmp python3" \
    ffmpeg ffprobe redis-server nginx getconf
need_nginx_rtmp "Debian: apt-get install libnginx-mod-rtmp; check with dpkg -L libnginx-mod-rtmp"
need_libx264
need_shopcast
TCK=$(getconf CLK_TCK)
NET_TID= # see measure_window

# ---- the test clip (encoded once, cached) ----
CLIP=$(test_clip "$CLIP_S")
log_clip "$CLIP"

# ---- Redis for shopcast (one for the whole run; every run gets its own key prefix) ----
start_redis

# ---- publishers ----
PUB_PROGRESS=()

start_publishers() { # RUN_DIR URL...: sets PUB_PIDS and PUB_PROGRESS
    local dir=$1 i=0 url
    shift
    PUB_PIDS=()
    PUB_PROGRESS=()
    for url in "$@"; do
        : >"$dir/pub$i.progress"
        start_clip_publisher "$CLIP" "$dir/pub$i.log" "$url" -progress "$dir/pub$i.progress" -stats_period 0.5
        PUB_PIDS+=("$PUB_PID")
        PUB_PROGRESS+=("$dir/pub$i.progress")
        i=$((i + 1))
    done
}

pub_out_times() { # prints the last out_time_us of every publisher, in order (0 if none yet)
    awk 'BEGIN { n = ARGC - 1; for (i = 1; i <= n; i++) { f[i] = ARGV[i]; v[ARGV[i]] = 0 } }
         /^out_time_us=[0-9]+$/ { v[FILENAME] = substr($0, 13) }
         END { for (i = 1; i <= n; i++) printf "%s ", v[f[i]]; print "" }' "${PUB_PROGRESS[@]}"
}

wait_publishers_streaming() { # up to SECONDS for every publisher to have sent media
    local secs=$1 i t
    for ((i = 0; i < secs * 5; i++)); do
        t=" $(pub_out_times)"
        [[ $t != *" 0 "* ]] && return 0
        sleep 0.2
    done
    return 1
}

stop_publishers() {
    local p
    for p in "${PUB_PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
    for p in "${PUB_PIDS[@]}"; do stop_and_forget "$p" 10; done
    PUB_PIDS=()
}

# checks after the window: every publisher alive and advanced >= 90% of the window in media time
check_publishers() { # DIR "START_TIMES" "END_TIMES"
    local dir=$1 i bad=0 s e adv
    local -a st=($2) en=($3)
    for i in "${!PUB_PIDS[@]}"; do
        if ! kill -0 "${PUB_PIDS[$i]}" 2>/dev/null; then
            echo "  publisher $i (PID ${PUB_PIDS[$i]}) is NOT running; its log:" >&2
            tail -n 20 "$dir/pub$i.log" >&2 || true
            bad=1
            continue
        fi
        s=${st[$i]:-0} e=${en[$i]:-0}
        adv=$(((e - s) / 1000))
        if ((adv < WINDOW * 900)); then
            echo "  publisher $i sent only ${adv} ms of media in the ${WINDOW} s window (not real time)" >&2
            bad=1
        elif ((adv > WINDOW * 1250 + 2000)); then
            echo "  warning: publisher $i sent ${adv} ms of media in the ${WINDOW} s window (a burst;" \
                "the per-media-minute figures account for it)" >&2
        fi
    done
    return $bad
}

# measures the window: sets CPU_TICKS, NET_TICKS, PUB_TICKS, BUSY_PCT, ELAPSED (wall seconds
# between the two samples of the server) and MEDIA_S (seconds of media all publishers sent, from
# their -progress output read just before and after); SERVER_PIDS must be set, and NET_TID to a
# thread of SERVER_PIDS[0] to measure on its own (or empty)
measure_window() {
    local t0 t1 p0 p1 n0=0 n1=0 b0 b1 tot0 tot1 w0 w1
    OUT0=$(pub_out_times)
    machine_ticks; b0=$MACHINE_BUSY tot0=$MACHINE_TOTAL
    sum_ticks "${PUB_PIDS[@]}" || die "a publisher exited before the window"; p0=$SUM
    if [[ -n $NET_TID ]]; then
        stat_ticks "/proc/${SERVER_PIDS[0]}/task/$NET_TID/stat" || die "network thread gone"; n0=$TICKS
    fi
    sum_ticks "${SERVER_PIDS[@]}" || die "server process gone before the window"; t0=$SUM
    w0=$EPOCHREALTIME
    sleep "$WINDOW"
    w1=$EPOCHREALTIME
    sum_ticks "${SERVER_PIDS[@]}" || die "server process gone during the window"; t1=$SUM
    if [[ -n $NET_TID ]]; then
        stat_ticks "/proc/${SERVER_PIDS[0]}/task/$NET_TID/stat" || die "network thread gone"; n1=$TICKS
    fi
    sum_ticks "${PUB_PIDS[@]}" && p1=$SUM || p1=$p0
    machine_ticks; b1=$MACHINE_BUSY tot1=$MACHINE_TOTAL
    OUT1=$(pub_out_times)
    CPU_TICKS=$((t1 - t0))
    NET_TICKS=$((n1 - n0))
    PUB_TICKS=$((p1 - p0))
    ELAPSED=$(awk -v a="${w0/,/.}" -v b="${w1/,/.}" 'BEGIN { printf "%.3f", b - a }')
    BUSY_PCT=$(((b1 - b0) * 100 / (tot1 - tot0 > 0 ? tot1 - tot0 : 1)))
    MEDIA_S=$(awk -v a="$OUT0" -v b="$OUT1" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
        for (i = 1; i <= n; i++) s += y[i] - x[i]; printf "%.3f", s / 1e6 }')
}

record_result() { # SERVER N REP DROPPED
    local cpu net pub
    cpu=$(awk -v t="$CPU_TICKS" -v k="$TCK" 'BEGIN { printf "%.3f", t / k }')
    net=$(awk -v t="$NET_TICKS" -v k="$TCK" 'BEGIN { printf "%.3f", t / k }')
    pub=$(awk -v t="$PUB_TICKS" -v k="$TCK" 'BEGIN { printf "%.3f", t / k }')
    [[ -n $NET_TID ]] || net=$cpu
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$ELAPSED" "$MEDIA_S" "$cpu" "$net" \
        "$pub" "$BUSY_PCT" "$4" >>"$TMP/results.tsv"
    log "$1 N=$2 run $3: server ${cpu} CPU-s in ${ELAPSED}s ($(awk -v c="$cpu" -v w="$ELAPSED" -v n="$2" \
        'BEGIN { printf "%.2f", c / w / n * 100 }')% per stream)${NET_TID:+, network thread ${net} CPU-s};" \
        "publishers ${pub} CPU-s; ${MEDIA_S}s of media sent; machine busy ${BUSY_PCT}%${NET_TID:+; dropped packets $4}"
}

# ---- one shopcast run ----
run_shopcast() { # N REP
    local n=$1 rep=$2 dir="$TMP/shopcast-n$1-r$2" key urls=()
    start_shopcast "$dir" --ladder off "${SHOPCAST_ARGS[@]}"
    create_stream "$n"
    for key in "${SC_KEYS[@]}"; do urls+=("rtmp://127.0.0.1:$SC_RTMP/live/$key"); done

    log "shopcast N=$n run $rep: server up, $n streams created; publishing"
    start_publishers "$dir" "${urls[@]}"
    wait_publishers_streaming 30 || die "shopcast N=$n run $rep: not every publisher started streaming within 30 s"
    sleep "$WARMUP"
    SERVER_PIDS=("$SC_PID")
    NET_TID=$SC_PID # the main thread runs the event loop: every socket, RTMP ingest included
    measure_window
    log "shopcast N=$n run $rep: checking every publisher streamed"
    local ok=1 dropped
    check_publishers "$dir" "$OUT0" "$OUT1" || ok=0
    dropped=$(benchlib shopcast-check "$SC_HTTP" "$MIN_KBPS" "${SC_IDS[@]}") || ok=0
    if ((ok == 0)); then
        echo "---- shopcast log (tail) ----" >&2
        tail -n 40 "$dir/shopcast.log" >&2
        die "shopcast N=$n run $rep: not every publisher streamed; the figures would be meaningless"
    fi
    record_result shopcast "$n" "$rep" "${dropped:-?}"
    kill -TERM "$SC_PID" 2>/dev/null || true # stop server and publishers together: quicker
    stop_publishers
    stop_and_forget "$SC_PID" 20
    log "shopcast N=$n run $rep: stopped"
}

# ---- one nginx-rtmp run ----
run_nginx() { # N REP
    local n=$1 rep=$2 dir="$TMP/nginx-n$1-r$2" rtmp stat i urls=() w2
    nginx_prefix "$dir"
    rtmp=$(freeport)
    stat=$(freeport)
    cat >"$dir/nginx.conf" <<EOF
$(nginx_main_conf "$dir" info rtmp)
$(nginx_rtmp_conf "$rtmp")
http {
$(nginx_http_common "$dir" "$dir/logs/access.log")
    server {
        listen 127.0.0.1:$stat;
        location /stat { rtmp_stat all; }
    }
}
EOF
    start_nginx "$dir" "$rtmp"
    ((${#NG_WORKERS[@]} == 1)) || die "expected 1 nginx worker, found ${#NG_WORKERS[@]}"
    for ((i = 0; i < n; i++)); do urls+=("rtmp://127.0.0.1:$rtmp/live/bench$i"); done

    start_publishers "$dir" "${urls[@]}"
    wait_publishers_streaming 30 || die "nginx N=$n run $rep: not every publisher started streaming within 30 s"
    sleep "$WARMUP"
    SERVER_PIDS=("$NG_PID" "${NG_WORKERS[@]}")
    NET_TID=
    measure_window
    mapfile -t w2 < <(children_of "$NG_PID")
    [[ "${w2[*]}" == "${NG_WORKERS[*]}" ]] || die "nginx worker set changed during the window (${NG_WORKERS[*]} -> ${w2[*]}); a worker crashed?"
    log "nginx N=$n run $rep: checking every publisher streamed"
    local ok=1
    check_publishers "$dir" "$OUT0" "$OUT1" || ok=0
    benchlib nginx-check "$stat" "$n" "$MIN_KBPS" >&2 || ok=0
    if grep -E '\[(error|crit|alert|emerg)\]' "$dir/logs/error.log" >&2; then
        echo "  nginx error log has errors (above)" >&2
        ok=0
    fi
    ((ok == 1)) || die "nginx N=$n run $rep: not every publisher streamed; the figures would be meaningless"
    record_result nginx "$n" "$rep" 0
    kill -TERM "$NG_PID" 2>/dev/null || true
    stop_publishers
    stop_nginx 20
}

# ---- main ----
nruns=0
for n in $COUNTS; do for server in $SERVERS; do nruns=$((nruns + REPEAT)); done; done
log "shopcast: $(shopcast_info);" "this checkout: $(checkout_info)"
# --ladder off: ingest only, like nginx-rtmp's 'live on' with nobody watching. The transcoder
# has its own benchmark (transcode_cpu.sh).
log "shopcast options: --record off --ladder off ${SHOPCAST_ARGS[*]}"
log "nginx: $(nginx -v 2>&1) + $NGINX_RTMP_SO"
log "$nruns runs of ${WARMUP}s warm-up + ${WINDOW}s window; N in: $COUNTS; $(nproc) CPUs; CLK_TCK=$TCK"
: >"$TMP/results.tsv"
for n in $COUNTS; do
    for ((rep = 1; rep <= REPEAT; rep++)); do
        # alternate which server goes first so slow drift on the host hits both alike
        if ((rep % 2)); then order="shopcast nginx"; else order="nginx shopcast"; fi
        for server in $order; do
            if [[ " $SERVERS " == *" $server "* ]]; then "run_$server" "$n" "$rep"; fi
        done
    done
done
if [[ -n ${BENCH_TSV:-} ]]; then cp "$TMP/results.tsv" "$BENCH_TSV"; fi
benchlib report "$TMP/results.tsv"
