#!/usr/bin/env bash
# WebSocket fan-out: BENCH_CLIENTS (10,000) viewers of one stream on loopback, 10 order events a
# second for BENCH_SECONDS (30): latency from Redis's confirmation of each order to the `order`
# message in each client (p50/p99/max over every client and event), shopcast's RSS per client
# (VmRSS after every client is subscribed, less before any connected, over N) and CPU per
# client. Goals (issue 9): p99 <= 100 ms, RSS <= 20 KB per client.
#
# shopcast runs without video (--ladder off, no publisher): each order makes one `order` event,
# nothing else is on the ring but `viewers`. bench/ws_client.c (built by bench/meson.build) is
# the load: N RFC 6455 clients on one epoll loop, matching each order message by its qty.
# bench/lib/ws_orders.py places the orders (FCALL shopcast_order straight to Redis, qty i for the
# i-th) and notes the time of each reply. The load client shares the 2 cores with shopcast; the
# table shows the CPU of both, so a saturated client is seen.
# Peer, measured in the same run with the same client and schedule: bench/lib/ws_peer.py, a
# trivial fan-out with Debian's python3-websockets (asyncio; a hello per subscribe, each order
# line broadcast to every client; no history, no limits). Centrifugo's ~30 KB per connection is
# its published figure, not run here.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-bench/relay/shopcast]  WS_CLIENT [build-bench/bench/ws_client]
#                  (meson setup build-bench --buildtype=release -Dbench=enabled)
#   BENCH_CLIENTS  [10000]   BENCH_SECONDS [30]   BENCH_RATE [10] orders a second
#   BENCH_SOURCES  [127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4] the clients' source addresses
#   BENCH_SERVERS  ["shopcast peer"]
#   BENCH_DRAIN_S  [120] after the last order, how long the clients may still receive (the
#                  figures are taken when all came, or nothing came for 3 s); the CPU window
#                  includes that time
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init ws_fanout build-bench

CLIENTS=${BENCH_CLIENTS:-10000}
SECS=${BENCH_SECONDS:-30}
RATE=${BENCH_RATE:-10}
SOURCES=${BENCH_SOURCES:-127.0.0.1,127.0.0.2,127.0.0.3,127.0.0.4}
SERVERS=${BENCH_SERVERS:-"shopcast peer"}
WS_CLIENT=${WS_CLIENT:-$ROOT/build-bench/bench/ws_client}
check_uint CLIENTS SECS RATE
need_tools redis-server redis-cli getconf
need_shopcast
[[ -x $WS_CLIENT ]] || die "load client not found at $WS_CLIENT (meson setup build-bench --buildtype=release -Dbench=enabled && ninja -C build-bench bench/ws_client)"
TCK=$(getconf CLK_TCK)
(($(ulimit -Hn) >= CLIENTS + 64)) || die "the hard RLIMIT_NOFILE $(ulimit -Hn) is below $CLIENTS clients"
ulimit -n "$(ulimit -Hn)" # shopcast and the client each hold one descriptor per client

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

drain() { # PROGRESS_FILE EXPECTED: waits (up to BENCH_DRAIN_S) until every message came or none for 3 s
    local n last=-1 still=0 i
    for ((i = 0; i < ${BENCH_DRAIN_S:-120} * 2; i++)); do
        sleep 0.5
        read -r n _ <"$1" || n=0
        ((n >= $2)) && return 0
        if ((n == last)); then ((++still >= 6)) && break; else still=0; fi
        last=$n
    done
    log "$((n)) of $2 messages came (the rest did not within the drain time)"
}

# NAME SERVER_PID WS_PORT STREAM PUBLISH...: the clients, the orders, the figures (DIR/NAME.*)
measure() {
    local name=$1 pid=$2 port=$3 stream=$4 out="$TMP/$1" i r0 r1 s0 s1 c0 c1 w0 w1 b0 t0 b1 t1
    shift 4
    r0=$(rss_kb "$pid")
    log "$name: connecting $CLIENTS clients (RSS ${r0} kB)"
    "$WS_CLIENT" --port "$port" --stream "$stream" --clients "$CLIENTS" --mode order \
        --sources "$SOURCES" --ready "$out.ready" --sent "$out.sent" --progress "$out.progress" --events "$out.events" >"$out.json" 2>"$out.err" &
    local client=$!
    PIDS+=("$client")
    for ((i = 0; i < 1800; i++)); do
        [[ -s $out.ready ]] && break
        kill -0 "$client" 2>/dev/null || { cat "$out.err" >&2; die "$name: the load client exited"; }
        sleep 0.1
    done
    [[ -s $out.ready ]] || die "$name: the clients were not all subscribed within 180 s"
    sleep 2 # the viewers' merged count settles
    r1=$(rss_kb "$pid")
    log "$name: $(cut -d' ' -f1 "$out.ready") subscribed in $(cut -d' ' -f2 "$out.ready") s; RSS ${r1} kB; $((SECS * RATE)) orders"
    read -r b0 t0 < <(machine_busy)
    s0=$(cpu_ticks "$pid") c0=$(cpu_ticks "$client") w0=$(date +%s%N)
    "$PY" "$HERE/lib/ws_orders.py" "$@" "$((SECS * RATE))" "$RATE" "$out.sent" ||
        die "$name: placing the orders failed"
    drain "$out.progress" $((SECS * RATE * CLIENTS))
    s1=$(cpu_ticks "$pid") c1=$(cpu_ticks "$client") w1=$(date +%s%N)
    read -r b1 t1 < <(machine_busy)
    rss_kb "$pid" >"$out.rss_end"
    stop_and_forget "$client" 60
    [[ -s $out.json ]] || { cat "$out.err" >&2; die "$name: the load client printed nothing"; }
    echo "$r0 $r1 $((s1 - s0)) $((c1 - c0)) $(((w1 - w0) / 1000000)) $(((b1 - b0) * 100 / (t1 - t0 > 0 ? t1 - t0 : 1))) $(load1)" >"$out.figures"
}

run_shopcast() {
    local dir="$TMP/shopcast" prefix key
    mkdir -p "$dir"
    start_shopcast "$dir" --ladder off --ws-max-clients 20000 ${BENCH_SHOPCAST_ARGS:-}
    create_stream
    prefix=$(tr '\0' '\n' </proc/"$SC_PID"/cmdline | sed -n '/^--redis-prefix$/{n;p}')
    key="${prefix}stream:{$SC_ID}"
    redis-cli -p "$REDIS_PORT" FCALL shopcast_product_put 1 "$key" honey name "柞水木耳 250g" \
        price 3990 currency CNY stock 1000000000000 >/dev/null
    measure shopcast "$SC_PID" "$SC_HTTP" "$SC_ID" redis "$REDIS_PORT" "$key" honey
    stop_and_forget "$SC_PID" 20
}

run_peer() {
    local ws ctl pid
    "$PY" -c 'import websockets' 2>/dev/null || { log "peer: python3-websockets missing; skipped"; return 0; }
    ws=$(freeport) ctl=$(freeport)
    "$PY" "$HERE/lib/ws_peer.py" "$ws" "$ctl" >"$TMP/peer.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    wait_tcp "$ctl" 10 || die "peer: did not start (see $TMP/peer.log)"
    measure peer "$pid" "$ws" bench line "$ctl"
    stop_and_forget "$pid" 10
}

log_versions
log "python3-websockets $("$PY" -c 'import websockets; print(websockets.__version__)' 2>/dev/null || echo missing)"
wait_for_quiet
start_redis
for s in $SERVERS; do
    case $s in
    shopcast) run_shopcast ;;
    peer) run_peer ;;
    *) die "unknown server '$s' in BENCH_SERVERS" ;;
    esac
done

"$PY" - "$TMP" "$CLIENTS" "$SECS" "$RATE" "$TCK" $SERVERS <<'EOF'
import json, os, sys
d, n, secs, rate, tck = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4], int(sys.argv[5])
res = {}
for s in sys.argv[6:]:
    if not os.path.exists(os.path.join(d, s + ".figures")):
        continue
    j = json.load(open(os.path.join(d, s + ".json")))
    r0, r1, sc, cc, wall_ms, busy, load = open(os.path.join(d, s + ".figures")).read().split()
    wall = int(wall_ms) / 1000
    j.update(rss0=int(r0), rss1=int(r1), rss_per=(int(r1) - int(r0)) * 1024 / max(1, j["subscribed"]),
             cores=int(sc) / tck / wall, client_cores=int(cc) / tck / wall, busy=busy, load=load,
             expected=j["events"] * j["subscribed"])
    j["us_per_client_s"] = int(sc) / tck / wall * 1e6 / max(1, j["subscribed"])
    j["us_per_msg"] = int(sc) / tck * 1e6 / max(1, j["samples"])
    res[s] = j
print()
print("WebSocket fan-out: %d clients, %s orders/s for %s s" % (n, rate, secs))
print()
cols = list(res)
print("| | " + " | ".join(cols) + " |")
print("|---|" + "---|" * len(cols))
rows = [
    ("clients subscribed (connect time)", lambda j: "%d (%.1f s)" % (j["subscribed"], j["connect_s"])),
    ("messages received / expected", lambda j: "%d / %d" % (j["samples"], j["expected"])),
    ("closed by the server (codes)", lambda j: "%d %s" % (j["closed_by_server"], json.dumps(j["close_codes"]))),
    ("**publish to receipt p50 / p99 / max (ms)**", lambda j: "%.1f / **%.1f** / %.1f" % (j["p50_ms"], j["p99_ms"], j["max_ms"])),
    ("first client's receipt p50 / p99 (ms)", lambda j: "%.1f / %.1f" % (j["first_p50_ms"], j["first_p99_ms"])),
    ("last client's receipt p50 / p99 / max (ms)", lambda j: "%.1f / %.1f / %.1f" % (j["last_p50_ms"], j["last_p99_ms"], j["last_max_ms"])),
    ("server RSS before / subscribed (kB)", lambda j: "%d / %d" % (j["rss0"], j["rss1"])),
    ("**server RSS per client**", lambda j: "**%.1f KB**" % (j["rss_per"] / 1024)),
    ("server CPU (cores) during the orders", lambda j: "%.2f" % j["cores"]),
    ("server CPU per client (µs a second) / per message (µs)", lambda j: "%.2f / %.2f" % (j["us_per_client_s"], j["us_per_msg"])),
    ("load client CPU (cores) during the orders", lambda j: "%.2f" % j["client_cores"]),
    ("machine busy / load1 at the end", lambda j: "%s%% / %s" % (j["busy"], j["load"])),
]
for label, f in rows:
    print("| %s | %s |" % (label, " | ".join(f(res[c]) for c in cols)))
print()
sc = res.get("shopcast")
if sc:
    print("goal p99 <= 100 ms: shopcast %.1f ms -> ratio %.2f (%s)" % (sc["p99_ms"], sc["p99_ms"] / 100, "met" if sc["p99_ms"] <= 100 else "NOT met"))
    print("goal RSS <= 20 KB/client: shopcast %.1f KB -> ratio %.2f (%s); Centrifugo's published ~30 KB/connection (not run here): %.2f" % (
        sc["rss_per"] / 1024, sc["rss_per"] / 1024 / 20, "met" if sc["rss_per"] <= 20 * 1024 else "NOT met", sc["rss_per"] / 1024 / 30))
    if sc["samples"] < sc["expected"]:
        print("WARNING: %d messages missing" % (sc["expected"] - sc["samples"]))
    pe = res.get("peer")
    if pe and pe["p99_ms"] > 0:
        print("shopcast / peer (python3-websockets): p99 %.2f, p50 %.2f, RSS per client %.2f, CPU per message %.2f" % (
            sc["p99_ms"] / pe["p99_ms"], sc["p50_ms"] / pe["p50_ms"], sc["rss_per"] / pe["rss_per"], sc["us_per_msg"] / pe["us_per_msg"]))
EOF
