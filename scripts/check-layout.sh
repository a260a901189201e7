#!/usr/bin/env bash
# Checks that the code keeps the shape docs/ARCHITECTURE.md describes, from its #include lines:
# which folder may include which, so that the two thread worlds stay apart and no circle forms.
# Usage: scripts/check-layout.sh   (exit 1 and one line per broken rule)
set -euo pipefail
cd "$(dirname "$0")/.."

# folder: the project folders its files may include from (besides their own and system headers)
declare -A may=(
  [proto]=""
  [overlay]=""
  [relay/core]=""
  [relay/media]="relay/core proto overlay"
  [relay/net]="relay/core relay/media"
  [relay/live]="relay/core relay/media relay/net proto overlay"
  [relay/ingest]="relay/core relay/net relay/live proto"
  [relay/http]="relay/core relay/net"
  [relay/commerce]="relay/core relay/net relay/live relay/media overlay proto"
  [relay/signal]="relay/core relay/net relay/live relay/media relay/commerce proto overlay"
  [relay/routes]="relay/core relay/net relay/live relay/media relay/ingest relay/http relay/commerce relay/signal proto overlay"
)
# The worker thread's world never sees the network thread's libraries.
no_net_libs="relay/core relay/media proto overlay"

bad=0
fail() { echo "layout: $*"; bad=1; }

for dir in "${!may[@]}"; do
  for f in "$dir"/*.[ch]; do
    [ -e "$f" ] || continue
    while IFS= read -r inc; do
      d=$(dirname "$inc")
      [ "$d" = "$dir" ] && continue
      case " ${may[$dir]} " in *" $d "*) continue ;; esac
      fail "$f includes \"$inc\": $dir may include only from: ${may[$dir]:-nothing outside itself}"
    done < <(sed -n 's/^#include "\([^"]*\/[^"]*\)".*/\1/p' "$f")
  done
done
for dir in $no_net_libs; do
  for f in "$dir"/*.[ch]; do
    hit=$(grep -n '^#include <\(libwebsockets\|hiredis/\|uv\.h\)' "$f" || true)
    [ -z "$hit" ] || fail "$f:$hit: $dir runs on the media worker or is pure: no lws/hiredis/libuv"
  done
done
# Every folder of relay/ that holds code must be in the table above.
for d in relay/*/; do
  d=${d%/}
  [ -n "${may[$d]+x}" ] || fail "$d is not in scripts/check-layout.sh's table: add its rule"
done
# Only main.c includes the composition root.
for f in $(grep -rl '#include "relay/relay.h"' relay proto overlay || true); do
  case "$f" in relay/main.c | relay/relay.c) ;; *) fail "$f includes relay/relay.h (only main.c may)" ;; esac
done

[ $bad = 0 ] && echo "layout: ok"
exit $bad
