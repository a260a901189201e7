# Shared bash helpers of the HLS benchmarks (glass_to_glass, transcode_cpu, part_latency, serving).
# Sourced, never run. The sourcing script sets BENCH_NAME first. Everything listens on 127.0.0.1,
# every process started is remembered by PID and stopped on exit, and the temp dir is removed.
# shellcheck shell=bash

HERE=$(cd "$(dirname "${BASH_SOURCE[1]}")" && pwd)
ROOT=$(cd "$HERE/.." && pwd)
PY=/usr/bin/python3
HLIB="$HERE/lib/hlsbench.py"
SHOPCAST_BIN=${SHOPCAST_BIN:-$ROOT/build-hlsbench/relay/shopcast}
NGINX_RTMP_SO=/usr/lib/nginx/modules/ngx_rtmp_module.so
CACHE=${BENCH_CACHE:-$HERE/.cache}

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

need_tools() { # TOOL...: fails naming every missing one (never installs)
    local t missing=()
    for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
    [[ -x $PY ]] || missing+=("/usr/bin/python3")
    ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]}"
}

need_shopcast() {
    [[ -x $SHOPCAST_BIN ]] || die "shopcast binary not found at $SHOPCAST_BIN; build it with:
  cd $ROOT && meson setup build-hlsbench --buildtype=release && ninja -C build-hlsbench relay/shopcast
or set SHOPCAST_BIN"
}

need_nginx_rtmp() {
    [[ -f $NGINX_RTMP_SO ]] || die "nginx RTMP module not found at $NGINX_RTMP_SO (apt-get install libnginx-mod-rtmp)"
}

check_uint() { # NAME...: each variable must hold a whole number
    local v
    for v in "$@"; do [[ ${!v} =~ ^[0-9]+$ ]] || die "$v must be a whole number, got '${!v}'"; done
}

# ---- processes and cleanup ----
TMP=$(mktemp -d "/tmp/shopcast-$BENCH_NAME.XXXXXX")
PIDS=()
NG_PID= NG_WORKERS=()

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

forget_pid() {
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

stop_and_forget() { # PID [SECONDS]
    stop_pid "$1" TERM "${2:-10}"
    forget_pid "$1"
}

hls_cleanup() {
    local rc=$? i
    trap - EXIT INT TERM
    # an nginx master first (it stops its workers, and would respawn a worker stopped alone),
    # then newest first: publishers and clients stop before the servers they talk to
    [[ -n $NG_PID ]] && stop_pid "$NG_PID" TERM 5
    for ((i = ${#PIDS[@]} - 1; i >= 0; i--)); do stop_pid "${PIDS[$i]}" TERM 5; done
    if [[ ${BENCH_KEEP_TMP:-0} == 1 ]]; then
        echo "$BENCH_NAME: temp dir kept: $TMP" >&2
    else
        rm -rf "$TMP"
    fi
    exit "$rc"
}
trap hls_cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

children_of() { # PID: its direct children
    local d s rest f
    for d in /proc/[0-9]*; do
        { s=$(<"$d/stat"); } 2>/dev/null || continue
        rest=${s##*) }
        read -ra f <<<"$rest"
        [[ ${f[1]} == "$1" ]] && echo "${d#/proc/}"
    done
    return 0
}

cpu_ticks() { # PID...: utime+stime (all threads, live and exited) summed; fails if one is gone
    local t=0 p s rest f
    for p in "$@"; do
        { s=$(<"/proc/$p/stat"); } 2>/dev/null || return 1
        rest=${s##*) }
        read -ra f <<<"$rest"
        t=$((t + f[11] + f[12]))
    done
    echo "$t"
}

freeport() { "$PY" "$HLIB" freeport; }
wait_tcp() { "$PY" "$HLIB" wait-tcp "$@"; }

# ---- machine load: wait for a quiet machine, and record how busy it was ----
load1() { cut -d' ' -f1 /proc/loadavg; }

wait_for_quiet() { # waits (bounded by BENCH_LOAD_WAIT seconds) until load1 <= BENCH_MAX_LOAD
    local max=${BENCH_MAX_LOAD:-1.5} limit=${BENCH_LOAD_WAIT:-600} waited=0
    while awk -v l="$(load1)" -v m="$max" 'BEGIN { exit !(l > m) }'; do
        if ((waited >= limit)); then
            log "load average still $(load1) (> $max) after ${limit}s; measuring anyway (figures are suspect)"
            return 0
        fi
        ((waited % 60 == 0)) && log "load average $(load1) > $max; waiting for a quieter machine (up to ${limit}s)"
        sleep 10
        waited=$((waited + 10))
    done
    log "load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

machine_busy() { # "busy total" jiffies over all CPUs
    local cpu u n s i w q sq st rest
    read -r cpu u n s i w q sq st rest </proc/stat
    echo "$((u + n + s + q + sq + st)) $((u + n + s + i + w + q + sq + st))"
}

# ---- redis + shopcast ----
REDIS_PORT=
start_redis() {
    REDIS_PORT=$(freeport)
    mkdir -p "$TMP/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$TMP/redis" --logfile "$TMP/redis/redis.log" >/dev/null 2>&1 &
    PIDS+=("$!")
    wait_tcp "$REDIS_PORT" 10 || die "redis-server did not start (see $TMP/redis/redis.log)"
}

SC_PID= SC_HTTP= SC_RTMP= SC_TOKEN= SC_DIR=
start_shopcast() { # DIR EXTRA_ARG...: sets SC_PID SC_HTTP SC_RTMP SC_TOKEN SC_DIR
    local i
    SC_DIR=$1
    shift
    mkdir -p "$SC_DIR"
    SC_HTTP=$(freeport)
    SC_RTMP=$(freeport)
    "$SHOPCAST_BIN" --http-listen "127.0.0.1:$SC_HTTP" --rtmp-listen "127.0.0.1:$SC_RTMP" \
        --redis "redis://127.0.0.1:$REDIS_PORT" --redis-prefix "$BENCH_NAME-$RANDOM$RANDOM:" \
        --data-dir "$SC_DIR/data" --record off --web-dir "$ROOT/web" "$@" \
        >"$SC_DIR/shopcast.log" 2>&1 &
    SC_PID=$!
    PIDS+=("$SC_PID")
    for ((i = 0; i < 150; i++)); do
        kill -0 "$SC_PID" 2>/dev/null || { tail -n 30 "$SC_DIR/shopcast.log" >&2; die "shopcast exited at start"; }
        [[ -s $SC_DIR/data/operator-token ]] && "$PY" "$HLIB" http-ok "http://127.0.0.1:$SC_HTTP/healthz" 0.3 && break
        sleep 0.1
    done
    [[ -s $SC_DIR/data/operator-token ]] || die "shopcast did not start (see $SC_DIR/shopcast.log)"
    SC_TOKEN=$(<"$SC_DIR/data/operator-token")
}

SC_ID= SC_KEY=
create_stream() { # sets SC_ID and SC_KEY
    local out
    out=$("$PY" "$HLIB" create "$SC_HTTP" "$SC_TOKEN") || die "could not create a shopcast stream"
    read -r SC_ID SC_KEY <<<"$out"
}

versions() { # one line per component, for the report
    echo "shopcast: $SHOPCAST_BIN (built $(date -u -r "$SHOPCAST_BIN" +%FT%TZ), sha256 $(sha256sum "$SHOPCAST_BIN" | cut -c1-12)), checkout $(cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo unknown)"
    echo "ffmpeg: $(ffmpeg -hide_banner -version 2>/dev/null | head -n1)"
    if command -v nginx >/dev/null; then
        echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //') + libnginx-mod-rtmp $(dpkg-query -W -f='${Version}' libnginx-mod-rtmp 2>/dev/null || echo '?')"
    fi
    echo "host: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

# ---- the 720p30 H.264 2.5 Mbit/s + AAC test clip (same recipe and file name as ingest_cpu.sh) ----
test_clip() { # prints the clip's path, encoding it once into the cache
    local secs=${BENCH_CLIP_S:-20} clip
    mkdir -p "$CACHE"
    clip="$CACHE/clip-720p30-h264-2500k-aac-${secs}s.flv"
    if [[ ! -s $clip ]]; then
        log "encoding the ${secs}s 720p30 2.5 Mbit/s H.264 + AAC test clip into $clip"
        ffmpeg -hide_banner -nostdin -loglevel error -y \
            -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t+u" \
            -f lavfi -i "sine=frequency=440:sample_rate=48000" -t "$secs" -map 0:v -map 1:a \
            -c:v libx264 -preset veryfast -profile:v high -pix_fmt yuv420p \
            -b:v 2500k -maxrate 2500k -bufsize 2500k -g 60 -keyint_min 60 -sc_threshold 0 \
            -c:a aac -b:a 128k -ac 2 -f flv "$TMP/clip.flv" || die "encoding the test clip failed"
        mv "$TMP/clip.flv" "$clip"
    fi
    echo "$clip"
}

# ---- the clock camera (bench/lib/clockgen.py) encoded and published by ffmpeg ----
# The camera's own encoder is not what is measured, and on 2 cores it competes with the server
# (and the browser): it uses x264 ultrafast by default (a third of veryfast's CPU at the same
# 2.5 Mbit/s). BENCH_CAMERA_PRESET and BENCH_CAMERA_NOISE (grain, luma levels) change that;
# BENCH_CAMERA_AUDIO=0 publishes video only (no AAC tone).
PUB_PIDS=()
start_clock_publisher() { # DIR RTMP_URL: runs until stop_clock_publisher (or PUB_SECONDS)
    local dir=$1 url=$2
    mkfifo "$dir/frames.yuv"
    local audio=(-f lavfi -i "sine=frequency=440:sample_rate=48000" -map 0:v -map 1:a
        -c:a aac -b:a 96k -ac 2)
    [[ ${BENCH_CAMERA_AUDIO:-1} == 0 ]] && audio=(-map 0:v)
    ffmpeg -hide_banner -nostdin -loglevel warning \
        -f rawvideo -pix_fmt yuv420p -s 1280x720 -framerate 30 -i "$dir/frames.yuv" \
        "${audio[@]}" -c:v libx264 -preset "${BENCH_CAMERA_PRESET:-ultrafast}" -tune zerolatency \
        -g 30 -pix_fmt yuv420p -b:v 2500k -maxrate 2500k -bufsize 2500k \
        -f flv "$url" >"$dir/publisher.log" 2>&1 &
    PUB_PIDS=("$!")
    PIDS+=("$!")
    "$PY" "$HERE/lib/clockgen.py" --fps 30 --seconds "${PUB_SECONDS:-600}" --noise "${BENCH_CAMERA_NOISE:-8}" \
        --stats "$dir/clockgen.stats" >"$dir/frames.yuv" 2>"$dir/clockgen.log" &
    PUB_PIDS+=("$!")
    PIDS+=("$!")
}

stop_clock_publisher() {
    local i
    # the camera first: ffmpeg then sees the end of its input and finishes the stream
    for ((i = ${#PUB_PIDS[@]} - 1; i >= 0; i--)); do stop_and_forget "${PUB_PIDS[$i]}" 10; done
    PUB_PIDS=()
}

check_clock_publisher() { # NAME DIR: the publisher must still be running
    local p
    for p in "${PUB_PIDS[@]}"; do
        kill -0 "$p" 2>/dev/null || { tail -n 20 "$2/publisher.log" >&2; die "$1: the publisher stopped early"; }
    done
}

# ---- nginx: a prefix dir with the temp paths nginx wants ----
nginx_prefix() { # DIR
    mkdir -p "$1/logs" "$1/tmp"
    # run as root, nginx's workers are "nobody": they must reach (and for HLS, write) these dirs
    chmod 755 "$TMP" "$1"
}

nginx_http_common() { # DIR: the http{} lines every config shares
    cat <<EOF
    access_log off;
    client_body_temp_path $1/tmp/body;
    proxy_temp_path $1/tmp/proxy;
    fastcgi_temp_path $1/tmp/fastcgi;
    uwsgi_temp_path $1/tmp/uwsgi;
    scgi_temp_path $1/tmp/scgi;
EOF
}

start_nginx() { # DIR PORT_TO_WAIT_FOR: starts nginx -p DIR -c DIR/nginx.conf; sets NG_PID, NG_WORKERS
    local dir=$1 port=$2 i
    nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/logs/error.log" >"$dir/nginx.out" 2>&1 &
    NG_PID=$!
    PIDS+=("$NG_PID")
    wait_tcp "$port" 10 || { cat "$dir/nginx.out" "$dir/logs/error.log" >&2; die "nginx did not start"; }
    for ((i = 0; i < 50; i++)); do
        mapfile -t NG_WORKERS < <(children_of "$NG_PID")
        ((${#NG_WORKERS[@]} >= 1)) && break
        sleep 0.1
    done
    ((${#NG_WORKERS[@]} >= 1)) || die "nginx started no worker"
    PIDS+=("${NG_WORKERS[@]}") # a worker outlives a killed master
}

stop_nginx() {
    local w
    stop_and_forget "$NG_PID" 10
    for w in "${NG_WORKERS[@]}"; do stop_and_forget "$w" 5; done
    NG_PID=
    NG_WORKERS=()
}
