#!/usr/bin/env bash
# Checks one of the README's two commands the way a newcomer's machine runs it: in a pristine
# Debian 12 root (debootstrap minbase) holding a clean clone of this repository's committed HEAD
# and nothing else, so that only what the command installs itself is there. Prints the time it took.
#   run:  starts scripts/run.sh, waits for its summary, checks /healthz and the viewer page, stops
#         it with SIGTERM and checks that nothing it started is left; then a second run, over a
#         half-made build/, that must come up again and stop on SIGINT.
#   test: scripts/test.sh must pass whole.
#
# Usage (as root): scripts/fresh-debian.sh run|test
#   FRESH_DIR=dir   where the roots and logs go (default /var/tmp/shopcast-fresh); the pristine
#                   minbase root is made there once and copied for each check (rm -rf it when done)
#   FRESH_KEEP=1    keep the checked root instead of deleting it
# The machine's own way out is kept: its extra CA certificates (/usr/local/share/ca-certificates,
# for a proxy that inspects TLS) are copied in, where the ca-certificates package that the command
# installs picks them up, and its proxy variables and NODE_EXTRA_CA_CERTS (Node.js trusts only its
# own CA list otherwise) are passed through.
set -euo pipefail
cd "$(dirname "$0")/.."

mode=${1:-}
case "$mode" in run | test) ;; *) echo "usage: $0 run|test" >&2; exit 2 ;; esac
[ "$(id -u)" -eq 0 ] || { echo "$0: needs root (debootstrap, chroot, mount)" >&2; exit 2; }
[ -z "$(git status --porcelain --untracked-files=no)" ] ||
  echo "fresh-debian: warning: uncommitted changes are not checked, only HEAD $(git rev-parse --short HEAD)" >&2

dir=${FRESH_DIR:-/var/tmp/shopcast-fresh}
base=$dir/minbase
root=$dir/$mode-root
log=$dir/$mode.log
mounts=(proc sys dev dev/pts dev/shm)
mkdir -p "$dir"

say() { printf 'fresh-debian: %s\n' "$*"; }
took() { local s=$(($(date +%s) - $1)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }
in_root_pids() { # every process whose root is the checked root
  local p
  for p in /proc/[0-9]*; do
    [ "$(readlink "$p/root" 2>/dev/null)" = "$root" ] && echo "${p#/proc/}"
  done
  return 0
}
cleanup() { # the EXIT trap: nothing of the check may outlive it, and no mount may be deleted
  local - left m i
  set +e
  left=$(in_root_pids)
  if [ -n "$left" ]; then
    kill -TERM $left 2>/dev/null
    sleep 2
    left=$(in_root_pids)
    [ -z "$left" ] || kill -KILL $left 2>/dev/null
  fi
  for ((i = ${#mounts[@]} - 1; i >= 0; i--)); do
    m=$root/${mounts[i]}
    mountpoint -q "$m" && { umount "$m" || umount -l "$m"; }
  done
  if grep -q " $root/" /proc/mounts; then
    say "still mounted under $root; not deleting it"
  elif [ -z "${FRESH_KEEP:-}" ]; then
    rm -rf --one-file-system "$root"
  fi
}

# The pristine root: made once, then copied. sources.list and /etc/hosts as an installed
# Debian 12 has them (the installer writes both; debootstrap does not).
if [ ! -d "$base" ]; then
  command -v debootstrap >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap
  rm -rf --one-file-system "$base.tmp"
  say "debootstrap --variant=minbase bookworm (once, into $base)"
  debootstrap --variant=minbase bookworm "$base.tmp" http://deb.debian.org/debian >"$dir/debootstrap.log"
  cat >"$base.tmp/etc/apt/sources.list" <<'EOF'
deb http://deb.debian.org/debian bookworm main
deb http://deb.debian.org/debian bookworm-updates main
deb http://deb.debian.org/debian-security bookworm-security main
EOF
  printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$base.tmp/etc/hosts"
  mv "$base.tmp" "$base"
fi

trap cleanup EXIT
[ ! -e "$root" ] || FRESH_KEEP="" cleanup # what an earlier check left
[ ! -e "$root" ] || { say "could not remove $root"; exit 1; }
cp -a "$base" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
if compgen -G '/usr/local/share/ca-certificates/*.crt' >/dev/null; then
  mkdir -p "$root/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$root/usr/local/share/ca-certificates/"
fi
mount -t proc proc "$root/proc"
mount -t sysfs sys "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"
mount -t tmpfs shm "$root/dev/shm"
git clone -q --no-hardlinks . "$root/src/shopcast"
git -C "$root/src/shopcast" checkout -q --detach "$(git rev-parse HEAD)"
say "$mode in $root, clone of $(git rev-parse --short HEAD); log: $log"

envs=(HOME=/root LANG=C.UTF-8 TERM=dumb PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin)
for v in http_proxy https_proxy no_proxy HTTP_PROXY HTTPS_PROXY NO_PROXY NODE_EXTRA_CA_CERTS; do
  [ -z "${!v:-}" ] || envs+=("$v=${!v}")
done
in_root=(chroot "$root" /usr/bin/env -i "${envs[@]}") # chroot and env exec: one pid, the command's
in_root() { "${in_root[@]}" "$@"; }
check_node() { # the only node there is Debian's own (the README says Node 18 works)
  local v
  v=$(in_root node --version)
  say "node: $(in_root which -a node | tr '\n' ' ')$v, package $(in_root dpkg-query -W -f='${Package} ${Version}' nodejs)"
  [[ $v == v18.* ]] || { say "FAIL: expected Debian 12's Node 18"; exit 1; }
}

start_run() { # run.sh in the background (its pid in run_pid), until it prints its summary
  local before
  before=$(grep -c 'Stop with Ctrl-C' "$log" || true)
  # Not through the function: `fn &` forks a subshell, and its pid is not run.sh's.
  "${in_root[@]}" bash -c 'cd /src/shopcast && exec scripts/run.sh' >>"$log" 2>&1 &
  run_pid=$!
  until [ "$(grep -c 'Stop with Ctrl-C' "$log" || true)" -gt "$before" ]; do
    kill -0 $run_pid 2>/dev/null || { say "FAIL: run.sh ended before its summary"; tail -30 "$log" >&2; exit 1; }
    sleep 1
  done
}
check_up() { # /healthz and the viewer page that the summary names, asked on loopback
  local watch
  curl -fsS http://127.0.0.1:8080/healthz
  echo
  watch=$(sed -n 's|.*Viewer page: *http://[^/]*\(/watch/[a-z0-9]*\).*|\1|p' "$log" | tail -1)
  [ -n "$watch" ] || { say "FAIL: no viewer page URL in the summary"; exit 1; }
  [[ $(curl -fsS "http://127.0.0.1:8080$watch") == *hls.min.js* ]] || { say "FAIL: $watch"; exit 1; }
  [ "$(curl -fsS -o /dev/null -w '%{size_download}' http://127.0.0.1:8080/static/hls.min.js)" -gt 0 ]
  say "/healthz and $watch (with hls.js) answer"
}
stop_run() { # signals run.sh; everything in the root must be gone once it has ended
  local sig=$1 rc=0
  kill -"$sig" "$run_pid"
  wait "$run_pid" || rc=$?
  sleep 1
  [ -z "$(in_root_pids)" ] || { say "FAIL: left running after SIG$sig:"; ps -o pid,args -p "$(in_root_pids | paste -sd,)"; exit 1; }
  say "SIG$sig: run.sh ended ($rc) and nothing it started is left"
}

: >"$log"
t0=$(date +%s)
case "$mode" in
run)
  start_run
  say "run.sh: summary after $(took "$t0")"
  check_up
  check_node
  stop_run TERM
  rm "$root/src/shopcast/build/build.ninja" # as an interrupted meson setup leaves it
  t1=$(date +%s)
  start_run
  say "second run.sh, over a half-made build/: summary after $(took "$t1")"
  check_up
  stop_run INT
  ;;
test)
  rc=0
  in_root bash -c 'cd /src/shopcast && scripts/test.sh' >"$log" 2>&1 || rc=$?
  tail -5 "$log"
  [ "$rc" -eq 0 ] || { say "FAIL: scripts/test.sh exited $rc after $(took "$t0")"; exit 1; }
  grep -q 'test_browser.py::.* PASSED' "$log" || { say "FAIL: the browser test did not pass"; exit 1; }
  say "scripts/test.sh passed in $(took "$t0")"
  check_node
  ;;
esac
