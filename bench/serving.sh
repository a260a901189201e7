#!/usr/bin/env bash
# HTTP serving throughput of HLS objects: requests per second for a ~1 KB media playlist and a
# ~150 KB part, shopcast (from its RAM window) against nginx serving the very same bytes from
# files (worker_processes 1), measured with wrk in the same run.
#
# shopcast: the default ladder; the pre-encoded 720p30 2.5 Mbit/s test clip (ingest_cpu.sh's) is
# published for BENCH_PUBLISH_S seconds; with --grace 1 the stream then ends (EXT-X-ENDLIST) and
# its window stops changing, so the URLs are stable (--hls-ended-keep 3600 keeps it for the whole
# run). The playlist is 720p/media.m3u8 as ended
# (no parts listed, so no blocking reload is involved: every request is a plain GET); the part is
# the 720p part, among those still held after the end, whose size is nearest to 150 KB. nginx
# gets both files under the same paths, with the same Cache-Control and CORS headers, sendfile
# on, access_log off, keepalive_requests 1000000. Both bodies are checked byte for byte.
#
# Each server is pinned to CPU 0 and wrk (-t1) to CPU 1 (taskset; BENCH_PIN=0 to turn off), so
# one core serves and one core loads. For each object and server: BENCH_REPEAT runs of
# BENCH_DURATION seconds (order alternates); the table shows the median run. Server CPU
# (utime+stime) over each run is reported as well.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN     [build-hlsbench/relay/shopcast]
#   BENCH_DURATION   [10]   seconds per wrk run
#   BENCH_REPEAT     [2]
#   BENCH_CONNECTIONS [32]  wrk -c
#   BENCH_PUBLISH_S  [8]    seconds published (sets the playlist's length: 8 s -> ~1.3 KB)
#   BENCH_PART_BYTES [150000] target size of the part
#   BENCH_PIN        [1]
#   BENCH_STRACE_REQUESTS [20000] requests per system-call count (strace -c -f; 0 or no strace: none)
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP   [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init serving

DURATION=${BENCH_DURATION:-10}
REPEAT=${BENCH_REPEAT:-2}
CONNS=${BENCH_CONNECTIONS:-32}
PUBLISH_S=${BENCH_PUBLISH_S:-8}
PART_BYTES=${BENCH_PART_BYTES:-150000}
PIN=${BENCH_PIN:-1}
check_uint DURATION REPEAT CONNS PUBLISH_S PART_BYTES PIN
((DURATION >= 2 && REPEAT >= 1 && REPEAT <= 10 && CONNS >= 1)) || die "bad BENCH_DURATION/REPEAT/CONNECTIONS"
need_tools ffmpeg redis-server nginx wrk getconf sha256sum
need_shopcast
if ((PIN)); then
    command -v taskset >/dev/null || die "taskset missing (util-linux); or set BENCH_PIN=0"
    (($(nproc) >= 2)) || die "pinning needs 2 CPUs; set BENCH_PIN=0"
fi
TCK=$(getconf CLK_TCK)

pin() { # CPU PID...: pins every thread of each PID
    local cpu=$1 p
    shift
    ((PIN)) || return 0
    for p in "$@"; do taskset -a -p -c "$cpu" "$p" >/dev/null || die "taskset failed for PID $p"; done
}

log_versions
log "wrk: $(wrk --version 2>&1 | head -n1)"
CLIP=$(test_clip)
wait_for_quiet
start_redis

# ---- shopcast: one stream, published then ended ----
SCD="$TMP/shopcast"
start_shopcast "$SCD" --ladder 720p:2500k,360p:800k --x264-preset veryfast \
    --hls-segment-ms 1000 --hls-part-ms 333 --grace 1 --hls-ended-keep 3600
create_stream
log "publishing ${PUBLISH_S}s of the test clip, then waiting for the stream to end (ENDLIST)"
ffmpeg -hide_banner -nostdin -loglevel error -re -i "$CLIP" -t "$PUBLISH_S" -c copy \
    -f flv "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY" >"$SCD/publisher.log" 2>&1 ||
    { cat "$SCD/publisher.log" >&2; die "publishing to shopcast failed"; }
BASE="http://127.0.0.1:$SC_HTTP/hls/$SC_ID"
for ((i = 0; i < 150; i++)); do
    benchlib get "$BASE/720p/media.m3u8" 2>/dev/null | grep -q '^#EXT-X-ENDLIST' && break
    sleep 0.2
done
benchlib get "$BASE/720p/media.m3u8" >"$TMP/playlist.m3u8" || die "cannot read the 720p playlist"
grep -q '^#EXT-X-ENDLIST' "$TMP/playlist.m3u8" || die "the stream did not end within 30 s"

# the part: 720p parts still held after the end, nearest to PART_BYTES
best= best_len=0 best_d=
for msn in $(sed -n 's/^seg-\([0-9]*\)\.m4s$/\1/p' "$TMP/playlist.m3u8"); do
    for k in 0 1 2 3 4 5; do
        benchlib get "$BASE/720p/part-$msn.$k.m4s" >"$TMP/cand" 2>/dev/null || continue
        len=$(stat -c %s "$TMP/cand")
        d=$((len > PART_BYTES ? len - PART_BYTES : PART_BYTES - len))
        if [[ -z $best_d ]] || ((d < best_d)); then
            best="part-$msn.$k.m4s" best_len=$len best_d=$d
            cp "$TMP/cand" "$TMP/part.m4s"
        fi
    done
done
[[ -n $best ]] || die "no 720p part is held after the end of the stream"
PL_LEN=$(stat -c %s "$TMP/playlist.m3u8")
log "objects: 720p/media.m3u8 ($PL_LEN bytes, ended, no parts listed); 720p/$best ($best_len bytes)"

# ---- nginx: the same bytes, the same paths ----
NGD="$TMP/nginx"
nginx_prefix "$NGD"
mkdir -p "$NGD/www/hls/$SC_ID/720p"
chmod -R 755 "$NGD/www"
cp "$TMP/playlist.m3u8" "$NGD/www/hls/$SC_ID/720p/media.m3u8"
cp "$TMP/part.m4s" "$NGD/www/hls/$SC_ID/720p/$best"
chmod 644 "$NGD/www/hls/$SC_ID/720p/"*
NG_HTTP=$(freeport)
cat >"$NGD/nginx.conf" <<EOF
$(nginx_main_conf "$NGD" warn)
http {
$(nginx_http_common "$NGD")
    sendfile on;
    tcp_nopush on;
    keepalive_requests 1000000;
    keepalive_timeout 65;
    types { application/vnd.apple.mpegurl m3u8; video/mp4 m4s; }
    server {
        listen 127.0.0.1:$NG_HTTP;
        root $NGD/www;
        location ~ \.m3u8\$ {
            add_header Cache-Control no-store;
            add_header Access-Control-Allow-Origin *;
        }
        location ~ \.m4s\$ {
            add_header Cache-Control "public, max-age=86400, immutable";
            add_header Access-Control-Allow-Origin *;
        }
    }
}
EOF
start_nginx "$NGD" "$NG_HTTP"
NG_BASE="http://127.0.0.1:$NG_HTTP/hls/$SC_ID"

for obj in 720p/media.m3u8 "720p/$best"; do
    a=$(benchlib get "$BASE/$obj" | sha256sum | cut -c1-16)
    b=$(benchlib get "$NG_BASE/$obj" | sha256sum | cut -c1-16)
    [[ $a == "$b" ]] || die "$obj differs between shopcast ($a) and nginx ($b)"
done
log "both servers serve identical bytes"

pin 0 "$SC_PID" "$NG_PID" "${NG_WORKERS[@]}"
WRK=(wrk)
((PIN)) && WRK=(taskset -c 1 wrk)

run_wrk() { # SERVER OBJECT_LABEL URL REP PIDS...
    local srv=$1 label=$2 url=$3 rep=$4 out t0 t1 b0 tot0 b1 tot1
    shift 4
    out="$TMP/wrk-$srv-$label-$rep.txt"
    read -r b0 tot0 < <(machine_busy)
    t0=$(cpu_ticks "$@") || die "$srv is gone"
    "${WRK[@]}" -t1 -c"$CONNS" -d"${DURATION}s" --latency "$url" >"$out" 2>&1 || { cat "$out" >&2; die "wrk failed"; }
    t1=$(cpu_ticks "$@") || die "$srv died under load"
    read -r b1 tot1 < <(machine_busy)
    "$PY" - "$out" "$srv" "$label" "$rep" "$(((t1 - t0)))" "$TCK" "$(((b1 - b0) * 100 / (tot1 - tot0 > 0 ? tot1 - tot0 : 1)))" "$(load1)" >>"$TMP/results.tsv" <<'EOF'
import re, sys
path, srv, label, rep, ticks, tck, busy, load = sys.argv[1:9]
t = open(path).read()
def num(pat, conv=float, default=0):
    m = re.search(pat, t)
    return conv(m.group(1)) if m else default
def ms(s):
    m = re.match(r"([0-9.]+)(us|ms|s)", s)
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v
rps = num(r"Requests/sec:\s+([0-9.]+)")
non2xx = num(r"Non-2xx or 3xx responses:\s+(\d+)", int)
errs = sum(int(x) for x in re.findall(r"(?:connect|read|write|timeout) (\d+)", t))
def lat(p):  # from wrk's "Latency Distribution" block
    m = re.search(r"^\s+%d%%\s+(\S+)" % p, t, re.M)
    return ms(m.group(1)) if m else -1
p50, p99 = lat(50), lat(99)
xfer = re.search(r"Transfer/sec:\s+(\S+)", t)
cpu = int(ticks) / int(tck)
print("\t".join(str(x) for x in (srv, label, rep, "%.0f" % rps, non2xx, errs, "%.2f" % p50, "%.2f" % p99,
                                 xfer.group(1) if xfer else "?", "%.2f" % cpu, busy, load)))
EOF
    log "$srv $label run $rep: $(tail -n1 "$TMP/results.tsv" | cut -f4) req/s"
}

: >"$TMP/results.tsv"
for label in playlist part; do
    if [[ $label == playlist ]]; then obj=720p/media.m3u8; else obj="720p/$best"; fi
    for ((rep = 1; rep <= REPEAT; rep++)); do
        if ((rep % 2)); then
            run_wrk shopcast "$label" "$BASE/$obj" "$rep" "$SC_PID"
            run_wrk nginx "$label" "$NG_BASE/$obj" "$rep" "$NG_PID" "${NG_WORKERS[@]}"
        else
            run_wrk nginx "$label" "$NG_BASE/$obj" "$rep" "$NG_PID" "${NG_WORKERS[@]}"
            run_wrk shopcast "$label" "$BASE/$obj" "$rep" "$SC_PID"
        fi
    done
done
kill -0 "$SC_PID" 2>/dev/null || die "shopcast died"

# ---- system calls per request: strace -c -f on the server over a fixed number of requests ----
# wrk stops after STRACE_REQUESTS responses (a Lua counter); strace slows the server, so these
# runs count calls and are not timed. Every thread of the server is traced (for shopcast, its
# encoders and Redis timers too: idle here, since the stream has ended).
STRACE_REQUESTS=${BENCH_STRACE_REQUESTS:-20000}
check_uint STRACE_REQUESTS
cat >"$TMP/count.lua" <<EOF
local n = 0
function response() n = n + 1; if n >= $STRACE_REQUESTS then wrk.thread:stop() end end
EOF
count_calls() { # SERVER LABEL URL PID
    local srv=$1 label=$2 url=$3 pid=$4 st="$TMP/strace-$1-$2.txt" out="$TMP/wrk-strace-$1-$2.txt" spid
    strace -c -f -q -o "$st" -p "$pid" &
    spid=$!
    sleep 1 # attached to every thread
    "${WRK[@]}" -t1 -c"$CONNS" -d60s -s "$TMP/count.lua" "$url" >"$out" 2>&1 ||
        { cat "$out" >&2; die "wrk failed under strace"; }
    kill -INT "$spid"
    wait "$spid" 2>/dev/null || true
    "$PY" "$HERE/lib/strace_per_request.py" "$st" "$out" "$srv" "$label" >>"$TMP/syscalls.tsv"
}
: >"$TMP/syscalls.tsv"
if ((STRACE_REQUESTS == 0)); then
    log "BENCH_STRACE_REQUESTS=0: no system call counts"
elif command -v strace >/dev/null; then
    for label in playlist part; do
        if [[ $label == playlist ]]; then obj=720p/media.m3u8; else obj="720p/$best"; fi
        count_calls shopcast "$label" "$BASE/$obj" "$SC_PID"
        count_calls nginx "$label" "$NG_BASE/$obj" "${NG_WORKERS[0]}"
    done
else
    log "strace missing: no system call counts"
fi

"$PY" - "$TMP/results.tsv" "$PL_LEN" "$best_len" "$CONNS" "$DURATION" "$PIN" <<'EOF'
import statistics, sys
path, pl_len, part_len, conns, dur, pin = sys.argv[1:7]
rows = [l.rstrip("\n").split("\t") for l in open(path) if l.strip()]
size = {"playlist": "%s B" % pl_len, "part": "%.0f KB" % (int(part_len) / 1000)}
print()
print("wrk -t1 -c%s -d%ss, %s" % (conns, dur, "server pinned to CPU 0, wrk to CPU 1" if pin == "1" else "not pinned"))
print()
print("| object | server | run | req/s | transfer/s | latency p50 ms | p99 ms | non-2xx | socket errors | server CPU s | req per server CPU-s | machine busy % | load1 |")
print("|---|---|---|---|---|---|---|---|---|---|---|---|---|")
med = {}
bad = 0
for label in ("playlist", "part"):
    for srv in ("shopcast", "nginx"):
        rs = [r for r in rows if r[0] == srv and r[1] == label]
        for r in rs:
            cpu = float(r[9])
            print("| %s (%s) | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s |" % (
                label, size[label], srv, r[2], r[3], r[8], r[6], r[7], r[4], r[5], r[9],
                "%.0f" % (float(r[3]) * float(dur) / cpu) if cpu > 0 else "-", r[10], r[11]))
            bad += int(r[4]) > 0 or int(r[5]) > 0
        if rs:
            med[(label, srv)] = statistics.median(float(r[3]) for r in rs)
print()
for label in ("playlist", "part"):
    a, b = med.get((label, "shopcast")), med.get((label, "nginx"))
    if a and b:
        print("%s (%s): shopcast %.0f req/s, nginx %.0f req/s, shopcast/nginx %.2f (goal >= 0.9: %s)" % (
            label, size[label], a, b, a / b, "met" if a / b >= 0.9 else "NOT met"))
if bad:
    print("WARNING: some runs had non-2xx responses or socket errors (see the table)")
EOF
if [[ -s $TMP/syscalls.tsv ]]; then
    echo
    echo "System calls per request (strace -c -f on the server over $STRACE_REQUESTS requests, wrk -c$CONNS):"
    echo
    echo "| object | server | requests | system calls per request | the most frequent, per request |"
    echo "|---|---|---|---|---|"
    while IFS=$'\t' read -r srv label n per top; do
        echo "| $label | $srv | $n | **$per** | $top |"
    done <"$TMP/syscalls.tsv"
fi
