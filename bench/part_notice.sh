#!/usr/bin/env bash
# Part ready to `part` message: with a live publisher and BENCH_CLIENTS (1,000) WebSocket viewers,
# for each `part` message each client receives, its receipt time less the part's ready_ms (Unix
# ms of the drain of the HLS window that made the part servable; proto/SIGNAL.md). Goal (issue 9):
# p99 <= 50 ms with 1,000 clients.
#
# shopcast runs the default ladder (720p:2500k, 360p:800k, veryfast, 1 s segments, 333 ms parts);
# the ffmpeg CLI publishes the cached 720p30 2.5 Mbit/s test clip in real time (-re -c copy).
# bench/ws_client.c is the 1,000 viewers (one epoll loop). The peer, in the same run on the same
# parts: what an LL-HLS player without the channel (hls.js) waits on, a blocking playlist reload
# (_HLS_msn/_HLS_part) for each next part, held by shopcast until the part is listed
# (bench/lib/part_probe.py, one client per rung, Python urllib); its latency is the time the
# playlist listing the part was received in full, less the same part's ready_ms (taken from the
# first WebSocket client's messages). Both clocks are this machine's wall clock; ready_ms is in
# whole ms, so a figure can read up to 1 ms high.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN   [build-bench/relay/shopcast]  WS_CLIENT [build-bench/bench/ws_client]
#   BENCH_CLIENTS  [1000]  BENCH_SECONDS [60]  BENCH_WARMUP [5]
#   BENCH_SHOPCAST_ARGS []  more shopcast options
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init part_notice build-bench

CLIENTS=${BENCH_CLIENTS:-1000}
SECS=${BENCH_SECONDS:-60}
WARMUP=${BENCH_WARMUP:-5}
WS_CLIENT=${WS_CLIENT:-$ROOT/build-bench/bench/ws_client}
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"
check_uint CLIENTS SECS WARMUP
need_tools ffmpeg ffprobe redis-server getconf
need_libx264
need_shopcast
[[ -x $WS_CLIENT ]] || die "load client not found at $WS_CLIENT (meson setup build-bench --buildtype=release -Dbench=enabled && ninja -C build-bench bench/ws_client)"
ulimit -n "$(ulimit -Hn)"
TCK=$(getconf CLK_TCK)

log_versions
CLIP=$(test_clip)
log_clip "$CLIP"
wait_for_quiet
start_redis
DIR="$TMP/shopcast"
start_shopcast "$DIR" --ladder 720p:2500k,360p:800k --x264-preset veryfast \
    --hls-segment-ms 1000 --hls-part-ms 333 --grace 5 "${SHOPCAST_ARGS[@]}"
create_stream
BASE="http://127.0.0.1:$SC_HTTP/hls/$SC_ID"
start_clip_publisher "$CLIP" "$DIR/publisher.log" "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY"
benchlib wait-media "$BASE/master.m3u8" 2 30 ||
    { tail -n 30 "$DIR/shopcast.log" "$DIR/publisher.log" >&2; die "no HLS segments within 30 s"; }

log "connecting $CLIENTS WebSocket viewers"
"$WS_CLIENT" --port "$SC_HTTP" --stream "$SC_ID" --clients "$CLIENTS" --mode part \
    --ready "$TMP/ready" --parts "$TMP/ws_parts.tsv" >"$TMP/ws.json" 2>"$TMP/ws.err" &
CLIENT=$!
PIDS+=("$CLIENT")
for ((i = 0; i < 600; i++)); do
    [[ -s $TMP/ready ]] && break
    kill -0 "$CLIENT" 2>/dev/null || { cat "$TMP/ws.err" >&2; die "the load client exited"; }
    sleep 0.1
done
[[ -s $TMP/ready ]] || die "the clients were not all subscribed within 60 s"
sleep "$WARMUP"
log "$(cut -d' ' -f1 "$TMP/ready") viewers subscribed; measuring for ${SECS}s, with a blocking-reload client per rung"
read -r B0 T0 < <(machine_busy)
S0=$(cpu_ticks "$SC_PID") C0=$(cpu_ticks "$CLIENT") W0=$(date +%s%N)
START_US=$(($(date +%s%N) / 1000))
"$PY" "$HERE/lib/part_probe.py" "$BASE" 720p,360p "$SECS" "$TMP/reload.tsv" || die "the part probe failed"
END_US=$(($(date +%s%N) / 1000))
S1=$(cpu_ticks "$SC_PID") C1=$(cpu_ticks "$CLIENT") W1=$(date +%s%N)
read -r B1 T1 < <(machine_busy)
kill -0 "$PUB_PID" 2>/dev/null || { tail -n 20 "$DIR/publisher.log" >&2; die "the publisher stopped early"; }
stop_and_forget "$CLIENT" 30
benchlib renditions "$SC_HTTP" "$SC_ID" >"$TMP/api.tsv" || true

"$PY" - "$TMP" "$START_US" "$END_US" "$CLIENTS" "$((S1 - S0))" "$((C1 - C0))" "$(((W1 - W0) / 1000000))" \
    "$(((B1 - B0) * 100 / (T1 - T0 > 0 ? T1 - T0 : 1)))" "$(load1)" "$TCK" <<'EOF'
import json, os, sys
d, t0, t1, n, sc, cc, wall, busy, load, tck = sys.argv[1:11]
t0, t1, wall, tck = int(t0), int(t1), int(wall) / 1000, int(tck)
def pct(v, p):
    v = sorted(v)
    return v[max(0, min(len(v) - 1, -(-len(v) * p // 100) - 1))] if v else float("nan")
j = json.load(open(os.path.join(d, "ws.json")))
ws = {}  # (rung, msn, part) -> (ready_ms, first client's receipt ms), inside the window
for l in open(os.path.join(d, "ws_parts.tsv")):
    r, msn, part, ready, recv = l.split()
    if t0 <= int(recv) <= t1:
        ws[(r, int(msn), int(part))] = (int(ready), int(recv) / 1000)
rel, ws1 = {}, {}
for l in open(os.path.join(d, "reload.tsv")):
    f = l.split("\t")
    k = (f[0], int(f[1]), int(f[2]))
    if k in ws and float(f[6]) > 0:
        rel.setdefault(f[0], []).append(float(f[6]) - ws[k][0])
        ws1.setdefault(f[0], []).append(ws[k][1] - ws[k][0])
api = {l.split("\t")[0]: l.split("\t") for l in open(os.path.join(d, "api.tsv"))} if os.path.exists(os.path.join(d, "api.tsv")) else {}
print()
print("Part ready to `part` message: %s WebSocket viewers, %d parts announced while measured" % (n, len(ws)))
print()
print("| | p50 ms | p99 ms | max ms | samples |")
print("|---|---|---|---|---|")
print("| **`part` message, every client (ready_ms to receipt)** | %.1f | **%.1f** | %.1f | %d of %d parts |" % (j["p50_ms"], j["p99_ms"], j["max_ms"], j["samples"], j["events_received"]))
print("| ... the first client to get each part / the last | %.1f / %.1f | %.1f / %.1f | - / %.1f | |" % (j["first_p50_ms"], j["last_p50_ms"], j["first_p99_ms"], j["last_p99_ms"], j["last_max_ms"]))
ratios = []
for r in sorted(rel):
    a, b = rel[r], ws1[r]
    print("| %s: blocking playlist reload listing the part (peer) | %.1f | %.1f | %.1f | %d |" % (r, pct(a, 50), pct(a, 99), max(a), len(a)))
    print("| %s: `part` message to the first client, same parts | %.1f | %.1f | %.1f | %d |" % (r, pct(b, 50), pct(b, 99), max(b), len(b)))
    ratios.append((r, pct(b, 99), pct(a, 99)))
print()
print("shopcast CPU %.2f cores, load client %.2f cores; machine busy %s%%, load1 %s; encoder_speed %s" % (
    int(sc) / tck / wall, int(cc) / tck / wall, busy, load, ", ".join("%s %sx" % (k, v[1]) for k, v in api.items())))
print("subscribed %d of %s; closed by the server: %d %s" % (j["subscribed"], n, j["closed_by_server"], json.dumps(j["close_codes"])))
print("goal p99 <= 50 ms with %s clients: %.1f ms -> ratio %.2f (%s)" % (n, j["p99_ms"], j["p99_ms"] / 50, "met" if j["p99_ms"] <= 50 else "NOT met"))
for r, w, p in ratios:
    print("%s: message / blocking reload, p99: %.1f / %.1f = %.2f" % (r, w, p, w / p if p > 0 else float("nan")))
EOF
