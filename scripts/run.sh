#!/usr/bin/env bash
# Sets up and runs shopcast on this machine: installs what is missing, builds, starts a local
# redis-server unless one is configured, starts shopcast, and prints what to type into OBS.
#
# Usage: scripts/run.sh [shopcast options...]     e.g. scripts/run.sh --record on
# Settings come from deploy/shopcast.ini (or SHOPCAST_CONFIG=FILE), then the options given here.
# Everything it writes stays in ./.data (recordings, the operator token, the local Redis).
set -euo pipefail
cd "$(dirname "$0")/.."

CONFIG=${SHOPCAST_CONFIG:-deploy/shopcast.ini}
DATA=${SHOPCAST_DATA:-$PWD/.data}
HTTP=${SHOPCAST_HTTP:-0.0.0.0:8080}
RTMP=${SHOPCAST_RTMP:-0.0.0.0:1935}

scripts/deps.sh run
[ -d build ] || meson setup build --buildtype=release
ninja -C build relay/shopcast
mkdir -p "$DATA"

# Redis: whatever the config or the command line names; otherwise a local one in .data/redis.
REDIS=$(sed -n 's/^[[:space:]]*redis[[:space:]]*=[[:space:]]*//p' "$CONFIG" 2>/dev/null | tail -1)
for a in "$@"; do case "$a" in --redis=*) REDIS=${a#--redis=} ;; esac; done
prev=""; for a in "$@"; do [ "$prev" = --redis ] && REDIS=$a; prev=$a; done
if [ -z "$REDIS" ]; then
  REDIS=redis://127.0.0.1:6379
  if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
    mkdir -p "$DATA/redis"
    redis-server --port 6379 --bind 127.0.0.1 --dir "$DATA/redis" --appendonly yes \
      --daemonize yes --logfile "$DATA/redis/redis.log" --pidfile "$DATA/redis/redis.pid"
    for _ in $(seq 50); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.1; done
    echo "shopcast: started redis-server on 127.0.0.1:6379 (data in $DATA/redis)"
  fi
fi

./build/relay/shopcast --config "$CONFIG" --data-dir "$DATA" --redis "$REDIS" \
  --http-listen "$HTTP" --rtmp-listen "$RTMP" "$@" &
pid=$!
trap 'kill -TERM $pid 2>/dev/null; wait $pid' INT TERM

api="http://127.0.0.1:${HTTP##*:}"
for _ in $(seq 100); do
  curl -fs "$api/healthz" >/dev/null 2>&1 && break
  kill -0 $pid 2>/dev/null || { echo "shopcast did not start; see the log above" >&2; exit 1; }
  sleep 0.1
done
token=$(cat "$DATA/operator-token")

# The first time, create a stream for the seller; afterwards show the same one again.
if [ ! -s "$DATA/first-stream.json" ]; then
  curl -fs -X POST -H "Authorization: Bearer $token" -d '{"title":"My first live sale"}' \
    "$api/api/v1/streams" >"$DATA/first-stream.json"
fi
field() { sed -n "s/.*\"$1\":\"\\([^\"]*\\)\".*/\\1/p" "$DATA/first-stream.json"; }
host=$(hostname -I 2>/dev/null | awk '{print $1}'); host=${host:-127.0.0.1}

cat <<MSG

  shopcast is running.

  In OBS: Settings > Stream > Service: Custom...
     Server:      rtmp://$host:${RTMP##*:}/live
     Stream Key:  $(field key)

  Stream id:      $(field id)
  API:            $api/api/v1/streams
  Operator token: $token   (send as: Authorization: Bearer <token>)

  Stop with Ctrl-C.
MSG
wait $pid
