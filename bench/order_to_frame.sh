#!/usr/bin/env bash
# Order to frame: from Redis's confirmation of an order to the first frame showing it encoded in
# every rung. The goal is the frame clock itself: p95 <= one frame interval + 10 ms; the script
# prints p95 / goal.
#
# shopcast runs the default ladder (720p:2500k, 360p:800k, veryfast) with a product pinned; the
# benchmark's camera (bench/lib/clockgen.py, 720p30, encoded by the ffmpeg CLI) publishes in real
# time. bench/lib/order_probe.py places BENCH_ORDERS orders straight in Redis (FCALL
# shopcast_order, one connection, a jittered gap between them so confirmations fall at every
# phase of the frame clock) and notes when each reply came (CLOCK_MONOTONIC). shopcast, at debug
# level, logs when it handed each state to the worker (event=card_state) and when the first frame
# showing it left the last rung's encoder (event=card_encoded), on the same clock. An order that
# lands while another one's frame is still coming is shown by that same frame.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN    [build-bench/relay/shopcast]  (meson setup build-bench --buildtype=release)
#   BENCH_ORDERS    [300]   orders placed
#   BENCH_GAP_MS    [100]   mean gap between orders (jittered by half)
#   BENCH_PICTURE   [moving] or still
#   BENCH_SHOPCAST_ARGS []  more shopcast options
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init order_to_frame build-bench

ORDERS=${BENCH_ORDERS:-300}
GAP_MS=${BENCH_GAP_MS:-100}
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"
check_uint ORDERS GAP_MS
need_tools ffmpeg redis-server redis-cli
need_shopcast
PUB_SECONDS=$((ORDERS * GAP_MS * 3 / 2000 + 60))

log_versions
wait_for_quiet
start_redis
DIR="$TMP/shopcast"
mkdir -p "$DIR"
start_shopcast "$DIR" --ladder 720p:2500k,360p:800k --x264-preset veryfast --log-level debug \
    "${SHOPCAST_ARGS[@]}"
create_stream
PREFIX=$(tr '\0' '\n' </proc/"$SC_PID"/cmdline | sed -n '/^--redis-prefix$/{n;p}')
KEY="${PREFIX}stream:{$SC_ID}"
R=(redis-cli -p "$REDIS_PORT")
"${R[@]}" FCALL shopcast_product_put 1 "$KEY" honey name "柞水木耳 250g" price 3990 \
    currency CNY stock 100000000 >/dev/null
"${R[@]}" FCALL shopcast_pin 1 "$KEY" honey >/dev/null
BASE="http://127.0.0.1:$SC_HTTP/hls/$SC_ID"
start_clock_publisher "$DIR" "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY"
benchlib wait-media "$BASE/master.m3u8" 2 30 ||
    { tail -n 30 "$DIR/shopcast.log" "$DIR/publisher.log" >&2; die "no HLS segments within 30 s"; }
sleep 3
log "placing $ORDERS orders, about $GAP_MS ms apart"
"$PY" "$HERE/lib/order_probe.py" run "$REDIS_PORT" "$KEY" honey "$ORDERS" "$GAP_MS" "$TMP/orders.tsv"
sleep 1
check_clock_publisher order_to_frame "$DIR"
echo
echo "order to frame ($(checkout_info), $(date -u +%FT%TZ), picture ${BENCH_PICTURE:-moving})"
"$PY" "$HERE/lib/order_probe.py" report "$TMP/orders.tsv" "$DIR/shopcast.log" 30
