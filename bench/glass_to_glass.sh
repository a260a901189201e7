#!/usr/bin/env bash
# Glass-to-glass latency: from a frame being made to the same frame being shown in a browser.
# shopcast (transcoding on, the default ladder, LL-HLS, its /watch/<id> page: hls.js in
# low-latency mode) against Debian's nginx + libnginx-mod-rtmp (hls on; 1 s fragments, 6 s
# playlist; an hls.js page with lowLatencyMode off and the same catch-up settings as shopcast's
# page), measured in the same run.
#
# The "camera" is bench/lib/clockgen.py: raw 1280x720 yuv420p frames at 30 fps, paced to the
# wall clock, each carrying the wall-clock ms at which it was made as a row of 48 big blocks,
# over grain so that the encoders need their full bitrate. ffmpeg encodes them (libx264
# ultrafast by default, tune zerolatency, -g 30, 2.5 Mbit/s, + AAC tone) and publishes over
# RTMP. The browser joins once the stream has been on air BENCH_JOIN_AFTER seconds, as a viewer
# would. Headless Chromium plays the stream; on every presented frame
# (requestVideoFrameCallback) bench/lib/g2g_probe.mjs draws the frame onto a canvas, reads the
# blocks and records Date.now() - encoded time. Everything runs on this one machine, so both
# clocks are the same clock. Samples are taken for BENCH_SECONDS after BENCH_WARMUP seconds of
# playback. The report says which renditions the frames came from, and judges the goal on the
# frames of the top rung (720p) only, with the share of all frames they were.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-hlsbench/relay/shopcast]  a release build
#   BENCH_WARMUP   [10]   seconds of playback before sampling starts
#   BENCH_SECONDS  [60]   seconds of sampling per server
#   BENCH_SERVERS  ["shopcast nginx"]  which to measure, in this order; each server has its own
#                  fresh stream. shopcast is measured with its /watch page exactly as shipped.
#   BENCH_PICTURE  [moving]  or still: nothing moves but the clock row (lib/common.sh)
#   BENCH_CAMERA_PRESET [ultrafast], BENCH_CAMERA_NOISE [8; 0 when still]: the camera (lib/common.sh)
#   BENCH_JOIN_AFTER [10] seconds the stream has been on air when the browser joins
#   BENCH_SHOPCAST_ARGS []  more shopcast options (split on spaces)
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for load1 <= MAX_LOAD first;
#                  BENCH_LOAD_WAIT=0 to skip waiting
#   BENCH_KEEP_TMP [0]    1: keep the temp dir (logs, configs, raw JSON)
#   G2G_SAMPLES, G2G_TRACE, G2G_HLS_CONFIG: see lib/g2g_probe.mjs
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init glass_to_glass

WARMUP=${BENCH_WARMUP:-10}
SECONDS_=${BENCH_SECONDS:-60}
JOIN_AFTER=${BENCH_JOIN_AFTER:-10}
SERVERS=${BENCH_SERVERS:-"shopcast nginx"}
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"
check_uint WARMUP SECONDS_ JOIN_AFTER
((SECONDS_ >= 5)) || die "BENCH_SECONDS must be at least 5"

need_tools ffmpeg redis-server nginx node getconf
[[ -x /usr/bin/time ]] || die "/usr/bin/time missing (apt-get install time)"
TCK=$(getconf CLK_TCK)
need_nginx_rtmp
need_shopcast
HLSJS="$ROOT/web/node_modules/hls.js/dist/hls.min.js"
[[ -f $HLSJS ]] || die "hls.js not found at $HLSJS (cd web && npm ci)"
[[ -d $ROOT/web/node_modules/playwright-core ]] || die "playwright-core not installed in web/node_modules"
[[ -x /usr/bin/chromium || -n ${CHROMIUM:-} ]] || die "Chromium not found (apt-get install chromium)"

# publisher lifetime: long enough for start-up, warm-up and sampling; stopped when done
PUB_SECONDS=$((JOIN_AFTER + WARMUP + SECONDS_ + 90))

run_probe() { # NAME DIR URL SERVER_PID...: runs the browser probe, leaves DIR/probe.json
    local name=$1 dir=$2 url=$3 b0 t0 b1 t1 s0 s1 c0 c1 w0 w1
    shift 3
    sleep "$JOIN_AFTER" # viewers join a stream that is already on air
    read -r b0 t0 < <(machine_busy)
    s0=$(cpu_ticks "$@") || die "$name: server gone"
    c0=$(cpu_ticks "${PUB_PIDS[@]}") || die "$name: publisher gone"
    w0=$(date +%s%N)
    echo "$(load1)" >"$dir/load.before"
    log "$name: playing $url in Chromium: ${WARMUP}s warm-up, ${SECONDS_}s of samples"
    # /usr/bin/time: CPU of node and every process under it (Chromium), once they have exited
    /usr/bin/time -f '%U %S' -o "$dir/browser.time" \
        node "$HERE/lib/g2g_probe.mjs" "$url" "$WARMUP" "$SECONDS_" >"$dir/probe.json" 2>"$dir/probe.err" &
    local probe=$!
    PIDS+=("$probe")
    local rc=0
    wait "$probe" || rc=$?
    forget_pid "$probe"
    w1=$(date +%s%N)
    s1=$(cpu_ticks "$@") || die "$name: server gone during the probe"
    c1=$(cpu_ticks "${PUB_PIDS[@]}") || die "$name: publisher gone during the probe"
    read -r b1 t1 < <(machine_busy)
    echo $(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1))) >"$dir/busy"
    echo "$(load1)" >"$dir/load.after"
    # average cores used during the probe: server, camera (clockgen + ffmpeg), browser
    awk -v s=$((s1 - s0)) -v c=$((c1 - c0)) -v k="$TCK" -v w=$(((w1 - w0) / 1000000)) \
        -v b="$(awk 'END { print $1 + $2 }' "$dir/browser.time" 2>/dev/null || echo 0)" \
        'BEGIN { printf "%.2f %.2f %.2f\n", s / k / (w / 1000), c / k / (w / 1000), b / (w / 1000) }' \
        >"$dir/cores"
    if ((rc != 0)); then
        cat "$dir/probe.json" "$dir/probe.err" >&2
        die "$name: the browser probe failed"
    fi
}

run_shopcast() { # NAME
    local dir="$TMP/$1"
    mkdir -p "$dir"
    start_shopcast "$dir" --ladder 720p:2500k,360p:800k --x264-preset veryfast \
        --hls-segment-ms 1000 --grace 5 "${SHOPCAST_ARGS[@]}"
    create_stream
    benchlib card "$SC_HTTP" "$SC_TOKEN" "$SC_ID" || die "shopcast: the card did not come on"
    start_clock_publisher "$dir" "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY"
    benchlib wait-media "http://127.0.0.1:$SC_HTTP/hls/$SC_ID/master.m3u8" 2 30 ||
        { tail -n 30 "$dir/shopcast.log" "$dir/publisher.log" >&2; die "shopcast: no HLS segments within 30 s"; }
    benchlib get "http://127.0.0.1:$SC_HTTP/hls/$SC_ID/720p/media.m3u8" >"$dir/media.m3u8" || true
    run_probe "$1" "$dir" "http://127.0.0.1:$SC_HTTP/watch/$SC_ID" "$SC_PID"
    check_clock_publisher "$1" "$dir"
    benchlib renditions "$SC_HTTP" "$SC_ID" >"$dir/renditions.tsv" || true
    stop_clock_publisher
    stop_and_forget "$SC_PID" 20
}

run_nginx() {
    local dir="$TMP/nginx" rtmp http
    mkdir -p "$dir/www/hls"
    nginx_prefix "$dir"
    chmod 755 "$dir/www"
    chmod 777 "$dir/www/hls" # nginx-rtmp's worker writes the fragments here
    cp "$HLSJS" "$dir/www/hls.min.js"
    cp "$HERE/lib/g2g_page.html" "$dir/www/g2g_page.html"
    rtmp=$(freeport)
    http=$(freeport)
    cat >"$dir/nginx.conf" <<EOF
$(nginx_main_conf "$dir" warn rtmp)
$(nginx_rtmp_conf "$rtmp" "hls on;" "hls_path $dir/www/hls;" "hls_fragment 1s;" "hls_playlist_length 6s;")
http {
$(nginx_http_common "$dir")
    types { text/html html; application/javascript js; application/vnd.apple.mpegurl m3u8; video/mp2t ts; }
    server {
        listen 127.0.0.1:$http;
        root $dir/www;
        location /hls/ { add_header Cache-Control no-cache; }
    }
}
EOF
    start_nginx "$dir" "$rtmp"
    start_clock_publisher "$dir" "rtmp://127.0.0.1:$rtmp/live/bench"
    benchlib wait-media "http://127.0.0.1:$http/hls/bench.m3u8" 2 30 ||
        { tail -n 30 "$dir/logs/error.log" "$dir/publisher.log" >&2; die "nginx: no HLS fragments within 30 s"; }
    benchlib get "http://127.0.0.1:$http/hls/bench.m3u8" >"$dir/media.m3u8" || true
    run_probe nginx "$dir" "http://127.0.0.1:$http/g2g_page.html?src=/hls/bench.m3u8&ll=0" \
        "$NG_PID" "${NG_WORKERS[@]}"
    check_clock_publisher nginx "$dir"
    stop_clock_publisher
    stop_nginx
}

# ---- main ----
log_versions
echo "${BENCH_PICTURE:-moving}" >"$TMP/picture"
log "picture: ${BENCH_PICTURE:-moving}"
log "chromium: $(/usr/bin/chromium --version 2>/dev/null | head -n1); hls.js $(sed -n 's/.*"version": *"\([^"]*\)".*/\1/p' "$ROOT/web/node_modules/hls.js/package.json" | head -n1)"
wait_for_quiet
start_redis
for s in $SERVERS; do
    case $s in
    shopcast) run_shopcast "$s" ;;
    nginx) run_nginx ;;
    *) die "unknown server '$s' in BENCH_SERVERS" ;;
    esac
done
"$PY" "$HERE/lib/g2g_report.py" "$TMP" $SERVERS
