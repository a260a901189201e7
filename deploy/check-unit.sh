#!/usr/bin/env bash
# Runs deploy/shopcast.service under a real systemd on a machine where systemd is not PID 1 (a
# container, a CI VM): boots /lib/systemd/systemd as PID 1 of throwaway namespaces (the host's / under a
# tmpfs overlay, its own network with only loopback, a child cgroup), with `meson install` of
# BUILD_DIR as /usr/local and the unit enabled. Then it publishes with ffmpeg, checks that HLS
# plays, that the recording lands in the state directory, that `systemctl stop` ends it cleanly
# and that a crash is restarted, and that the journal holds no error. Nothing is written to the
# host but a temp dir and a child cgroup, both removed at the end.
# Usage (root): deploy/check-unit.sh [BUILD_DIR]       (default: build)
set -euo pipefail

inner() { # PID 1 of the new namespaces: make the root, exec systemd
    local T=$1 R=$1/root
    mount --make-rprivate /
    mount -t tmpfs tmpfs "$T/rw"
    mkdir -p "$T/rw/upper" "$T/rw/work" "$R"
    mount -t overlay overlay -o "lowerdir=/,upperdir=$T/rw/upper,workdir=$T/rw/work" "$R"
    mount -t proc proc "$R/proc"
    mount -t sysfs -o ro sysfs "$R/sys"
    mount -t cgroup2 cgroup2 "$R/sys/fs/cgroup"
    mount -t tmpfs -o mode=755 tmpfs "$R/dev"
    local n ma mi
    while read -r n ma mi; do mknod -m 666 "$R/dev/$n" c "$ma" "$mi"; done <<<"null 1 3
zero 1 5
full 1 7
random 1 8
urandom 1 9
tty 5 0"
    mkdir -p "$R/dev/pts" "$R/dev/shm"
    mount -t devpts -o newinstance,ptmxmode=0666 devpts "$R/dev/pts"
    ln -s pts/ptmx "$R/dev/ptmx"
    ln -s /proc/self/fd "$R/dev/fd"
    for d in dev/shm run tmp; do mount -t tmpfs tmpfs "$R/$d"; done
    mount --bind "$T/dest/usr/local" "$R/usr/local"
    # only Redis and shopcast start: none of the host's other services or timers
    rm -rf "$R"/etc/systemd/system/*.wants
    mkdir -p "$R/etc/systemd/system/multi-user.target.wants" "$R/etc/shopcast"
    ln -s /lib/systemd/system/redis-server.service "$R/etc/systemd/system/multi-user.target.wants/"
    ln -s /usr/local/lib/systemd/system/shopcast.service "$R/etc/systemd/system/multi-user.target.wants/"
    cp "$T/shopcast.ini" "$R/etc/shopcast/shopcast.ini"
    : >"$R/etc/machine-id"
    cd "$R"
    mkdir -p oldroot
    pivot_root . oldroot
    umount -l /oldroot
    export container=shopcast-check
    exec /lib/systemd/systemd --unit=multi-user.target
}
[ "${1:-}" = --inner ] && { inner "$2"; exit 1; }

SELF=$(readlink -f "$0")
cd "$(dirname "$SELF")/.."
BUILD=${1:-build}
[ "$(id -u)" -eq 0 ] || { echo "check-unit: needs root (namespaces, mounts)" >&2; exit 2; }
for t in unshare nsenter pivot_root systemd-analyze ffmpeg ffprobe curl redis-server; do
    command -v "$t" >/dev/null || { echo "check-unit: $t not found" >&2; exit 2; }
done
CG=$(findmnt -n -t cgroup2 -o TARGET | head -1)
[ -n "$CG" ] || { echo "check-unit: no cgroup2 mount" >&2; exit 2; }

T=$(mktemp -d /tmp/shopcast-unit.XXXXXX)
CGD="$CG/shopcast-unit.${T##*.}"
NS_PID='' PUB=''
cleanup() {
    [ -n "$PUB" ] && kill "$PUB" 2>/dev/null
    if [ -n "$NS_PID" ] && kill -0 "$NS_PID" 2>/dev/null; then
        nsenter -t "$NS_PID" -a systemctl poweroff 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$NS_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$NS_PID" 2>/dev/null || true
    fi
    [ -d "$CGD" ] && find "$CGD" -depth -type d -exec rmdir {} + 2>/dev/null
    rm -rf "$T"
}
trap cleanup EXIT
fail() { echo "check-unit: FAIL: $*" >&2; exit 1; }
ok() { echo "check-unit: ok: $*"; }

mkdir -p "$T/rw" "$T/root"
DESTDIR="$T/dest" meson install -C "$BUILD" --quiet
UNIT=/usr/local/lib/systemd/system/shopcast.service
# verify resolves the unit's dependencies (sysinit.target, ...) under --root
mkdir -p "$T/dest/usr/lib/systemd"
cp -a /lib/systemd/system "$T/dest/usr/lib/systemd/"
{ out=$(systemd-analyze verify --root="$T/dest" "$UNIT" 2>&1) && [ -z "$out" ]; } || fail "verify: $out"
ok "systemd-analyze verify: no findings"
echo "check-unit: $(systemd-analyze security --offline=yes --root="$T/dest" "$UNIT" 2>&1 | tail -1)"
rm -rf "$T/dest/usr/lib"
# the example config, on ports of its own network namespace, recording on
sed -e 's/^rtmp_listen = .*/rtmp_listen = 127.0.0.1:19350/' \
    -e 's/^http_listen = .*/http_listen = 127.0.0.1:18080/' -e 's/^;redis = /redis = /' \
    -e 's/^record = .*/record = on/' deploy/shopcast.ini >"$T/shopcast.ini"

mkdir "$CGD"
(echo "$BASHPID" >"$CGD/cgroup.procs" &&
    exec unshare --mount --uts --ipc --net --pid --fork --cgroup "$SELF" --inner "$T") \
    >"$T/console.log" 2>&1 &
for _ in $(seq 100); do
    NS_PID=$(pgrep -P "$!" -x systemd || true)
    [ -n "$NS_PID" ] && break
    sleep 0.1
done
[ -n "$NS_PID" ] || fail "systemd did not start: $(cat "$T/console.log")"
in_ns() { nsenter -t "$NS_PID" -a "$@"; }
in_net() { nsenter -t "$NS_PID" -n "$@"; }
for _ in $(seq 300); do
    st=$(in_ns systemctl is-system-running 2>/dev/null || true)
    [ "$st" = running ] || [ "$st" = degraded ] && break
    sleep 0.1
done
in_ns systemctl is-active --quiet shopcast || fail "not active: $(in_ns systemctl status shopcast)"
API=http://127.0.0.1:18080
for _ in $(seq 100); do in_net curl -fs "$API/healthz" >/dev/null && break; sleep 0.1; done
main=$(in_ns systemctl show -p MainPID --value shopcast)
ok "booted; shopcast.service active, as user $(in_ns stat -c %U "/proc/$main") (DynamicUser)"

token=$(in_ns cat /var/lib/shopcast/operator-token)
s=$(in_net curl -fs -X POST -H "Authorization: Bearer $token" -d '{"title":"unit"}' "$API/api/v1/streams")
id=$(sed -n 's/.*"id":"\([^"]*\)".*/\1/p' <<<"$s")
key=$(sed -n 's/.*"key":"\([^"]*\)".*/\1/p' <<<"$s")
in_net ffmpeg -hide_banner -nostdin -loglevel error -re -f lavfi -i testsrc2=size=1280x720:rate=30 \
    -f lavfi -i sine=sample_rate=48000 -t 60 -c:v libx264 -preset veryfast -g 60 -pix_fmt yuv420p \
    -c:a aac -f flv "rtmp://127.0.0.1:19350/live/$key" 2>/dev/null &
PUB=$!
for _ in $(seq 300); do
    [ "$(in_net curl -fs "$API/hls/$id/720p/media.m3u8" | grep -c '^seg-')" -ge 3 ] && break
    sleep 0.1
done
frames=$(in_net ffprobe -v error -count_frames -select_streams v:0 -read_intervals %+2 \
    -show_entries stream=nb_read_frames -of csv=p=0 "$API/hls/$id/720p/media.m3u8" | grep -m1 .)
[ "${frames:-0}" -gt 0 ] || fail "no frames decoded from the 720p rendition"
ok "libx264 ladder under MemoryDenyWriteExecute and the syscall filter: $frames frames decoded"

start=$(date +%s%N)
in_ns systemctl stop shopcast
ms=$((($(date +%s%N) - start) / 1000000))
wait "$PUB" 2>/dev/null || true
PUB=''
[ "$(in_ns systemctl show -p Result --value shopcast)" = success ] || fail "stop: not a clean exit"
mp4=$(in_ns find /var/lib/private/shopcast/recordings -name '*.mp4' | head -1)
[ -n "$mp4" ] || fail "no recording in the state directory"
rec=$(ffprobe -v error -count_frames -select_streams v:0 -show_entries stream=nb_read_frames \
    -of csv=p=0 "/proc/$NS_PID/root$mp4" | grep -m1 .)
[ "${rec:-0}" -gt 0 ] || fail "the recording does not play"
ok "systemctl stop: clean exit in $ms ms; recording $mp4 has $rec frames"

in_ns systemctl start shopcast
main=$(in_ns systemctl show -p MainPID --value shopcast)
in_ns kill -KILL "$main"
for _ in $(seq 100); do
    [ "$(in_ns systemctl show -p NRestarts --value shopcast)" = 1 ] &&
        in_ns systemctl is-active --quiet shopcast && break
    sleep 0.1
done
[ "$(in_ns systemctl show -p NRestarts --value shopcast)" = 1 ] || fail "not restarted after a crash"
ok "restarted after SIGKILL (Restart=on-failure)"
errors=$(in_ns journalctl -u shopcast -o cat --no-pager | grep 'level=error' || true)
[ -z "$errors" ] || fail "errors in the journal: $errors"
ok "journal: no level=error line"
