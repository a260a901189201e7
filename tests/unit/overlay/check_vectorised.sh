#!/usr/bin/env bash
# Checks that ov__blend_row, the card's per-frame loop, was compiled to packed SIMD: GCC 12 at
# -O2 leaves it scalar (overlay/blend.c). Usage: check_vectorised.sh LIBOVERLAY_BLEND.a
# Exit 77 (meson: skipped) where the check does not apply: not x86-64, or no objdump.
set -euo pipefail
lib=$1
[ "$(uname -m)" = x86_64 ] || { echo "not x86-64: skipped"; exit 77; }
command -v objdump >/dev/null || { echo "no objdump: skipped"; exit 77; }
asm=$(objdump -d --no-show-raw-insn --disassemble=ov__blend_row "$lib")
echo "$asm" | grep -q '<ov__blend_row>:' || { echo "ov__blend_row not found in $lib"; exit 1; }
# 16-bit lanes: the bytes widened (punpck*bw or pmovzxbw) and multiplied 8 or more at a time
mul=$(echo "$asm" | grep -cE '\b(v?pmullw)\b' || true)
widen=$(echo "$asm" | grep -cE '\b(v?punpck[lh]bw|v?pmovzxbw)\b' || true)
echo "ov__blend_row: $mul packed 16-bit multiplies, $widen byte widenings"
[ "$mul" -ge 2 ] && [ "$widen" -ge 2 ] || { echo "ov__blend_row is not vectorised"; exit 1; }
