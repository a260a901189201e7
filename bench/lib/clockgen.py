#!/usr/bin/python3
"""A camera that films a clock: writes raw yuv420p frames to stdout in real time, each carrying
the wall-clock time (ms since the epoch) at which it was made, as a row of big black/white blocks.

    clockgen.py [--fps 30] [--seconds N] [--size 1280x720] [--noise 8] [--still] [--stats FILE]

The clock row (in 1280x720 coordinates; readers scale other sizes to that first):
    48 blocks of BLOCK x BLOCK px starting at (X0, Y0), left to right:
    blocks 0-3   start marker 1 0 1 0 (1 = white)
    blocks 4-43  the wall clock in ms modulo 2^40, most significant bit first
    blocks 44-47 check: XOR of the ten 4-bit nibbles of those 40 bits
The rest of the picture is mid grey with grain (uniform noise of +-NOISE luma levels, from 30
precomputed frames played in a loop, so that the encoder needs its full bitrate as with a real
camera) and a white square moving across it. With --still the grain is one frame, kept, and the square stands
in the middle: only the clock row changes from frame to frame (a 1152x24 strip, 3% of a 720p
picture), as when a camera looks at a product standing still. Frames are paced to the wall clock
(frame n is made at start + n/fps); if the reader stalls, frames are late rather than dropped, and
--stats records how late.
(The same layout is read in the browser by g2g_probe.mjs and from decoded frames by
part_probe.py, through decode_gray.)
"""
import argparse
import os
import signal
import sys
import time

BLOCK = 24
X0 = 64
Y0 = 24
NBITS = 40
WHITE = 235
BLACK = 16
MARKER = (1, 0, 1, 0)


def bits_of(ms):
    v = ms & ((1 << NBITS) - 1)
    data = [(v >> (NBITS - 1 - i)) & 1 for i in range(NBITS)]
    chk = 0
    for i in range(NBITS // 4):
        chk ^= (v >> (4 * i)) & 0xF
    return list(MARKER) + data + [(chk >> (3 - i)) & 1 for i in range(4)]


def value_of(bits):
    """The ms (mod 2^40) from 48 bits, or None if marker or check do not match."""
    if tuple(bits[:4]) != MARKER:
        return None
    v = 0
    for b in bits[4:4 + NBITS]:
        v = (v << 1) | b
    chk = 0
    for i in range(NBITS // 4):
        chk ^= (v >> (4 * i)) & 0xF
    got = 0
    for b in bits[4 + NBITS:]:
        got = (got << 1) | b
    return v if got == chk else None


def unwrap(v, now_ms):
    """The full epoch ms of a value taken modulo 2^40 near now_ms."""
    m = 1 << NBITS
    base = now_ms - (now_ms % m)
    cand = base + v
    if cand - now_ms > m // 2:
        cand -= m
    elif now_ms - cand > m // 2:
        cand += m
    return cand


def decode_gray(y, width, height):
    """Reads the clock from one gray (or the Y plane of a) frame of width x height."""
    sx, sy = width / 1280.0, height / 720.0
    bits = []
    for i in range(4 + NBITS + 4):
        cx = int((X0 + i * BLOCK + BLOCK / 2) * sx)
        cy = int((Y0 + BLOCK / 2) * sy)
        r = max(1, int(4 * sx))
        tot = n = 0
        for yy in range(cy - r, cy + r):
            row = yy * width
            for xx in range(cx - r, cx + r):
                tot += y[row + xx]
                n += 1
        bits.append(1 if tot / n > (WHITE + BLACK) / 2 else 0)
    v = value_of(bits)
    return None if v is None else unwrap(v, int(time.time() * 1000))


def main():
    # SIGTERM ends the loop like a closed pipe does, so --stats is still written
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    ap = argparse.ArgumentParser()
    ap.add_argument("--fps", type=int, default=30)
    ap.add_argument("--seconds", type=float, default=0, help="0: until stdout closes")
    ap.add_argument("--size", default="1280x720")
    ap.add_argument("--noise", type=int, default=8, help="grain amplitude, luma levels (0: flat)")
    ap.add_argument("--still", action="store_true", help="nothing moves but the clock row")
    ap.add_argument("--stats", help="write 'frames late_frames max_late_ms' here at exit")
    a = ap.parse_args()
    w, h = (int(x) for x in a.size.split("x"))
    if w < X0 + 48 * BLOCK or h < 360:
        sys.exit("clockgen: the frame is too small for the clock row")
    amp = max(0, min(100, a.noise))
    to_grain = bytes(128 - amp + v * (2 * amp + 1) // 256 for v in range(256))
    grains = [os.urandom(w * h).translate(to_grain) for _ in range(30 if amp and not a.still else 1)]
    chroma = bytes([128]) * (2 * (w // 2) * (h // 2))
    white = bytes([WHITE]) * BLOCK
    black = bytes([BLACK]) * BLOCK
    sq = 96
    sq_row = bytes([WHITE]) * sq
    out = sys.stdout.buffer
    period = 1.0 / a.fps
    start = time.monotonic()
    n = late = 0
    max_late = 0.0
    try:
        while a.seconds <= 0 or n < a.seconds * a.fps:
            due = start + n * period
            now = time.monotonic()
            if due > now:
                time.sleep(due - now)
            elif now - due > period:
                late += 1
                max_late = max(max_late, now - due)
            frame = bytearray(grains[n % len(grains)])
            row = b"".join(white if b else black for b in bits_of(int(time.time() * 1000)))
            for yy in range(Y0, Y0 + BLOCK):
                off = yy * w + X0
                frame[off:off + len(row)] = row
            x = int((n * 8) % (w - sq)) if not a.still else (w - sq) // 2
            for yy in range(h // 2 - sq // 2, h // 2 + sq // 2):
                off = yy * w + x
                frame[off:off + sq] = sq_row
            out.write(frame)
            out.write(chroma)
            n += 1
    except BrokenPipeError:
        pass
    finally:
        if a.stats:
            with open(a.stats, "w") as f:
                f.write("%d %d %.0f\n" % (n, late, max_late * 1000))
        try:
            sys.stdout.close()
        except BrokenPipeError:
            pass
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(130)
