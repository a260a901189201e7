#!/usr/bin/python3
"""Helpers of the HLS benchmarks (Python 3 standard library only).

    hlsbench.py freeport                      a free TCP port on 127.0.0.1
    hlsbench.py wait-tcp PORT SECONDS         waits until 127.0.0.1:PORT accepts (exit 1 on timeout)
    hlsbench.py listening PORT SECONDS        waits until something LISTENs on PORT, without
                                              connecting (for ffmpeg -listen 1, which serves one
                                              connection only)
    hlsbench.py http-ok URL SECONDS           waits until URL answers 200
    hlsbench.py create HTTP_PORT TOKEN        creates a shopcast stream; prints "ID KEY"
    hlsbench.py wait-media URL SEGMENTS SECS  waits until a media playlist (or, for a master
                                              playlist, its first variant) lists SEGMENTS segments
    hlsbench.py renditions HTTP_PORT ID       the API's per-rendition figures as TSV lines:
                                              name encoder_speed part_p50 part_p95 dropped live
    hlsbench.py get URL                       prints the body (exit 1 unless 200)
    hlsbench.py pct FILE P...                 percentiles of the numbers in FILE (one a line)
    hlsbench.py clock-decode RAWFILE          reads the wall-clock row (see clockgen.py) from one
                                              1280x720 gray frame; prints the ms or exits 1
"""
import json
import os
import re
import socket
import sys
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import clockgen  # noqa: E402  (the clock layout lives there)


def freeport():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        print(s.getsockname()[1])


def wait_tcp(port, seconds):
    end = time.monotonic() + float(seconds)
    while True:
        try:
            with socket.create_connection(("127.0.0.1", int(port)), timeout=0.5):
                return 0
        except OSError:
            if time.monotonic() >= end:
                return 1
            time.sleep(0.1)


def listening(port, seconds):
    want = ":%04X" % int(port)
    end = time.monotonic() + float(seconds)
    while True:
        for f in ("/proc/net/tcp", "/proc/net/tcp6"):
            try:
                with open(f) as fh:
                    for line in fh.readlines()[1:]:
                        cols = line.split()
                        if cols[1].endswith(want) and cols[3] == "0A":
                            return 0
            except OSError:
                pass
        if time.monotonic() >= end:
            return 1
        time.sleep(0.1)


def get(url, timeout=10, headers=None):
    req = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def http_ok(url, seconds):
    end = time.monotonic() + float(seconds)
    while True:
        if get(url, timeout=2)[0] == 200:
            return 0
        if time.monotonic() >= end:
            return 1
        time.sleep(0.1)


def create(port, token):
    req = urllib.request.Request("http://127.0.0.1:%s/api/v1/streams" % port,
                                 data=json.dumps({"title": "bench"}).encode(), method="POST",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            j = json.loads(r.read())
    except (urllib.error.HTTPError, OSError) as e:
        sys.exit("POST /api/v1/streams failed: %s" % e)
    print(j["id"], j["key"])
    return 0


def count_segments(text):
    return sum(1 for l in text.splitlines() if l.startswith("#EXTINF:"))


def wait_media(url, nseg, seconds):
    end = time.monotonic() + float(seconds)
    while True:
        status, body = get(url, timeout=5)
        if status == 200:
            text = body.decode("utf-8", "replace")
            if "#EXT-X-STREAM-INF" in text:  # master: follow the first variant
                variant = [l for l in text.splitlines() if l and not l.startswith("#")][0]
                url = url.rsplit("/", 1)[0] + "/" + variant
                continue
            if count_segments(text) >= int(nseg):
                return 0
        if time.monotonic() >= end:
            return 1
        time.sleep(0.2)


def renditions(port, sid):
    status, raw = get("http://127.0.0.1:%s/api/v1/streams/%s" % (port, sid))
    if status != 200:
        sys.exit("GET /api/v1/streams/%s -> %s" % (sid, status))
    j = json.loads(raw)
    rends = j.get("renditions") or []
    for r in rends:
        pr = r.get("part_ready_ms") or {}
        print("%s\t%s\t%s\t%s\t%s\t%s" % (r.get("name") or r.get("rung") or "?",
                                          r.get("encoder_speed"), pr.get("p50"), pr.get("p95"),
                                          r.get("dropped_frames"), j.get("live")))
    if not rends:
        print("no renditions in the API reply: %s" % json.dumps(j)[:400], file=sys.stderr)
        return 1
    return 0


def percentile(sorted_vals, p):
    """Nearest-rank percentile of an ascending list."""
    if not sorted_vals:
        return float("nan")
    k = max(0, min(len(sorted_vals) - 1, int(round(p / 100.0 * len(sorted_vals) + 0.5)) - 1))
    return sorted_vals[k]


def pct(path, ps):
    with open(path) as f:
        vals = sorted(float(l) for l in f if l.strip())
    print(" ".join("%.1f" % percentile(vals, float(p)) for p in ps))
    return 0


def clock_decode(path):
    with open(path, "rb") as f:
        y = f.read()
    ms = clockgen.decode_gray(y, 1280, 720)
    if ms is None:
        return 1
    print(ms)
    return 0


def main(argv):
    cmd, args = argv[1], argv[2:]
    if cmd == "freeport":
        return freeport()
    if cmd == "wait-tcp":
        return wait_tcp(*args)
    if cmd == "listening":
        return listening(*args)
    if cmd == "http-ok":
        return http_ok(*args)
    if cmd == "create":
        return create(*args)
    if cmd == "wait-media":
        return wait_media(*args)
    if cmd == "renditions":
        return renditions(*args)
    if cmd == "get":
        status, body = get(args[0])
        sys.stdout.buffer.write(body)
        return 0 if status == 200 else 1
    if cmd == "pct":
        return pct(args[0], args[1:])
    if cmd == "clock-decode":
        return clock_decode(args[0])
    sys.exit("unknown command %r" % cmd)


if __name__ == "__main__":
    sys.exit(main(sys.argv) or 0)
