# Shared bash helpers of every benchmark in bench/ (ingest_cpu, glass_to_glass, transcode_cpu,
# part_latency, serving, edge_cache, overlay_cost). Sourced, never run. It only defines functions: sourcing it
# starts nothing, creates nothing and sets no trap. A script sources it, then calls bench_init NAME,
# which sets the globals, makes the temp dir and installs the cleanup. Everything listens on
# 127.0.0.1, every process started is remembered by PID (in PIDS) and stopped on exit, and the
# temp dir is removed (kept with BENCH_KEEP_TMP=1).
# shellcheck shell=bash

# ---- set-up ----

# NAME [BUILD_DIR]: NAME prefixes error messages, the temp dir and Redis keys; the default
# SHOPCAST_BIN is ROOT/BUILD_DIR/relay/shopcast (BUILD_DIR: build-hlsbench).
# Sets HERE (bench/), ROOT, PY, BENCHLIB, SHOPCAST_BIN, NGINX_RTMP_SO, CACHE, TMP and the
# process bookkeeping below; traps EXIT (bench_cleanup), INT and TERM.
bench_init() {
    BENCH_NAME=$1
    HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
    ROOT=$(cd "$HERE/.." && pwd)
    PY=/usr/bin/python3
    BENCHLIB="$HERE/lib/benchlib.py"
    SHOPCAST_BUILD=${2:-build-hlsbench}
    SHOPCAST_BIN=${SHOPCAST_BIN:-$ROOT/$SHOPCAST_BUILD/relay/shopcast}
    NGINX_RTMP_SO=/usr/lib/nginx/modules/ngx_rtmp_module.so
    CACHE=${BENCH_CACHE:-$HERE/.cache}
    # shellcheck disable=SC2034 # set here for set -u; the scripts read them
    {
        PIDS=()                                          # every process started, oldest first
        NG_PID='' NG_WORKERS=()                          # start_nginx
        REDIS_PORT=''                                    # start_redis
        SC_PID='' SC_HTTP='' SC_RTMP='' SC_TOKEN='' SC_DIR='' # start_shopcast
        SC_ID='' SC_KEY='' SC_IDS=() SC_KEYS=()          # create_stream
        PUB_PID='' PUB_PIDS=()                           # start_clip_publisher, start_clock_publisher
        FF_PID=''                                        # start_ffmpeg_ladder
    }
    TMP=$(mktemp -d "/tmp/shopcast-$BENCH_NAME.XXXXXX")
    trap bench_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
}

bench_cleanup() {
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

die() { echo "$BENCH_NAME: $*" >&2; exit 1; }
log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }

benchlib() { "$PY" "$BENCHLIB" "$@"; } # SUBCOMMAND ARG...: see lib/benchlib.py

# ---- checks (they never install anything) ----

need_tools() { # [--hint TEXT] TOOL...: fails naming every missing one (and /usr/bin/python3)
    local t hint='' missing=()
    if [[ ${1:-} == --hint ]]; then hint=" ($2)"; shift 2; fi
    for t in "$@"; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
    [[ -x $PY ]] || missing+=("/usr/bin/python3")
    ((${#missing[@]} == 0)) || die "missing tools: ${missing[*]}$hint"
}

need_shopcast() {
    [[ -x $SHOPCAST_BIN ]] || die "shopcast binary not found at $SHOPCAST_BIN; build it with:
  cd $ROOT && meson setup $SHOPCAST_BUILD --buildtype=release && ninja -C $SHOPCAST_BUILD relay/shopcast
or set SHOPCAST_BIN"
}

# shellcheck disable=SC2120 # the argument is optional
need_nginx_rtmp() { # [HINT]: how to get the module, for the error message
    [[ -f $NGINX_RTMP_SO ]] || die "nginx RTMP module not found at $NGINX_RTMP_SO (${1:-apt-get install libnginx-mod-rtmp})"
}

need_libx264() {
    [[ $(ffmpeg -hide_banner -encoders 2>/dev/null) == *" libx264 "* ]] || die "ffmpeg has no libx264 encoder"
}

check_uint() { # [--env] NAME...: each variable must hold a whole number (--env: name it BENCH_NAME)
    local v pre=
    if [[ ${1:-} == --env ]]; then pre=BENCH_; shift; fi
    for v in "$@"; do [[ ${!v} =~ ^[0-9]+$ ]] || die "$pre$v must be a whole number, got '${!v}'"; done
}

# ---- processes ----

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

forget_pid() { # PID: drop a stopped process from PIDS
    local p keep=()
    for p in "${PIDS[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

stop_and_forget() { # PID [SECONDS]
    stop_pid "$1" TERM "${2:-10}"
    forget_pid "$1"
}

# /proc/PID/stat (all threads of the process, live and exited) or /proc/PID/task/TID/stat (one
# thread), read with bash builtins only (no fork), so that sampling stays quick and cheap on a
# saturated host.
read_stat() { # FILE: sets STAT to the fields after "(comm) " (STAT[0] is the state); fails if gone
    local line
    { read -r line <"$1"; } 2>/dev/null || return 1
    read -ra STAT <<<"${line##*) }"
}

stat_ticks() { # FILE: sets TICKS to utime+stime in clock ticks; fails if the process or thread is gone
    read_stat "$1" || return 1
    TICKS=$((STAT[11] + STAT[12]))
}

sum_ticks() { # PID...: sets SUM to the sum of utime+stime; fails if any process is gone
    local p
    SUM=0
    for p in "$@"; do
        stat_ticks "/proc/$p/stat" || return 1
        SUM=$((SUM + TICKS))
    done
}

# CPU time in nanoseconds from the scheduler (/proc/PID/task/TID/schedstat, first field): the
# clock ticks above move in 10 ms steps, which is most of what a quiet server uses in a window.
# A live thread's time only: a thread that exited during the window is not counted.
task_ns() { # FILE (a schedstat file): sets NS; fails if the thread is gone
    local ns
    { read -r ns _ <"$1"; } 2>/dev/null || return 1
    NS=$ns
}

sum_ns() { # PID...: sets SUM_NS to the CPU ns of every live thread of each; fails if any is gone
    local p f
    SUM_NS=0
    for p in "$@"; do
        [[ -d /proc/$p/task ]] || return 1
        for f in /proc/"$p"/task/*/schedstat; do
            task_ns "$f" && SUM_NS=$((SUM_NS + NS))
        done
    done
}

cpu_ticks() { # PID...: prints what sum_ticks sets
    sum_ticks "$@" || return 1
    echo "$SUM"
}

children_of() { # PID: its direct children
    local d
    for d in /proc/[0-9]*; do
        read_stat "$d/stat" || continue
        [[ ${STAT[1]} == "$1" ]] && echo "${d#/proc/}"
    done
    return 0
}

freeport() { benchlib freeport; }
wait_tcp() { benchlib wait-tcp "$@"; } # PORT SECONDS

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

machine_ticks() { # sets MACHINE_BUSY and MACHINE_TOTAL: ticks over all CPUs from /proc/stat (no fork)
    local u n s i w q sq st rest
    read -r _ u n s i w q sq st rest </proc/stat
    MACHINE_BUSY=$((u + n + s + q + sq + st))
    MACHINE_TOTAL=$((MACHINE_BUSY + i + w))
}

machine_busy() { # prints "busy total" jiffies over all CPUs
    machine_ticks
    echo "$MACHINE_BUSY $MACHINE_TOTAL"
}

# ---- what was measured ----
shopcast_info() { # the binary, when it was built, its hash
    echo "$SHOPCAST_BIN (built $(date -u -r "$SHOPCAST_BIN" +%FT%TZ), sha256 $(sha256sum "$SHOPCAST_BIN" | cut -c1-12))"
}

checkout_info() ( cd "$ROOT" && git describe --always --dirty 2>/dev/null || echo unknown )

versions() { # one line per component, for the report
    echo "shopcast: $(shopcast_info), checkout $(checkout_info)"
    echo "ffmpeg: $(ffmpeg -hide_banner -version 2>/dev/null | head -n1)"
    if command -v nginx >/dev/null; then
        echo "nginx: $(nginx -v 2>&1 | sed 's/^nginx version: //') + libnginx-mod-rtmp $(dpkg-query -W -f='${Version}' libnginx-mod-rtmp 2>/dev/null || echo '?')"
    fi
    echo "host: $(nproc) CPUs, $(uname -r), load average $(cut -d' ' -f1-3 /proc/loadavg)"
}

log_versions() {
    local l
    versions | while read -r l; do log "$l"; done
}

# ---- redis + shopcast ----
start_redis() { # one for the whole run (every shopcast gets its own key prefix); sets REDIS_PORT
    REDIS_PORT=$(freeport)
    mkdir -p "$TMP/redis"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly no \
        --dir "$TMP/redis" --logfile "$TMP/redis/redis.log" >/dev/null 2>&1 &
    PIDS+=("$!")
    wait_tcp "$REDIS_PORT" 10 || die "redis-server did not start (see $TMP/redis/redis.log)"
}

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
        [[ -s $SC_DIR/data/operator-token ]] && benchlib http-ok "http://127.0.0.1:$SC_HTTP/healthz" 0.3 && break
        sleep 0.1
    done
    [[ -s $SC_DIR/data/operator-token ]] || die "shopcast did not start (see $SC_DIR/shopcast.log)"
    SC_TOKEN=$(<"$SC_DIR/data/operator-token")
}

# shellcheck disable=SC2120 # the argument is optional
create_stream() { # [N]: creates N (1) streams; sets SC_IDS and SC_KEYS, SC_ID and SC_KEY (the first)
    local n=${1:-1} out id key
    SC_IDS=() SC_KEYS=()
    out=$(benchlib create "$SC_HTTP" "$SC_TOKEN" "$n") || out=
    while read -r id key; do
        if [[ -n $key ]]; then SC_IDS+=("$id") SC_KEYS+=("$key"); fi
    done <<<"$out"
    if ((${#SC_IDS[@]} != n)); then
        ((n == 1)) && die "could not create a shopcast stream"
        die "could not create $n shopcast streams"
    fi
    # shellcheck disable=SC2034 # read by the scripts
    SC_ID=${SC_IDS[0]} SC_KEY=${SC_KEYS[0]}
}

# ---- the 720p30 H.264 2.5 Mbit/s + AAC test clip ----
# shellcheck disable=SC2120 # the argument is optional
test_clip() { # [SECONDS]: prints the clip's path, encoding it once into the cache (BENCH_CLIP_S, 20)
    local secs=${1:-${BENCH_CLIP_S:-20}} clip
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

log_clip() { # CLIP: logs its path, duration and bitrate
    local info
    info=$(ffprobe -hide_banner -v error -show_entries format=duration,bit_rate -of default=nw=1 "$1" | tr '\n' ' ')
    log "clip: $1 ($info)"
}

start_clip_publisher() { # CLIP LOG URL [OUTPUT_OPTION...]: ffmpeg loops CLIP in real time to URL; sets PUB_PID
    local clip=$1 out=$2 url=$3
    shift 3
    ffmpeg -hide_banner -nostdin -loglevel warning -re -stream_loop -1 -i "$clip" \
        -c copy -f flv "$@" "$url" >"$out" 2>&1 &
    PUB_PID=$!
    PIDS+=("$PUB_PID")
}

# ---- the peer ladder: the ffmpeg CLI making shopcast's default ladder as HLS ----
# It receives RTMP itself (-listen 1) and runs split -> [1280x720 as is | scale 640x360
# bilinear] -> two libx264 veryfast tune zerolatency encodes (2500k / 800k, maxrate = bufsize =
# bitrate, no B-frames, rc-lookahead 0, scenecut 0, an IDR every 1 s), AAC copied, -f hls fMP4
# with 1 s segments: the encoder settings of relay/media/transcode.c.
start_ffmpeg_ladder() { # DIR PORT: listens on rtmp://127.0.0.1:PORT/live/bench; DIR/hls, DIR/progress; sets FF_PID
    local dir=$1 port=$2
    mkdir -p "$dir/hls"
    ffmpeg -hide_banner -nostdin -loglevel warning -listen 1 -i "rtmp://127.0.0.1:$port/live/bench" \
        -filter_complex "[0:v]split=2[v0][s1];[s1]scale=640:360:flags=bilinear[v1]" \
        -map "[v0]" -map "[v1]" -map 0:a -map 0:a \
        -c:v libx264 -preset veryfast -tune zerolatency -bf 0 -pix_fmt yuv420p \
        -x264-params scenecut=0:open-gop=0:rc-lookahead=0 -forced-idr 1 \
        -force_key_frames "expr:gte(t,n_forced*1)" \
        -b:v:0 2500k -maxrate:v:0 2500k -bufsize:v:0 2500k \
        -b:v:1 800k -maxrate:v:1 800k -bufsize:v:1 800k -c:a copy \
        -f hls -hls_time 1 -hls_list_size 6 -hls_flags delete_segments+independent_segments \
        -hls_segment_type fmp4 -master_pl_name master.m3u8 \
        -var_stream_map "v:0,a:0,name:720p v:1,a:1,name:360p" \
        -hls_segment_filename "$dir/hls/%v/seg-%d.m4s" \
        -progress "$dir/progress" -stats_period 0.5 "$dir/hls/%v/media.m3u8" \
        >"$dir/ffmpeg.log" 2>&1 &
    FF_PID=$!
    PIDS+=("$FF_PID")
}

progress_us() { # FILE: the last out_time_us in an ffmpeg -progress file (0 if none yet)
    local v
    v=$(grep -a '^out_time_us=' "$1" 2>/dev/null | tail -n1 | cut -d= -f2)
    [[ $v =~ ^[0-9]+$ ]] && echo "$v" || echo 0
}

# ---- the clock camera (bench/lib/clockgen.py) encoded and published by ffmpeg ----
# The camera's own encoder is not what is measured, and on 2 cores it competes with the server
# (and the browser): it uses x264 ultrafast by default (a third of veryfast's CPU at the same
# 2.5 Mbit/s). BENCH_CAMERA_PRESET and BENCH_CAMERA_NOISE (grain, luma levels) change that;
# BENCH_CAMERA_AUDIO=0 publishes video only (no AAC tone). BENCH_PICTURE=still films a still
# picture: flat grey (no grain unless BENCH_CAMERA_NOISE says) where only the clock row changes,
# which the encoders turn into parts of a few KB (the case that kept hls.js on the lowest rung).
start_clock_publisher() { # DIR RTMP_URL: runs until stop_clock_publisher (or PUB_SECONDS); sets PUB_PIDS
    local dir=$1 url=$2 picture=() noise=${BENCH_CAMERA_NOISE:-8}
    case ${BENCH_PICTURE:-moving} in
    moving) ;;
    still) picture=(--still) noise=${BENCH_CAMERA_NOISE:-0} ;;
    *) die "BENCH_PICTURE must be moving or still" ;;
    esac
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
    "$PY" "$HERE/lib/clockgen.py" --fps 30 --seconds "${PUB_SECONDS:-600}" --noise "$noise" "${picture[@]}" \
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

# ---- nginx (Debian's, + libnginx-mod-rtmp): a prefix dir per server, configs built from parts ----
nginx_prefix() { # DIR: the dirs nginx -p DIR wants
    mkdir -p "$1/logs" "$1/tmp"
    # run as root, nginx's workers are "nobody": they must reach (and for HLS, write) these dirs
    chmod 755 "$TMP" "$1"
}

nginx_main_conf() { # DIR ERROR_LOG_LEVEL [rtmp]: the main-context lines (rtmp: load the RTMP module)
    [[ ${3:-} == rtmp ]] && echo "load_module $NGINX_RTMP_SO;"
    cat <<EOF
daemon off;
master_process on;
worker_processes 1;
pid $1/nginx.pid;
error_log $1/logs/error.log $2;
events { worker_connections 1024; }
EOF
}

nginx_rtmp_conf() { # PORT [DIRECTIVE...]: rtmp{} with "application live" (live on), plus DIRECTIVEs
    local d
    cat <<EOF
rtmp {
    server {
        listen 127.0.0.1:$1;
        chunk_size 4096;
        application live {
            live on;
            record off;
EOF
    shift
    for d in "$@"; do echo "            $d"; done
    cat <<EOF
        }
    }
}
EOF
}

nginx_http_common() { # DIR [ACCESS_LOG]: the http{} lines every config shares (access_log off)
    cat <<EOF
    access_log ${2:-off};
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

# shellcheck disable=SC2120 # the argument is optional
stop_nginx() { # [SECONDS]: how long the master may take (10)
    local w
    stop_and_forget "$NG_PID" "${1:-10}"
    for w in "${NG_WORKERS[@]}"; do stop_and_forget "$w" 5; done
    NG_PID=
    NG_WORKERS=()
}
