#!/usr/bin/env bash
# Sets up a meson build directory unless it is already set up. What a failed or interrupted setup
# left behind (a folder without build.ninja) is removed and set up again, so that the next run of
# run.sh, test.sh or fuzz/run.sh works instead of stopping at "loading 'build.ninja'".
# Usage: scripts/meson-setup.sh DIR [meson setup options...]
set -euo pipefail
dir=$1
shift
[ -f "$dir/build.ninja" ] && exit 0
rm -rf "$dir"
exec meson setup "$dir" "$@"
