#!/usr/bin/env bash
# Sets up and runs shopcast on this machine: installs what is missing, builds, starts a local
# redis-server unless one is configured, starts shopcast, and prints what to type into OBS.
#
# Usage: scripts/run.sh [shopcast options...]     e.g. scripts/run.sh --record on
# Settings come from deploy/shopcast.ini (or SHOPCAST_CONFIG=FILE), then the options given here.
# Everything it writes stays in ./.data (recordings, the operator token, the local Redis).
# Ctrl-C, SIGINT or SIGTERM stops shopcast and the redis-server this script started; so does any
# failure on the way. A SIGTERM that comes during the install or the build takes effect when that
# step ends (an apt-get cut short would leave dpkg half done).
set -euo pipefail
# Started in the background by another script, bash ignores SIGINT and cannot trap it: start
# again with SIGINT back to its default, so that `kill -INT` stops this script too.
if [ -n "$(trap -p INT)" ]; then exec env --default-signal=INT bash "$0" "$@"; fi
cd "$(dirname "$0")/.."

CONFIG=${SHOPCAST_CONFIG:-deploy/shopcast.ini}
DATA=${SHOPCAST_DATA:-$PWD/.data}
HTTP=${SHOPCAST_HTTP:-0.0.0.0:8080}
RTMP=${SHOPCAST_RTMP:-0.0.0.0:1935}

# shopcast and redis-server run in sessions of their own (setsid), so that a Ctrl-C reaches this
# script only, which then stops each of them with one SIGTERM: a second signal, straight from
# the terminal, would cut their clean shutdown short.
shopcast_pid="" redis_pid=""
stop_all() { # the EXIT trap: stops what this script started, shopcast first (it may write to Redis)
  set +e
  for p in $shopcast_pid $redis_pid; do
    kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
  done
}
trap stop_all EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
trap 'exit 129' HUP

scripts/deps.sh run
scripts/meson-setup.sh build --buildtype=release
ninja -C build relay/shopcast
mkdir -p "$DATA"

# Redis: whatever the config or the command line names; otherwise a local one in .data/redis,
# writing every acknowledged change to its append-only file before it answers.
REDIS=$(sed -n 's/^[[:space:]]*redis[[:space:]]*=[[:space:]]*//p' "$CONFIG" 2>/dev/null | tail -1)
for a in "$@"; do case "$a" in --redis=*) REDIS=${a#--redis=} ;; esac; done
prev=""; for a in "$@"; do [ "$prev" = --redis ] && REDIS=$a; prev=$a; done
if [ -z "$REDIS" ]; then
  REDIS=redis://127.0.0.1:6379
  if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
    mkdir -p "$DATA/redis"
    setsid redis-server --port 6379 --bind 127.0.0.1 --dir "$DATA/redis" --appendonly yes \
      --appendfsync always --logfile "$DATA/redis/redis.log" &
    redis_pid=$!
    until redis-cli -p 6379 ping >/dev/null 2>&1; do
      kill -0 $redis_pid 2>/dev/null || { echo "redis-server did not start; see $DATA/redis/redis.log" >&2; exit 1; }
      sleep 0.1
    done
    echo "shopcast: started redis-server on 127.0.0.1:6379 (data in $DATA/redis)"
  fi
fi

setsid ./build/relay/shopcast --config "$CONFIG" --data-dir "$DATA" --redis "$REDIS" \
  --http-listen "$HTTP" --rtmp-listen "$RTMP" "$@" &
shopcast_pid=$!

api="http://127.0.0.1:${HTTP##*:}"
healthy=""
for _ in $(seq 100); do
  curl -fs "$api/healthz" >/dev/null 2>&1 && { healthy=1; break; }
  kill -0 $shopcast_pid 2>/dev/null || { echo "shopcast did not start; see the log above" >&2; exit 1; }
  sleep 0.1
done
[ -n "$healthy" ] || echo "shopcast: warning: $api/healthz says $(curl -s "$api/healthz")" >&2
token=$(cat "$DATA/operator-token")

# The first time, create a stream for the seller; afterwards show the same one again (or a new
# one, if the key store no longer has it).
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$DATA/first-stream.json" 2>/dev/null; }
if [ -z "$(field id)" ] || ! curl -fs "$api/api/v1/streams/$(field id)" >/dev/null; then
  curl -fsS -X POST -H "Authorization: Bearer $token" -d '{"title":"My first live sale"}' \
    "$api/api/v1/streams" >"$DATA/first-stream.json.new" ||
    { echo "shopcast: could not create a stream for the seller (is Redis reachable?)" >&2; exit 1; }
  mv "$DATA/first-stream.json.new" "$DATA/first-stream.json"
fi
# The address others reach a listener on: its own, or this machine's first one for 0.0.0.0.
host=$(hostname -I 2>/dev/null | awk '{print $1}'); host=${host:-127.0.0.1}
reach() { local a=${1%:*}; [ "$a" = 0.0.0.0 ] && a=$host; echo "$a:${1##*:}"; }

cat <<MSG

  shopcast is running.

  In OBS: Settings > Stream > Service: Custom...
     Server:      rtmp://$(reach "$RTMP")/live
     Stream Key:  $(field key)

  Viewer page:    http://$(reach "$HTTP")/watch/$(field id)
  Stream id:      $(field id)
  API:            $api/api/v1/streams
  Operator token: $token   (send as: Authorization: Bearer <token>)

  Stop with Ctrl-C.
MSG
status=0
wait $shopcast_pid || status=$?
shopcast_pid=""
exit $status
