#!/usr/bin/env bash
# CPU used by the RTMP ingest server per publishing stream: shopcast (--record off --ladder off) against
# Debian's nginx + libnginx-mod-rtmp (application live, "live on;"), measured in the same run.
#
# For each N in BENCH_COUNTS, N ffmpeg processes publish the same pre-encoded 720p30 H.264
# 2.5 Mbit/s + AAC clip (-re -stream_loop -1 -c copy) for BENCH_WARMUP + BENCH_WINDOW seconds.
# Both servers run at the same time, each with its own N publishers, and are measured over the
# same window: run one after the other, the host's drift from minute to minute (10-20 % on a VM
# with neighbours) went into the ratio. Each server's CPU time in nanoseconds (the scheduler's
# /proc/PID/task/TID/schedstat: the 10 ms clock ticks of /proc/PID/stat were most of what a
# server uses in a window at N = 1), summed over the threads of nginx's master and worker, and
# for shopcast also of its event-loop thread alone, is sampled at the start and end of the window
# and divided by the seconds of media its publishers sent meanwhile (ffmpeg -progress). Every run
# starts fresh servers. Each publisher must have streamed in real time for the whole window, and
# its server must report it as publishing with a non-zero bitrate, or the script fails.
# Prints a Markdown table and the ratios shopcast / nginx-rtmp per N (goal <= 1.0).
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-bench/relay/shopcast]  a release build, see bench/README.md
#   BENCH_COUNTS   ["1 4 8"]   publisher counts
#   BENCH_WARMUP   [3]         seconds between the last publisher starting and the window
#   BENCH_WINDOW   [30]        measured seconds
#   BENCH_REPEAT   [3]         runs per N; the table shows the median
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
WINDOW=${BENCH_WINDOW:-30}
REPEAT=${BENCH_REPEAT:-3}
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

# ---- the test clip (encoded once, cached) ----
CLIP=$(test_clip "$CLIP_S")
log_clip "$CLIP"

# ---- Redis for shopcast (one for the whole run; every run gets its own key prefix) ----
start_redis

# ---- publishers: one set per server ----
declare -A PUBS PROGRESS OUT0 OUT1

start_publishers() { # SERVER DIR URL...: sets PUBS[SERVER] and PROGRESS[SERVER] (space-separated)
    local srv=$1 dir=$2 i=0 url
    shift 2
    PUBS[$srv]='' PROGRESS[$srv]=''
    for url in "$@"; do
        : >"$dir/pub$i.progress"
        start_clip_publisher "$CLIP" "$dir/pub$i.log" "$url" -progress "$dir/pub$i.progress" -stats_period 0.5
        PUBS[$srv]+="$PUB_PID "
        PROGRESS[$srv]+="$dir/pub$i.progress "
        i=$((i + 1))
    done
}

pub_out_times() { # SERVER: the last out_time_us of each of its publishers, in order (0 if none yet)
    local -a files
    read -ra files <<<"${PROGRESS[$1]}"
    awk 'BEGIN { n = ARGC - 1; for (i = 1; i <= n; i++) { f[i] = ARGV[i]; v[ARGV[i]] = 0 } }
         /^out_time_us=[0-9]+$/ { v[FILENAME] = substr($0, 13) }
         END { for (i = 1; i <= n; i++) printf "%s ", v[f[i]]; print "" }' "${files[@]}"
}

wait_publishers_streaming() { # SERVER SECONDS: until every publisher of SERVER has sent media
    local i t
    for ((i = 0; i < $2 * 5; i++)); do
        t=" $(pub_out_times "$1")"
        [[ $t != *" 0 "* ]] && return 0
        sleep 0.2
    done
    return 1
}

stop_publishers() { # SERVER
    local p
    for p in ${PUBS[$1]}; do kill -TERM "$p" 2>/dev/null || true; done
    for p in ${PUBS[$1]}; do stop_and_forget "$p" 10; done
    PUBS[$1]=''
}

# checks after the window: every publisher alive and advanced >= 90% of the window in media time
check_publishers() { # SERVER DIR
    local srv=$1 dir=$2 i bad=0 s e adv
    local -a pids st en
    read -ra pids <<<"${PUBS[$srv]}"
    read -ra st <<<"${OUT0[$srv]}"
    read -ra en <<<"${OUT1[$srv]}"
    for i in "${!pids[@]}"; do
        if ! kill -0 "${pids[$i]}" 2>/dev/null; then
            echo "  $srv publisher $i (PID ${pids[$i]}) is NOT running; its log:" >&2
            tail -n 20 "$dir/pub$i.log" >&2 || true
            bad=1
            continue
        fi
        s=${st[$i]:-0} e=${en[$i]:-0}
        adv=$(((e - s) / 1000))
        if ((adv < WINDOW * 900)); then
            echo "  $srv publisher $i sent only ${adv} ms of media in the ${WINDOW} s window (not real time)" >&2
            bad=1
        elif ((adv > WINDOW * 1250 + 2000)); then
            echo "  warning: $srv publisher $i sent ${adv} ms of media in the ${WINDOW} s window (a burst;" \
                "the per-media-minute figures account for it)" >&2
        fi
    done
    return $bad
}

# One window for both servers at once, so that both see the same host: run one after the other,
# the host's drift (10-20 % from one minute to the next on a VM with neighbours) went into the
# ratio. For each server sets CPU_NS, NET_NS (scheduler nanoseconds: the 10 ms clock ticks were
# most of a quiet server's window), PUB_NS, MEDIA_S (seconds of media its publishers sent, from
# their -progress output read just before and after), and BUSY_PCT, ELAPSED. SERVER_PIDS[server]
# holds its processes (space-separated), NET_TID[server] a thread of the first to measure alone.
declare -A SERVER_PIDS NET_TID CPU_NS NET_NS PUB_NS MEDIA_S
measure_window() {
    local s b0 b1 tot0 tot1 w0 w1
    local -A t0 n0 p0
    for s in $SERVERS; do OUT0[$s]=$(pub_out_times "$s"); done
    machine_ticks; b0=$MACHINE_BUSY tot0=$MACHINE_TOTAL
    for s in $SERVERS; do
        # shellcheck disable=SC2086 # lists of PIDs
        sum_ns ${PUBS[$s]} || die "a $s publisher exited before the window"; p0[$s]=$SUM_NS
        n0[$s]=0
        if [[ -n ${NET_TID[$s]:-} ]]; then
            task_ns "/proc/${NET_TID[$s]}/task/${NET_TID[$s]}/schedstat" || die "$s's network thread gone"
            n0[$s]=$NS
        fi
        # shellcheck disable=SC2086
        sum_ns ${SERVER_PIDS[$s]} || die "$s gone before the window"; t0[$s]=$SUM_NS
    done
    w0=$EPOCHREALTIME
    sleep "$WINDOW"
    w1=$EPOCHREALTIME
    for s in $SERVERS; do
        # shellcheck disable=SC2086
        sum_ns ${SERVER_PIDS[$s]} || die "$s gone during the window"; CPU_NS[$s]=$((SUM_NS - t0[$s]))
        NET_NS[$s]=${CPU_NS[$s]}
        if [[ -n ${NET_TID[$s]:-} ]]; then
            task_ns "/proc/${NET_TID[$s]}/task/${NET_TID[$s]}/schedstat" || die "$s's network thread gone"
            NET_NS[$s]=$((NS - n0[$s]))
        fi
        # shellcheck disable=SC2086
        if sum_ns ${PUBS[$s]}; then PUB_NS[$s]=$((SUM_NS - p0[$s])); else PUB_NS[$s]=0; fi
    done
    machine_ticks; b1=$MACHINE_BUSY tot1=$MACHINE_TOTAL
    for s in $SERVERS; do
        OUT1[$s]=$(pub_out_times "$s")
        MEDIA_S[$s]=$(awk -v a="${OUT0[$s]}" -v b="${OUT1[$s]}" 'BEGIN { n = split(a, x, " "); split(b, y, " ");
            for (i = 1; i <= n; i++) s += y[i] - x[i]; printf "%.3f", s / 1e6 }')
    done
    ELAPSED=$(awk -v a="${w0/,/.}" -v b="${w1/,/.}" 'BEGIN { printf "%.3f", b - a }')
    BUSY_PCT=$(((b1 - b0) * 100 / (tot1 - tot0 > 0 ? tot1 - tot0 : 1)))
}

record_result() { # SERVER N REP DROPPED
    local s=$1 cpu net pub
    cpu=$(awk -v t="${CPU_NS[$s]}" 'BEGIN { printf "%.4f", t / 1e9 }')
    net=$(awk -v t="${NET_NS[$s]}" 'BEGIN { printf "%.4f", t / 1e9 }')
    pub=$(awk -v t="${PUB_NS[$s]}" 'BEGIN { printf "%.3f", t / 1e9 }')
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$s" "$2" "$3" "$ELAPSED" "${MEDIA_S[$s]}" "$cpu" \
        "$net" "$pub" "$BUSY_PCT" "$4" >>"$TMP/results.tsv"
    log "$s N=$2 run $3: server ${cpu} CPU-s in ${ELAPSED}s ($(awk -v c="$cpu" -v w="$ELAPSED" -v n="$2" \
        'BEGIN { printf "%.2f", c / w / n * 100 }')% per stream)${NET_TID[$s]:+, network thread ${net} CPU-s};" \
        "publishers ${pub} CPU-s; ${MEDIA_S[$s]}s of media sent; machine busy ${BUSY_PCT}%${NET_TID[$s]:+; dropped packets $4}"
}

# ---- shopcast ----
start_shopcast_side() { # N REP
    local n=$1 dir="$TMP/shopcast-n$1-r$2" key urls=()
    SC_RUN_DIR=$dir
    start_shopcast "$dir" --ladder off "${SHOPCAST_ARGS[@]}"
    create_stream "$n"
    for key in "${SC_KEYS[@]}"; do urls+=("rtmp://127.0.0.1:$SC_RTMP/live/$key"); done
    start_publishers shopcast "$dir" "${urls[@]}"
    SERVER_PIDS[shopcast]=$SC_PID
    NET_TID[shopcast]=$SC_PID # the main thread runs the event loop: every socket, RTMP ingest included
}

check_shopcast() { # N REP: prints the dropped packets
    local ok=1
    check_publishers shopcast "$SC_RUN_DIR" || ok=0
    benchlib shopcast-check "$SC_HTTP" "$MIN_KBPS" "${SC_IDS[@]}" || ok=0
    if ((ok == 0)); then
        echo "---- shopcast log (tail) ----" >&2
        tail -n 40 "$SC_RUN_DIR/shopcast.log" >&2
        die "shopcast N=$1 run $2: not every publisher streamed; the figures would be meaningless"
    fi
}

stop_shopcast_side() {
    kill -TERM "$SC_PID" 2>/dev/null || true # stop server and publishers together: quicker
    stop_publishers shopcast
    stop_and_forget "$SC_PID" 20
}

# ---- nginx-rtmp ----
start_nginx_side() { # N REP
    local n=$1 dir="$TMP/nginx-n$1-r$2" rtmp i urls=()
    NG_RUN_DIR=$dir
    nginx_prefix "$dir"
    rtmp=$(freeport)
    NG_STAT=$(freeport)
    cat >"$dir/nginx.conf" <<EOF
$(nginx_main_conf "$dir" info rtmp)
$(nginx_rtmp_conf "$rtmp")
http {
$(nginx_http_common "$dir" "$dir/logs/access.log")
    server {
        listen 127.0.0.1:$NG_STAT;
        location /stat { rtmp_stat all; }
    }
}
EOF
    start_nginx "$dir" "$rtmp"
    ((${#NG_WORKERS[@]} == 1)) || die "expected 1 nginx worker, found ${#NG_WORKERS[@]}"
    for ((i = 0; i < n; i++)); do urls+=("rtmp://127.0.0.1:$rtmp/live/bench$i"); done
    start_publishers nginx "$dir" "${urls[@]}"
    SERVER_PIDS[nginx]="$NG_PID ${NG_WORKERS[*]}"
    NET_TID[nginx]=
}

check_nginx() { # N REP
    local ok=1 w2
    mapfile -t w2 < <(children_of "$NG_PID")
    [[ "${w2[*]}" == "${NG_WORKERS[*]}" ]] || die "nginx worker set changed during the window (${NG_WORKERS[*]} -> ${w2[*]}); a worker crashed?"
    check_publishers nginx "$NG_RUN_DIR" || ok=0
    benchlib nginx-check "$NG_STAT" "$1" "$MIN_KBPS" >&2 || ok=0
    if grep -E '\[(error|crit|alert|emerg)\]' "$NG_RUN_DIR/logs/error.log" >&2; then
        echo "  nginx error log has errors (above)" >&2
        ok=0
    fi
    ((ok == 1)) || die "nginx N=$1 run $2: not every publisher streamed; the figures would be meaningless"
}

stop_nginx_side() {
    kill -TERM "$NG_PID" 2>/dev/null || true
    stop_publishers nginx
    stop_nginx 20
}

# ---- one run: both servers, each with its own N publishers, measured over the same window ----
run_pair() { # N REP
    local n=$1 rep=$2 s dropped=0
    for s in $SERVERS; do "start_${s}_side" "$n" "$rep"; done
    for s in $SERVERS; do
        wait_publishers_streaming "$s" 30 || die "$s N=$n run $rep: not every publisher started streaming within 30 s"
    done
    log "N=$n run $rep: $SERVERS up, each with $n publishers; ${WARMUP}s warm-up, ${WINDOW}s window"
    sleep "$WARMUP"
    measure_window
    if [[ " $SERVERS " == *" shopcast "* ]]; then
        dropped=$(check_shopcast "$n" "$rep")
        record_result shopcast "$n" "$rep" "${dropped:-?}"
    fi
    if [[ " $SERVERS " == *" nginx "* ]]; then
        check_nginx "$n" "$rep"
        record_result nginx "$n" "$rep" 0
    fi
    for s in $SERVERS; do "stop_${s}_side"; done
}

# ---- main ----
nruns=0
for n in $COUNTS; do nruns=$((nruns + REPEAT)); done
log "shopcast: $(shopcast_info);" "this checkout: $(checkout_info)"
# --ladder off: ingest only, like nginx-rtmp's 'live on' with nobody watching. The transcoder
# has its own benchmark (transcode_cpu.sh).
log "shopcast options: --record off --ladder off ${SHOPCAST_ARGS[*]}"
log "nginx: $(nginx -v 2>&1) + $NGINX_RTMP_SO"
log "$nruns runs of ${WARMUP}s warm-up + ${WINDOW}s window, each server with its own publishers at once; N in: $COUNTS; $(nproc) CPUs"
: >"$TMP/results.tsv"
for n in $COUNTS; do
    for ((rep = 1; rep <= REPEAT; rep++)); do run_pair "$n" "$rep"; done
done
if [[ -n ${BENCH_TSV:-} ]]; then cp "$TMP/results.tsv" "$BENCH_TSV"; fi
benchlib report "$TMP/results.tsv"
