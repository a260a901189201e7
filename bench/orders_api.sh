#!/usr/bin/env bash
# Orders API throughput: wrk POSTing unique orders to shopcast, against redis-benchmark making
# the same FCALL shopcast_order straight to Redis, in the same run, under appendfsync always and
# everysec.
#
# For each appendfsync setting: a redis-server of its own (appendonly yes, on a free port, its
# own dir), shopcast (release build) connected to it, one stream with two products of 10^9 units
# (one for each client, so each side's count can be checked). Then BENCH_REPEAT rounds of:
#   - wrk -t THREADS -c CONNS -d DURATION, POST /api/v1/streams/{id}/orders with unique
#     order_ids (lib/orders_wrk.lua), the operator token (no rate limit);
#   - redis-benchmark -c CONNS, unpipelined, the same FCALL with the arguments shopcast sends
#     (dedup 86400 s, MAXLEN ~ 100000), unique ids from __rand_int__ (-r 10^9: a few collide, and are replays), as many requests
#     as wrk completed in that round, so both run about as long. shopcast stays connected and
#     subscribed, so Redis publishes every order's event to it in both;
#   - the same FCALL pipelined (-P 16): what Redis itself can do with this function at most
#     (shopcast pipelines too: every request in flight shares its one connection);
#   - redis-benchmark INCR (-c CONNS): Redis's ceiling for a trivial write with that fsync.
# A round fails unless every wrk answer was 201 and the product's sold count is what the clients
# say they ordered. Prints, per setting, the median round: orders/s and p99 for each client,
# orders API / redis-benchmark (goal: >= 20,000 orders/s, p99 <= 10 ms, ratio >= 0.5), and the
# CPU each order cost shopcast and Redis (utime+stime over the run / orders).
#
# Nothing is pinned: wrk, shopcast and Redis (or redis-benchmark and Redis) share the CPUs, as
# they would on one host. The machine's busy share during each round is shown.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN       [build-bench/relay/shopcast]  (meson setup build-bench --buildtype=release)
#   BENCH_DURATION     [10]  seconds per wrk run
#   BENCH_REPEAT       [3]
#   BENCH_CONNECTIONS  [50]
#   BENCH_THREADS      [2]   wrk -t
#   BENCH_FSYNC        ["always everysec"]
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP     [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init orders_api build-bench

DURATION=${BENCH_DURATION:-10}
REPEAT=${BENCH_REPEAT:-3}
CONNS=${BENCH_CONNECTIONS:-50}
THREADS=${BENCH_THREADS:-2}
MODES=${BENCH_FSYNC:-always everysec}
check_uint DURATION REPEAT CONNS THREADS
((DURATION >= 2 && REPEAT >= 1 && CONNS >= THREADS && THREADS >= 1)) ||
    die "bad BENCH_DURATION/REPEAT/CONNECTIONS/THREADS"
need_tools redis-server redis-cli redis-benchmark wrk getconf
need_shopcast

log_versions
log "wrk: $(wrk --version 2>&1 | head -n1); $(redis-server --version)"
wait_for_quiet

start_aof_redis() { # FSYNC: sets REDIS_PORT
    REDIS_PORT=$(freeport)
    mkdir -p "$TMP/redis-$1"
    redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save '' --appendonly yes \
        --appendfsync "$1" --dir "$TMP/redis-$1" --logfile "$TMP/redis-$1/redis.log" >/dev/null 2>&1 &
    REDIS_PID=$!
    PIDS+=("$REDIS_PID")
    wait_tcp "$REDIS_PORT" 10 || die "redis-server did not start (see $TMP/redis-$1/redis.log)"
}

rcli() { redis-cli -p "$REDIS_PORT" "$@"; }

# The stream's key, and its two products once shopcast has loaded the library.
setup_shop() {
    local i
    STREAM_KEY="${SC_PREFIX}stream:{$SC_ID}"
    for ((i = 0; i < 100; i++)); do
        rcli FCALL shopcast_product_put 1 "$STREAM_KEY" p-api name api price 990 currency CNY \
            stock 1000000000 2>&1 | grep -q ERR || break
        sleep 0.1
    done
    rcli FCALL shopcast_product_put 1 "$STREAM_KEY" p-rb name rb price 990 currency CNY \
        stock 1000000000 >/dev/null
    [[ $(rcli HGET "$STREAM_KEY:product:p-api" stock) == 1000000000 ]] || die "cannot make the products"
}

sold() { rcli HGET "$STREAM_KEY:product:$1" sold; }

TCK=$(getconf CLK_TCK)
cpu_us() { echo $((($2 - $1) * 1000000 / TCK / ($3 > 0 ? $3 : 1))); } # TICKS0 TICKS1 N: µs each

# One round: wrk, then redis-benchmark with as many orders, then INCR. Appends a TSV row.
round() { # FSYNC REP
    local fsync=$1 rep=$2 out="$TMP/wrk-$1-$2.txt" rb="$TMP/rb-$1-$2.csv" b0 t0 b1 t1 b2 t2
    local api0 rb0 n busy_api busy_rb s0 s1 r0 r1 r2
    api0=$(sold p-api) rb0=$(sold p-rb)
    read -r b0 t0 < <(machine_busy)
    s0=$(cpu_ticks "$SC_PID") r0=$(cpu_ticks "$REDIS_PID")
    ORDERS_TOKEN=$SC_TOKEN ORDERS_PRODUCT=p-api ORDERS_TAG="w$fsync$rep$RANDOM" \
        wrk -t"$THREADS" -c"$CONNS" -d"${DURATION}s" --latency -s "$HERE/lib/orders_wrk.lua" \
        "http://127.0.0.1:$SC_HTTP/api/v1/streams/$SC_ID/orders" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed"; }
    read -r b1 t1 < <(machine_busy)
    s1=$(cpu_ticks "$SC_PID") r1=$(cpu_ticks "$REDIS_PID")
    n=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$out")
    [[ -n $n ]] || { cat "$out" >&2; die "no request count in wrk's output"; }
    ! grep -q "Non-2xx" "$out" || { cat "$out" >&2; die "wrk got answers other than 201"; }
    # wrk counts the answers it read; orders in flight when it stopped are counted by Redis too
    (($(sold p-api) - api0 >= n && $(sold p-api) - api0 <= n + CONNS)) ||
        die "p-api sold $(($(sold p-api) - api0)) for $n orders acknowledged"
    redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n "$n" -r 1000000000 --csv \
        FCALL shopcast_order 1 "$STREAM_KEY" "rb$rep-__rand_int__" p-rb 1 "" "" 86400 100000 \
        >"$rb" 2>&1 || { cat "$rb" >&2; die "redis-benchmark failed"; }
    read -r b2 t2 < <(machine_busy)
    r2=$(cpu_ticks "$REDIS_PID")
    (($(sold p-rb) - rb0 > n * 99 / 100)) || die "p-rb sold $(($(sold p-rb) - rb0)) of $n"
    redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -P 16 -n "$n" -r 1000000000 --csv \
        FCALL shopcast_order 1 "$STREAM_KEY" "rp$rep-__rand_int__" p-rb 1 "" "" 86400 100000 \
        >"$TMP/rbp-$fsync-$rep.csv" 2>&1 || die "redis-benchmark -P 16 failed"
    redis-benchmark -p "$REDIS_PORT" -c "$CONNS" -n 100000 -r 1000000 --csv -t incr \
        >"$TMP/incr-$fsync-$rep.csv" 2>&1 || die "redis-benchmark INCR failed"
    busy_api=$(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1)))
    busy_rb=$(((b2 - b1) * 100 / (t2 - t1 > 0 ? t2 - t1 : 1)))
    "$PY" "$HERE/lib/orders_report.py" row "$fsync" "$rep" "$out" "$rb" "$TMP/incr-$fsync-$rep.csv" \
        "$busy_api" "$busy_rb" "$(load1)" "$TMP/rbp-$fsync-$rep.csv" \
        "$(cpu_us "$s0" "$s1" "$n")" "$(cpu_us "$r0" "$r1" "$n")" "$(cpu_us "$r1" "$r2" "$n")" \
        >>"$TMP/results.tsv"
    log "appendfsync $fsync round $rep: $(tail -n1 "$TMP/results.tsv" | cut -f3,5,7 | tr '\t' ' ') (API, FCALL, INCR per s)"
}

: >"$TMP/results.tsv"
for fsync in $MODES; do
    start_aof_redis "$fsync"
    SC_PREFIX="orders-$fsync:"
    start_shopcast "$TMP/shopcast-$fsync" --ladder off --redis-prefix "$SC_PREFIX"
    create_stream
    setup_shop
    grep -q "appendfsync=$fsync" "$SC_DIR/shopcast.log" ||
        log "shopcast did not log appendfsync=$fsync (see $SC_DIR/shopcast.log)"
    for ((rep = 1; rep <= REPEAT; rep++)); do round "$fsync" "$rep"; done
    kill -0 "$SC_PID" 2>/dev/null || die "shopcast died"
    stop_and_forget "$SC_PID"
    stop_and_forget "$REDIS_PID"
done

"$PY" "$HERE/lib/orders_report.py" table "$TMP/results.tsv" "$CONNS" "$THREADS" "$DURATION"
