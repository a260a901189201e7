#!/usr/bin/env python3
"""Order to frame: places orders straight in Redis (FCALL shopcast_order, as a shop platform
would), notes when Redis confirmed each one (its reply, on CLOCK_MONOTONIC), and after the run
reads shopcast's debug log for when the first frame showing each order was encoded in every rung
(event=card_encoded, mono_us on the same clock).

  order_probe.py run PORT STREAM_KEY PRODUCT COUNT GAP_MS OUT.tsv
  order_probe.py report OUT.tsv SHOPCAST_LOG FPS

The gap between orders is GAP_MS, jittered by up to half of it, so confirmations fall at every
phase of the frame clock."""
import random
import re
import socket
import sys
import time


def resp(args):
    out = [b"*%d\r\n" % len(args)]
    for a in args:
        a = a if isinstance(a, bytes) else str(a).encode()
        out.append(b"$%d\r\n%s\r\n" % (len(a), a))
    return b"".join(out)


def read_reply(f):
    line = f.readline()
    kind, rest = line[:1], line[1:-2]
    if kind == b"*":
        return [read_reply(f) for _ in range(int(rest))]
    if kind == b"$":
        n = int(rest)
        if n < 0:
            return None
        data = f.read(n + 2)[:-2]
        return data.decode()
    if kind == b":":
        return int(rest)
    if kind == b"-":
        raise RuntimeError(rest.decode())
    return rest.decode()


def run(port, key, product, count, gap_ms, out):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    tag = "%x" % random.getrandbits(32)
    with open(out, "w") as o:
        for i in range(int(count)):
            time.sleep(int(gap_ms) * random.uniform(0.5, 1.5) / 1000)
            s.sendall(resp(["FCALL", "shopcast_order", 1, key, "p%s-%d" % (tag, i), product, 1,
                            "", "", 86400, 100000]))
            status, body = read_reply(f)
            confirmed = time.monotonic()
            if status != 201:
                raise SystemExit("order %d: %s %s" % (i, status, body))
            seq = int(re.search(r'"seq":(\d+)', body).group(1))
            o.write("%d\t%d\n" % (seq, int(confirmed * 1e6)))


def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(round(p / 100 * (len(v) - 1))))]


def report(out, log, fps):
    orders = [tuple(map(int, l.split())) for l in open(out) if l.strip()]
    shown = []  # (redis seq, mono_us) of each frame that first showed a change, in log order
    first = []  # the same, when the first rung (the top one) had encoded it
    handed = {}  # redis seq -> mono_us when the relay handed the state to the worker
    for line in open(log, errors="replace"):
        m = re.search(r"event=card_encoded .*redis_seq=(\d+) rung=(\d+) last=(\d) .*"
                      r"composed_us=(\d+) mono_us=(\d+)", line)
        if m:
            at = (int(m.group(1)), int(m.group(5)), int(m.group(4)))
            if m.group(2) == "0":
                first.append(at)
            if m.group(3) == "1":
                shown.append(at)
        m = re.search(r"event=card_state .*seq=(\d+) .*mono_us=(\d+)", line)
        if m:
            handed.setdefault(int(m.group(1)), int(m.group(2)))
    total, top, to_relay, waited, encoding, missing = [], [], [], [], [], 0
    for seq, confirmed in orders:
        frame = next((t for s, t, c in shown if s >= seq), None)
        frame0, composed = next(((t, c) for s, t, c in first if s >= seq), (None, None))
        if frame is None or frame0 is None:
            missing += 1
            continue
        total.append((frame - confirmed) / 1000)
        top.append((frame0 - confirmed) / 1000)
        waited.append((composed - confirmed) / 1000)
        encoding.append((frame0 - composed) / 1000)
        h = next((handed[s] for s in sorted(handed) if s >= seq), None)
        if h is not None:
            to_relay.append((h - confirmed) / 1000)
    if not total:
        raise SystemExit("no order was matched to a frame (is the log at debug level?)")
    interval = 1000 / float(fps)
    goal = interval + 10
    print("orders\t%d (%d not matched to a frame)" % (len(orders), missing))
    print("frame interval ms\t%.1f" % interval)
    print("confirmed -> state handed to the worker ms\tp50 %.1f\tp95 %.1f" %
          (pct(to_relay, 50), pct(to_relay, 95)) if to_relay else "")
    print("confirmed -> composed (the next frame, decoded) ms\tp50 %.1f\tp95 %.1f" %
          (pct(waited, 50), pct(waited, 95)))
    print("composed -> encoded in the top rung (scale + encode) ms\tp50 %.1f\tp95 %.1f" %
          (pct(encoding, 50), pct(encoding, 95)))
    print("confirmed -> encoded in the top rung ms\tp50 %.1f\tp95 %.1f\tmax %.1f" %
          (pct(top, 50), pct(top, 95), max(top)))
    print("confirmed -> encoded in every rung ms\tp50 %.1f\tp95 %.1f\tmax %.1f" %
          (pct(total, 50), pct(total, 95), max(total)))
    print("goal: p95 <= frame interval + 10 ms = %.1f ms\tp95 / goal\t%.2f" %
          (goal, pct(total, 95) / goal))


if __name__ == "__main__":
    if sys.argv[1] == "run":
        run(*sys.argv[2:8])
    else:
        report(*sys.argv[2:5])
