#!/usr/bin/env bash
# Memory and descriptors across reconnects: one stream, the default ladder, a publisher that
# comes and goes BENCH_SESSIONS times inside the grace time, a viewer throughout; shopcast's RSS
# and open descriptors after each session and once the stream is off air.
#
# The publisher is the ffmpeg CLI sending the cached 720p30 2.5 Mbit/s H.264 + AAC test clip
# (testsrc2 + grain: a moving picture) in real time, -c copy, for BENCH_SESSION_S seconds per
# session (the first lasts BENCH_FIRST_S, longer than hls-window, so that the RAM window is full
# before the first reading and what follows is not the window filling up), with BENCH_GAP_S
# seconds between sessions (the slate runs then). lib/soak_viewer.py polls the master and both
# media playlists and fetches the init, the newest part and the newest segment of each rendition
# every 0.5 s, on one keep-alive connection.
#
# Readings (VmRSS, and its RssAnon and RssFile parts, from /proc/PID/status; entries of
# /proc/PID/fd; threads):
#   baseline   after start-up, the stream created and polled by the viewer, never published
#   session N  about 3 s before session N ends (the same point of every session)
#   off air    BENCH_SETTLE s after the API says on_air false (grace BENCH_GRACE after the last
#              session ended) and the worker's threads are gone
#   released   BENCH_SETTLE s after the ended stream's window was released (its master playlist
#              answers 404), if that happens within BENCH_RELEASE_WAIT s
#   session again, off air 2, released 2: the same for one more on-air period (one session):
#              what the first on-air period left behind for good shows as released vs baseline,
#              what each further one leaves as released 2 vs released
# Summary: mean RSS growth per reconnect, every reconnect counted (session 2 is the first):
# (session N - session 1) / (N - 1), and also from session 2 to N; off-air and released RSS
# against the baseline. Goals: <= 1 MB per reconnect; once the window is released, back at the
# baseline plus what the process keeps for good after its first stream (library code paged in:
# RssFile; fonts and codec tables), which must not grow with a second on-air period (released 2
# - released <= 1 MB); descriptors and threads the same in every session and back at the baseline.
#
# Environment (defaults in brackets):
#   SHOPCAST_BIN      [build-hlsbench/relay/shopcast]
#   BENCH_SESSIONS    [20]  publish sessions
#   BENCH_FIRST_S     [40]  length of the first session, s
#   BENCH_SESSION_S   [12]  length of the others, s
#   BENCH_GAP_S       [3]   gap between sessions, s (must be < BENCH_GRACE)
#   BENCH_GRACE       [10]  shopcast --grace
#   BENCH_KEEP_S      []    shopcast --hls-ended-keep (empty: shopcast's default)
#   BENCH_SETTLE      [3]   seconds after off air before reading
#   BENCH_RELEASE_WAIT [150] seconds to wait for the ended window to be released
#   BENCH_SHOPCAST_ARGS []  more shopcast options
#   BENCH_ENV         []    environment for shopcast, e.g. "MALLOC_ARENA_MAX=2"
#   BENCH_MAX_LOAD [1.5], BENCH_LOAD_WAIT [600]: wait (bounded) for a quiet machine first
#   BENCH_KEEP_TMP    [0]
set -euo pipefail
# shellcheck source=lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
bench_init soak_reconnect

SESSIONS=${BENCH_SESSIONS:-20}
FIRST_S=${BENCH_FIRST_S:-40}
SESSION_S=${BENCH_SESSION_S:-12}
GAP_S=${BENCH_GAP_S:-3}
GRACE=${BENCH_GRACE:-10}
KEEP_S=${BENCH_KEEP_S:-}
SETTLE=${BENCH_SETTLE:-3}
RELEASE_WAIT=${BENCH_RELEASE_WAIT:-150}
read -ra SHOPCAST_ARGS <<<"${BENCH_SHOPCAST_ARGS:-}"
read -ra SHOPCAST_ENV <<<"${BENCH_ENV:-}"
check_uint SESSIONS FIRST_S SESSION_S GAP_S GRACE SETTLE RELEASE_WAIT
[[ -z $KEEP_S ]] || check_uint KEEP_S
((SESSIONS >= 3)) || die "BENCH_SESSIONS must be at least 3"
((SESSION_S >= 5 && FIRST_S >= 5)) || die "sessions must last at least 5 s"
((GAP_S < GRACE)) || die "BENCH_GAP_S must be below BENCH_GRACE (a reconnect inside the grace time)"
need_tools ffmpeg ffprobe redis-server
need_shopcast
need_libx264

ROWS="$TMP/rows.tsv"
: >"$ROWS"

# LABEL: one row of the table: label, VmRSS RssAnon RssFile (kB), descriptors, threads, and "-"
# for the media-queue drops so far (session() puts the API's dropped_packets there)
reading() {
    local st fds
    st=$(awk '/^(VmRSS|RssAnon|RssFile|Threads):/ { printf "%s ", $2 }' "/proc/$SC_PID/status") ||
        die "shopcast is gone"
    fds=$(find "/proc/$SC_PID/fd" -mindepth 1 -maxdepth 1 | wc -l)
    read -r rss anon file threads <<<"$st"
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$rss" "$anon" "$file" "$fds" "$threads" - >>"$ROWS"
    log "$(awk -v l="$1" -v r="$rss" -v a="$anon" -v f="$file" -v d="$fds" -v t="$threads" 'BEGIN {
        printf "%-10s RSS %6.1f MB (anon %6.1f, file %5.1f)  fds %3d  threads %3d", l, r / 1024, a / 1024, f / 1024, d, t }')"
}

on_air() { benchlib get "http://127.0.0.1:$SC_HTTP/api/v1/streams/$SC_ID" | grep -q '"on_air": *true'; }

threads() { awk '/^Threads:/ { print $2 }' "/proc/$SC_PID/status"; }
count_log() { grep -c "$1" "$SC_DIR/shopcast.log" || true; } # PATTERN: lines of shopcast's log

# N SECONDS: one publish session; reads about 3 s before its end. shopcast's log tells when it
# went live and that it stayed live to the end (quicker than asking the API on a loaded host).
session() {
    local n=$1 secs=$2 pid i started ended dropped
    started=$(count_log 'event=publish_start')
    ended=$(count_log 'event=stream_offline')
    ffmpeg -hide_banner -nostdin -loglevel warning -re -stream_loop -1 -i "$CLIP" -t "$secs" \
        -c copy -f flv "rtmp://127.0.0.1:$SC_RTMP/live/$SC_KEY" >>"$TMP/publisher.log" 2>&1 &
    pid=$!
    PIDS+=("$pid")
    for ((i = 0; i < 300 && $(count_log 'event=publish_start') == started; i++)); do sleep 0.1; done
    sleep $((secs - 3))
    (($(count_log 'event=stream_offline') == ended)) ||
        { tail -n 20 "$SC_DIR/shopcast.log" >&2; die "session $n ended early"; }
    reading "session $n"
    dropped=$(benchlib shopcast-check "$SC_HTTP" 0 "$SC_ID" 2>/dev/null) || true
    sed -i "\$s/-\$/${dropped:--}/" "$ROWS"
    wait "$pid" || { tail -n 20 "$TMP/publisher.log" >&2; die "publisher of session $n failed"; }
    forget_pid "$pid"
    (($(count_log 'event=publish_start') == started + 1)) || die "session $n was not published"
    grep 'event=stream_offline' "$SC_DIR/shopcast.log" | tail -n1 |
        awk -v s="$secs" -v n="$n" '{ match($0, /uptime_s=[0-9.]+/); u = substr($0, RSTART + 9, RLENGTH - 9)
            if (u + 0 < s - 1) { print "session " n " lasted only " u " s"; exit 1 } }' >&2 ||
        die "session $n did not last"
}

# ---- main ----
log_versions
CLIP=$(test_clip)
log_clip "$CLIP"
wait_for_quiet
start_redis
KEEP_ARGS=()
[[ -z $KEEP_S ]] || KEEP_ARGS=(--hls-ended-keep "$KEEP_S")
SHOPCAST_BIN_REAL=$SHOPCAST_BIN
if ((${#SHOPCAST_ENV[@]})); then
    # start_shopcast runs $SHOPCAST_BIN: a wrapper adds the environment without forking twice
    printf '#!/bin/sh\nexec env %s %q "$@"\n' "${SHOPCAST_ENV[*]}" "$SHOPCAST_BIN_REAL" >"$TMP/shopcast-env"
    chmod +x "$TMP/shopcast-env"
    SHOPCAST_BIN="$TMP/shopcast-env"
fi
start_shopcast "$TMP/shopcast" --ladder 720p:2500k,360p:800k --x264-preset veryfast \
    --hls-segment-ms 1000 --hls-part-ms 333 --grace "$GRACE" "${KEEP_ARGS[@]}" "${SHOPCAST_ARGS[@]}"
SHOPCAST_BIN=$SHOPCAST_BIN_REAL
create_stream
"$PY" "$HERE/lib/soak_viewer.py" 127.0.0.1 "$SC_HTTP" "$SC_ID" "$TMP/viewer.txt" &
VIEWER=$!
PIDS+=("$VIEWER")
sleep 3
reading baseline
BASE_THREADS=$(threads)
read -r B0 T0 < <(machine_busy)
L0=$(load1)
session 1 "$FIRST_S"
for ((s = 2; s <= SESSIONS; s++)); do
    sleep "$GAP_S"
    session "$s" "$SESSION_S"
done
# LABEL RELEASED: waits for off air, reads LABEL, and once the window is released, RELEASED
off_air_and_release() {
    local label=$1 released=$2 i
    log "waiting for the stream to go off air (grace ${GRACE}s)"
    for ((i = 0; i < (GRACE + 20) * 2; i++)); do
        on_air || break
        sleep 0.5
    done
    on_air && die "the stream is still on air $((GRACE + 20)) s after its publisher left"
    for ((i = 0; i < 300 && $(threads) != BASE_THREADS; i++)); do sleep 0.1; done # worker joined
    sleep "$SETTLE"
    reading "$label"
    log "waiting for the ended stream's window to be released (master playlist 404)"
    for ((i = 0; i < RELEASE_WAIT; i++)); do
        benchlib get "$MASTER" >/dev/null 2>&1 || break
        sleep 1
    done
    if benchlib get "$MASTER" >/dev/null 2>&1; then
        log "the ended window was still served ${RELEASE_WAIT} s after off air"
        return 1
    fi
    sleep "$SETTLE"
    reading "$released"
}

MASTER="http://127.0.0.1:$SC_HTTP/hls/$SC_ID/master.m3u8"
if off_air_and_release "off air" released; then
    log "one more on-air period: what does a second one leave behind?"
    session again "$SESSION_S"
    off_air_and_release "off air 2" "released 2" || true
fi
read -r B1 T1 < <(machine_busy)
BUSY=$(((B1 - B0) * 100 / (T1 - T0 > 0 ? T1 - T0 : 1)))
stop_and_forget "$VIEWER" 10
log "viewer: $(cat "$TMP/viewer.txt" 2>/dev/null || echo 'no summary')"
log "off-air events in shopcast's log: $(grep -c 'event=stream_off_air' "$SC_DIR/shopcast.log")"
log "machine busy ${BUSY}% over the run; load1 ${L0} at the start, $(load1) at the end"

"$PY" - "$ROWS" "$SESSIONS" <<'EOF'
import sys
rows = [l.rstrip("\n").split("\t") for l in open(sys.argv[1]) if l.strip()]
n = int(sys.argv[2])
by = {r[0]: [int(v) / 1024 for v in r[1:4]] + [int(r[4]), int(r[5])] for r in rows}
print()
print("| reading | RSS MB | change MB | anon MB | file MB | open fds | threads | queue drops so far |")
print("|---|---|---|---|---|---|---|---|")
prev = None
for r in rows:
    rss, anon, file, fds, th = by[r[0]]
    print("| %s | %.1f | %s | %.1f | %.1f | %d | %d | %s |" % (
        r[0], rss, "" if prev is None else "%+.1f" % (rss - prev), anon, file, fds, th, r[6]))
    prev = rss
base, s1, s2, sn = by["baseline"], by["session 1"], by["session 2"], by["session %d" % n]
per = (sn[0] - s1[0]) / (n - 1)
per2 = (sn[0] - s2[0]) / (n - 2)
flat = all(by["session %d" % i][3:] == s1[3:] for i in range(1, n + 1))
print()
line = "SUMMARY: mean RSS growth per reconnect %+.2f MB (goal <= 1: %s; sessions 2..%d: %+.2f)" % (
    per, "met" if per <= 1 else "NOT met", n, per2)
line += "; fds/threads in every session as in session 1 (%d/%d): %s" % (
    s1[3], s1[4], "yes" if flat else "NO")
off, rel, again = by.get("off air"), by.get("released"), by.get("released 2")
line += "; off air %+.1f MB vs baseline %.1f MB" % (off[0] - base[0], base[0])
if rel:
    line += "; window released: %+.1f MB (anon %+.1f, file %+.1f), fds %d vs %d" % (
        rel[0] - base[0], rel[1] - base[1], rel[2] - base[2], rel[3], base[3])
else:
    line += "; the ended window was never released"
if again:
    d = again[0] - rel[0]
    line += "; a second on-air period left %+.1f MB (goal <= 1: %s), fds %d" % (
        d, "met" if d <= 1 and again[3] == base[3] else "NOT met", again[3])
print(line)
EOF
