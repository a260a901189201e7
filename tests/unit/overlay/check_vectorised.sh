#!/usr/bin/env bash
# Checks that ov__blend_row, the card's per-frame loop, was compiled to packed SIMD: GCC 12 at
# -O2 leaves it scalar (overlay/blend.c). Every version of it is checked: the plain one (SSE2,
# xmm registers) and, when GCC made target clones, the AVX2 one (ymm).
# Usage: check_vectorised.sh LIBOVERLAY_BLEND.a
# Exit 77 (meson: skipped) where the check does not apply: not x86-64, or no objdump.
set -euo pipefail
lib=$1
[ "$(uname -m)" = x86_64 ] || { echo "not x86-64: skipped"; exit 77; }
command -v objdump >/dev/null || { echo "no objdump: skipped"; exit 77; }
dis=$(objdump -d --no-show-raw-insn "$lib")

# FUNCTION REGISTER: the function's body must widen bytes to 16-bit lanes and multiply them
# (pmullw: 8 pixels per xmm, 16 per ymm) at least twice
check() {
  local body mul widen
  body=$(awk -v f="<$1>:" '$2 == f { on = 1; next } on && /^$/ { exit } on' <<<"$dis")
  [ -n "$body" ] || { echo "$1 not found in $lib"; exit 1; }
  mul=$(grep -cE "\bv?pmullw\b.*%$2" <<<"$body" || true)
  widen=$(grep -cE "\b(v?punpck[lh]bw|v?pmovzxbw)\b.*%$2" <<<"$body" || true)
  echo "$1: $mul packed 16-bit multiplies and $widen byte widenings on $2 registers"
  [ "$mul" -ge 2 ] && [ "$widen" -ge 2 ] || { echo "$1 is not vectorised"; exit 1; }
}

if grep -q '<ov__blend_row\.default>:' <<<"$dis"; then
  check ov__blend_row.default xmm
  check ov__blend_row.avx2 ymm
else
  check ov__blend_row xmm
fi
