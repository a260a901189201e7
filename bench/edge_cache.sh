#!/usr/bin/env bash
# What deploy/nginx-edge.conf's proxy_cache_lock costs and saves for LL-HLS parts.
#
# One shopcast (default ladder, the 720p30 2.5 Mbit/s test clip published in a loop) and three
# nginx edges in front of it, all from deploy/nginx-edge.conf: "shipped" (proxy_cache_lock on,
# proxy_cache_lock_timeout 100ms), "long" (lock timeout 10s: misses for a hinted part wait for
# the first request), "nolock" (proxy_cache_lock off), for media. In each of two
# modes, bench/lib/edge_probe.py runs BENCH_VIEWERS viewers of the 720p rendition through each
# edge, as many straight from shopcast ("direct", the peer), and one reference viewer straight
# from shopcast. Mode "hint": every viewer fetches each preload-hinted part as soon as it is
# hinted (shopcast holds it until it exists), as Safari and Shaka Player do. Mode "listed": every
# viewer waits on the blocking reload, then fetches the newest part listed, as hls.js does. Per
# path, the table shows how long after the reference viewer the viewers had each part
# (p50/p95/max over viewers x parts) and, from the edges' access logs, how many requests per part
# reached shopcast; the ratio line divides each path's p95 by the direct viewers'.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-hlsbench/relay/shopcast]
#   BENCH_VIEWERS  [8]    viewers per path
#   BENCH_SECONDS  [30]   seconds measured
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init edge_cache

VIEWERS=${BENCH_VIEWERS:-8}
SECONDS_=${BENCH_SECONDS:-30}
check_uint VIEWERS SECONDS_
((VIEWERS >= 2 && SECONDS_ >= 10)) || die "BENCH_VIEWERS must be >= 2 and BENCH_SECONDS >= 10"
need_tools ffmpeg redis-server nginx
need_shopcast
CONF="$ROOT/deploy/nginx-edge.conf"

log_versions
CLIP=$(test_clip)
wait_for_quiet
start_redis
start_shopcast "$TMP/shopcast" --ladder 720p:2500k,360p:800k --x264-preset veryfast \
    --hls-segment-ms 1000 --hls-part-ms 333
create_stream
start_clip_publisher "$CLIP" "$TMP/publisher.log" "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY"
MEDIA="/hls/$SC_ID/720p/media.m3u8"
benchlib wait-media "http://127.0.0.1:$SC_HTTP/hls/$SC_ID/master.m3u8" 3 30 ||
    die "no HLS segments within 30 s (see $TMP/shopcast/shopcast.log)"

fill_conf() { # PORT DIR: deploy/nginx-edge.conf with its CHANGE lines filled in
    sed -e "s|listen 80;|listen 127.0.0.1:$1;|" -e "s|server 127.0.0.1:8080;|server 127.0.0.1:$SC_HTTP;|" \
        -e "s|/var/cache/nginx/shopcast|$2/cache|" "$CONF"
}

start_edge() { # NAME SED_EXPR: an edge of fill_conf with SED_EXPR (which must change it) applied; sets EDGE_PORT
    local dir="$TMP/edge-$1" port
    port=$(freeport)
    nginx_prefix "$dir"
    fill_conf "$port" "$dir" >"$dir/shipped.conf"
    { grep -q "listen 127.0.0.1:$port;" "$dir/shipped.conf" && grep -q "server 127.0.0.1:$SC_HTTP;" "$dir/shipped.conf"; } ||
        die "deploy/nginx-edge.conf no longer has the lines this script fills in"
    sed -e "$2" "$dir/shipped.conf" >"$dir/edge.conf"
    [[ -z $2 ]] || ! cmp -s "$dir/shipped.conf" "$dir/edge.conf" || die "edge $1: '$2' changes nothing"
    {
        nginx_main_conf "$dir" warn
        echo "http {"
        echo "    log_format edge '\$uri \$status \$upstream_cache_status \$upstream_addr';"
        nginx_http_common "$dir" "$dir/logs/access.log edge"
        echo "    include $dir/edge.conf;"
        echo "}"
    } >"$dir/nginx.conf"
    start_nginx "$dir" "$port"
    EDGE_PORT=$port EDGE_PIDS+=("$NG_PID")
}
EDGES=(shipped long nolock)
declare -A EDGE_SED=([shipped]='' [long]='0,/proxy_cache_lock_timeout 100ms;/s//proxy_cache_lock_timeout 10s;/'
    [nolock]='0,/proxy_cache_lock on;/s//proxy_cache_lock off;/')
declare -A PORTS
EDGE_PIDS=()
for e in "${EDGES[@]}"; do
    start_edge "$e" "${EDGE_SED[$e]}"
    PORTS[$e]=$EDGE_PORT
done

upstream_per_part() { # NAME: requests for parts that reached shopcast, per distinct part
    awk -v up="127.0.0.1:$SC_HTTP" '$1 ~ /\/part-/ && $2 == 200 { parts[$1] = 1; if ($4 == up) n++ }
        END { k = length(parts); if (k) printf "%.2f", n / k; else printf "-" }' "$TMP/edge-$1/logs/access.log"
}

echo
echo "Edge cache: $VIEWERS viewers per path, ${SECONDS_}s per mode, $(date -u +%FT%TZ), load1 at the start $(load1)"
echo "(shipped: proxy_cache_lock on, timeout 100ms; long: timeout 10s; nolock: proxy_cache_lock off)"
for mode in hint listed; do
    urls=("direct=http://127.0.0.1:$SC_HTTP$MEDIA")
    for e in "${EDGES[@]}"; do
        urls+=("$e=http://127.0.0.1:${PORTS[$e]}$MEDIA")
        : >"$TMP/edge-$e/logs/access.log"
    done
    log "mode $mode: $VIEWERS viewers per path for ${SECONDS_}s"
    "$PY" "$HERE/lib/edge_probe.py" "$mode" "$SECONDS_" "$VIEWERS" "http://127.0.0.1:$SC_HTTP$MEDIA" \
        "${urls[@]}" >"$TMP/probe-$mode.tsv"
    echo
    echo "mode $mode, load1 at the end $(load1):"
    echo
    echo "| path | viewers | parts | after the reference viewer p50 / p95 / max ms | requests to shopcast per part | hinted parts never made (404) |"
    echo "|---|---|---|---|---|---|"
    while IFS=$'\t' read -r name n parts p50 p95 max missing; do
        per=$VIEWERS
        [[ $name == direct ]] || per=$(upstream_per_part "$name")
        echo "| $name | $n | $parts | $p50 / $p95 / $max | $per | $missing |"
    done <"$TMP/probe-$mode.tsv"
    awk -F'\t' '{ p95[$1] = $5 } END { if (p95["direct"] > 0) printf "\nratio p95 / direct p95: shipped %.1f, long %.1f, nolock %.1f\n", p95["shipped"] / p95["direct"], p95["long"] / p95["direct"], p95["nolock"] / p95["direct"] }' "$TMP/probe-$mode.tsv"
done
for p in "${EDGE_PIDS[@]}"; do stop_and_forget "$p"; done # each master stops its own workers
NG_PID=
