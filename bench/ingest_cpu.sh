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

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
LIB="$HERE/lib/benchlib.py"

SHOPCAST_BIN=${SHOPCAST_BIN:-$ROOT/build-bench/relay/shopcast}
COUNTS=${BENCH_COUNTS:-"1 4 8"}
WARMUP=${BENCH_WARMUP:-3}
WINDOW=${BENCH_WINDOW:-20}
REPEAT=${BENCH_REPEAT:-2}
CLIP_S=${BENCH_CLIP_S:-20}
MIN_KBPS=${BENCH_MIN_KBPS:-500}
CACHE=${BENCH_CACHE:-$HERE/.cache}
SERVERS=${BENCH_SERVERS:-"shopcast nginx"}
NGINX_RTMP_SO=/usr/lib/nginx/modules/ngx_rtmp_module.so
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"

die() { echo "ingest_cpu: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

for v in WARMUP WINDOW REPEAT CLIP_S MIN_KBPS; do
    [[ ${!v} =~ ^[0-9]+$ ]] || die "BENCH_$v must be a whole number, got '${!v}'"
done
((WINDOW >= 5)) || die "BENCH_WINDOW must be at least 5 seconds"
((REPEAT >= 1 && REPEAT <= 20)) || die "BENCH_REPEAT must be 1..20"
for n in $COUNTS; do
    [[ $n =~ ^[0-9]+$ ]] && ((n >= 1 && n <= 64)) || die "BENCH_COUNTS entries must be 1..64, got '$n'"
done

# ---- tools (checked, never installed) ----
missing=()
for t in ffmpeg ffprobe redis-server nginx getconf; do
    command -v "$t" >/dev/null 2>&1 || missing+=("$t")
done
[[ -x $PY ]] || missing+=("/usr/bin/python3")
((${#missing[@]} == 0)) || die "missing tools: ${missing[*]} (Debian: apt-get install ffmpeg redis-server nginx libnginx-mod-rtmp python3)"
[[ -f $NGINX_RTMP_SO ]] || die "nginx RTMP module not found at $NGINX_RTMP_SO (Debian: apt-get install libnginx-mod-rtmp; check with dpkg -L libnginx-mod-rtmp)"
[[ $(ffmpeg -hide_banner -encoders 2>/dev/null) == *" libx264 "* ]] || die "ffmpeg has no libx264 encoder"
[[ -x $SHOPCAST_BIN ]] || die "shopcast binary not found at $SHOPCAST_BIN; build it with:
  cd $ROOT && meson setup build-bench --buildtype=release && ninja -C build-bench relay/shopcast
or set SHOPCAST_BIN"
TCK=$(getconf CLK_TCK)

# ---- process bookkeeping and cleanup ----
TMP=$(mktemp -d /tmp/shopcast-bench.XXXXXX)
PIDS=()   # every process this script started (by PID)
NET_TID=  # see measure_window

stop_pid() { # PID SIGNAL SECONDS: signal, wait up to SECONDS, then SIGKILL
    local pid=$1 sig=$2 secs=$3 i
    kill -0 "$pid" 2>/dev/null || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < secs * 10; i++)); do
        kill -0 "$pid" 2>/dev/null || break
        sleep 0.1
    done
    if kill -0 "$pid" 2>/dev/null; then
        log "PID $pid did not exit on SIG$sig within ${secs}s; killing"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
}

cleanup() {
    local rc=$? pid
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        stop_pid "$pid" TERM 5
    done
    if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then
        echo "ingest_cpu: temp dir kept: $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

forget_pid() { # drop a stopped PID from PIDS
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

# utime+stime in clock ticks from a stat file: /proc/PID/stat (all threads of the process, live
# and exited) or /proc/PID/task/TID/stat (one thread)
# Sampling uses bash builtins only (no fork), so it stays quick and cheap on a saturated host.
stat_ticks() { # FILE: sets TICKS; fails if the process or thread is gone
    local line rest f
    { read -r line <"$1"; } 2>/dev/null || return 1
    rest=${line##*) }
    read -ra f <<<"$rest"
    TICKS=$((f[11] + f[12]))
}

# children of PID (one level), from /proc/*/stat
children_of() {
    local d s rest f
    for d in /proc/[0-9]*; do
        { s=$(<"$d/stat"); } 2>/dev/null || continue
        rest=${s##*) }
        read -ra f <<<"$rest"
        [[ ${f[1]} == "$1" ]] && echo "${d#/proc/}"
    done
    return 0
}

sum_ticks() { # PID...: sets SUM to the sum of utime+stime; fails if any process is gone
    local p
    SUM=0
    for p in "$@"; do
        stat_ticks "/proc/$p/stat" || return 1
        SUM=$((SUM + TICKS))
    done
}

machine_ticks() { # sets BUSY and TOTAL: ticks over all CPUs from /proc/stat
    local cpu u n s i w q sq st rest
    read -r cpu u n s i w q sq st rest </proc/stat
    BUSY=$((u + n + s + q + sq + st))
    TOTAL=$((BUSY + i + w))
}

freeport() { "$PY" "$LIB" freeport; }

# ---- the test clip (encoded once, cached) ----
mkdir -p "$CACHE"
CLIP="$CACHE/clip-720p30-h264-2500k-aac-${CLIP_S}s.flv"
if [[ ! -s $CLIP ]]; then
    log "encoding the ${CLIP_S}s 720p30 2.5 Mbit/s H.264 + AAC test clip into $CLIP"
    ffmpeg -hide_banner -nostdin -loglevel error -y \
        -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t+u" \
        -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$CLIP_S" -map 0:v -map 1:a \
        -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p \
        -b:v 2500k -maxrate 2500k -bufsize 2500k -g 60 -keyint_min 60 -sc_threshold 0 \
        -c:a aac -b:a 128k -ac 2 -f flv "$TMP/clip.flv" || die "encoding the test clip failed"
    mv "$TMP/clip.flv" "$CLIP"
fi
CLIP_INFO=$(ffprobe -hide_banner -v error -show_entries format=duration,bit_rate \
    -of default=nw=1 "$CLIP" | tr '\n' ' ')
log "clip: $CLIP ($CLIP_INFO)"

# ---- Redis for shopcast (one for the whole run; every run gets its own key prefix) ----
REDIS_PORT=$(freeport)
mkdir -p "$TMP/redis"
redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
    --dir "$TMP/redis" --logfile "$TMP/redis/redis.log" >/dev/null 2>&1 &
REDIS_PID=$!
PIDS+=("$REDIS_PID")
"$PY" "$LIB" wait-tcp "$REDIS_PORT" 10 || die "redis-server did not start (see $TMP/redis/redis.log)"

# ---- publishers ----
PUB_PIDS=()
PUB_PROGRESS=()

start_publishers() { # RUN_DIR URL...
    local dir=$1 i=0 url
    shift
    PUB_PIDS=()
    PUB_PROGRESS=()
    for url in "$@"; do
        : >"$dir/pub$i.progress"
        ffmpeg -hide_banner -nostdin -loglevel warning -re -stream_loop -1 -i "$CLIP" \
            -c copy -f flv -progress "$dir/pub$i.progress" -stats_period 0.5 "$url" \
            >"$dir/pub$i.log" 2>&1 &
        PUB_PIDS+=("$!")
        PIDS+=("$!")
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
    for p in "${PUB_PIDS[@]}"; do stop_pid "$p" TERM 10; forget_pid "$p"; done
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
    machine_ticks; b0=$BUSY tot0=$TOTAL
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
    machine_ticks; b1=$BUSY tot1=$TOTAL
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
    local n=$1 rep=$2 dir="$TMP/shopcast-n$1-r$2" http rtmp pid token i ids=() urls=() line
    mkdir -p "$dir"
    http=$(freeport)
    rtmp=$(freeport)
    "$SHOPCAST_BIN" --http-listen "127.0.0.1:$http" --rtmp-listen "127.0.0.1:$rtmp" \
        --redis "redis://127.0.0.1:$REDIS_PORT" --redis-prefix "bench-n$n-r$rep:" \
        --data-dir "$dir/data" --record off --ladder off "${SHOPCAST_ARGS[@]}" >"$dir/shopcast.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for ((i = 0; i < 150; i++)); do
        kill -0 "$pid" 2>/dev/null || { cat "$dir/shopcast.log" >&2; die "shopcast exited at start"; }
        [[ -s $dir/data/operator-token ]] && "$PY" "$LIB" wait-tcp "$rtmp" 0.2 && break
        sleep 0.1
    done
    [[ -s $dir/data/operator-token ]] || die "shopcast did not start (see $dir/shopcast.log)"
    "$PY" "$LIB" wait-tcp "$http" 10 || die "shopcast HTTP did not come up"
    token=$(<"$dir/data/operator-token")
    while read -r line; do
        ids+=("${line%% *}")
        urls+=("${line#* }")
    done < <("$PY" "$LIB" shopcast-create "$http" "$token" "$n" || echo FAIL)
    ((${#ids[@]} == n)) && [[ ${ids[-1]} != FAIL ]] || die "could not create $n shopcast streams"

    log "shopcast N=$n run $rep: server up, $n streams created; publishing"
    start_publishers "$dir" "${urls[@]}"
    wait_publishers_streaming 30 || die "shopcast N=$n run $rep: not every publisher started streaming within 30 s"
    sleep "$WARMUP"
    SERVER_PIDS=("$pid")
    NET_TID=$pid # the main thread runs the event loop: every socket, RTMP ingest included
    measure_window
    log "shopcast N=$n run $rep: checking every publisher streamed"
    local ok=1 dropped
    check_publishers "$dir" "$OUT0" "$OUT1" || ok=0
    dropped=$("$PY" "$LIB" shopcast-check "$http" "$MIN_KBPS" "${ids[@]}") || ok=0
    if ((ok == 0)); then
        echo "---- shopcast log (tail) ----" >&2
        tail -n 40 "$dir/shopcast.log" >&2
        die "shopcast N=$n run $rep: not every publisher streamed; the figures would be meaningless"
    fi
    record_result shopcast "$n" "$rep" "${dropped:-?}"
    kill -TERM "$pid" 2>/dev/null || true # stop server and publishers together: quicker
    stop_publishers
    stop_pid "$pid" TERM 20
    forget_pid "$pid"
    log "shopcast N=$n run $rep: stopped"
}

# ---- one nginx-rtmp run ----
run_nginx() { # N REP
    local n=$1 rep=$2 dir="$TMP/nginx-n$1-r$2" rtmp stat pid i w urls=() workers=() w2
    mkdir -p "$dir/logs" "$dir/tmp"
    rtmp=$(freeport)
    stat=$(freeport)
    cat >"$dir/nginx.conf" <<EOF
load_module $NGINX_RTMP_SO;
daemon off;
master_process on;
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/logs/error.log info;
events { worker_connections 1024; }
rtmp {
    server {
        listen 127.0.0.1:$rtmp;
        chunk_size 4096;
        application live {
            live on;
            record off;
        }
    }
}
http {
    access_log $dir/logs/access.log;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    server {
        listen 127.0.0.1:$stat;
        location /stat { rtmp_stat all; }
    }
}
EOF
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >"$dir/nginx.out" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    "$PY" "$LIB" wait-tcp "$rtmp" 10 || { cat "$dir/nginx.out" "$dir/logs/error.log" >&2; die "nginx did not start"; }
    for ((i = 0; i < 50; i++)); do
        mapfile -t workers < <(children_of "$pid")
        ((${#workers[@]} >= 1)) && break
        sleep 0.1
    done
    ((${#workers[@]} == 1)) || die "expected 1 nginx worker, found ${#workers[@]}"
    PIDS+=("${workers[@]}") # a worker outlives a killed master; clean it up too
    for ((i = 0; i < n; i++)); do urls+=("rtmp://127.0.0.1:$rtmp/live/bench$i"); done

    start_publishers "$dir" "${urls[@]}"
    wait_publishers_streaming 30 || die "nginx N=$n run $rep: not every publisher started streaming within 30 s"
    sleep "$WARMUP"
    SERVER_PIDS=("$pid" "${workers[@]}")
    NET_TID=
    measure_window
    mapfile -t w2 < <(children_of "$pid")
    [[ "${w2[*]}" == "${workers[*]}" ]] || die "nginx worker set changed during the window (${workers[*]} -> ${w2[*]}); a worker crashed?"
    log "nginx N=$n run $rep: checking every publisher streamed"
    local ok=1
    check_publishers "$dir" "$OUT0" "$OUT1" || ok=0
    "$PY" "$LIB" nginx-check "$stat" "$n" "$MIN_KBPS" >&2 || ok=0
    if grep -E '\[(error|crit|alert|emerg)\]' "$dir/logs/error.log" >&2; then
        echo "  nginx error log has errors (above)" >&2
        ok=0
    fi
    ((ok == 1)) || die "nginx N=$n run $rep: not every publisher streamed; the figures would be meaningless"
    record_result nginx "$n" "$rep" 0
    kill -TERM "$pid" 2>/dev/null || true
    stop_publishers
    stop_pid "$pid" TERM 20
    forget_pid "$pid"
    for w in "${workers[@]}"; do stop_pid "$w" TERM 5; forget_pid "$w"; done
}

# ---- main ----
nruns=0
for n in $COUNTS; do for server in $SERVERS; do nruns=$((nruns + REPEAT)); done; done
log "shopcast: $SHOPCAST_BIN (built $(date -u -r "$SHOPCAST_BIN" +%FT%TZ), sha256 $(sha256sum "$SHOPCAST_BIN" | cut -c1-12));" \
    "this checkout: $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo unknown)"
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
"$PY" "$LIB" report "$TMP/results.tsv"
