#!/usr/bin/python3
"""Client-side LL-HLS part timing: when does each part become downloadable?

    part_probe.py BASE_URL RUNG[,RUNG...] SECONDS OUT_TSV
    part_probe.py bias BASE_URL RUNG N

BASE_URL is http://HOST:PORT/hls/ID. For each rung, one thread follows the live edge the way an
LL-HLS player does: it fetches the EXT-X-PRELOAD-HINT part (the server holds that request until
the part exists) and, at the same time, makes a blocking playlist reload
(?_HLS_msn=M&_HLS_part=P) for that same part. For every part it writes one line:

    rung msn index pdt_start_ms duration_ms hint_done_ms playlist_done_ms hint_bytes

pdt_start_ms is the part's EXT-X-PROGRAM-DATE-TIME (its segment's PDT plus the durations of the
parts before it); *_done_ms are the wall-clock times at which the part's bytes, and the playlist
listing it, had been received in full (-1 if that request failed).

The bias mode tells how shopcast's PROGRAM-DATE-TIME relates to the time a frame was made, for a
stream published by bench/lib/clockgen.py: for N complete segments spread over the playlist it
decodes the first frame (ffmpeg CLI), reads the wall clock drawn into it, and prints
    msn pdt_ms capture_ms pdt_minus_capture_ms
(shopcast anchors PDT to the wall clock when its packager sees the first frame, so the
difference is the pipeline delay at that moment, and stays constant while frame timestamps
follow the wall clock.)
"""
import calendar
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ATTR = re.compile(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)')
PART_NAME = re.compile(r"part-(\d+)\.(\d+)\.m4s$")


def now_ms():
    return time.time() * 1000.0


def fetch(url, timeout=10):
    """(status, body, wall ms when the body was complete)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            body = r.read()
            return r.status, body, now_ms()
    except urllib.error.HTTPError as e:
        return e.code, b"", now_ms()
    except OSError:
        return 0, b"", now_ms()


def parse_pdt(s):
    # 2026-11-29T15:02:03.165Z (shopcast always writes milliseconds and Z)
    m = re.match(r"(\d+)-(\d+)-(\d+)T(\d+):(\d+):(\d+)(?:\.(\d+))?Z", s)
    if not m:
        return None
    y, mo, d, hh, mm, ss = (int(x) for x in m.groups()[:6])
    frac = m.group(7) or "0"
    return calendar.timegm((y, mo, d, hh, mm, ss)) * 1000.0 + int(frac.ljust(3, "0")[:3])


def parse(text):
    """{(msn, idx): (pdt_start_ms, dur_ms)} for every listed part, and the preload hint URI."""
    parts, hint = {}, None
    seg_pdt = None  # PDT of the current segment's start
    off = 0.0  # ms of parts already listed in the current segment
    extinf = 0.0
    for l in text.splitlines():
        if l.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            seg_pdt = parse_pdt(l.split(":", 1)[1])
        elif l.startswith("#EXT-X-PART:"):
            a = dict((k, v.strip('"')) for k, v in ATTR.findall(l[12:]))
            m = PART_NAME.search(a["URI"])
            dur = float(a["DURATION"]) * 1000
            if m and seg_pdt is not None:
                parts[(int(m.group(1)), int(m.group(2)))] = (seg_pdt + off, dur)
            off += dur
        elif l.startswith("#EXTINF:"):
            extinf = float(l[8:].split(",")[0]) * 1000
        elif l.startswith("#EXT-X-PRELOAD-HINT:"):
            a = dict((k, v.strip('"')) for k, v in ATTR.findall(l[20:]))
            if a.get("TYPE") == "PART":
                hint = a["URI"]
        elif l and not l.startswith("#"):  # a segment URI: the next segment starts after it
            if seg_pdt is not None:
                seg_pdt += extinf
            off = 0.0
    return parts, hint


def follow(base, rung, deadline, out, lock):
    media = "%s/%s/media.m3u8" % (base, rung)
    status, body, _ = fetch(media)
    if status != 200:
        sys.exit("part_probe: %s -> %s" % (media, status))
    parts, hint = parse(body.decode())
    while time.monotonic() < deadline:
        if not hint:
            time.sleep(0.05)
            status, body, _ = fetch(media)
            parts, hint = parse(body.decode()) if status == 200 else ({}, None)
            continue
        m = PART_NAME.search(hint)
        msn, idx = int(m.group(1)), int(m.group(2))
        res = {}

        def get_hint(u="%s/%s/%s" % (base, rung, hint)):
            res["hint"] = fetch(u)

        t = threading.Thread(target=get_hint)
        t.start()
        status, body, pl_done = fetch("%s?_HLS_msn=%d&_HLS_part=%d" % (media, msn, idx))
        t.join()
        if status != 200:
            pl_done = -1
            time.sleep(0.1)
            status, body, _ = fetch(media)
            if status != 200:
                continue
        parts, hint = parse(body.decode())
        hs, hb, hdone = res["hint"]
        if hs != 200:
            hdone = -1
        info = parts.get((msn, idx))
        if info is None:  # the part never showed up (a gap, or the stream ended)
            continue
        with lock:
            out.write("%s\t%d\t%d\t%.0f\t%.2f\t%.1f\t%.1f\t%d\n" % (
                rung, msn, idx, info[0], info[1], hdone, pl_done, len(hb)))
            out.flush()


def bias(base, rung, n):
    sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
    import clockgen
    status, body, _ = fetch("%s/%s/media.m3u8" % (base, rung))
    if status != 200:
        sys.exit("part_probe: playlist -> %s" % status)
    segs = []  # (msn, pdt, uri, init)
    msn = pdt = init = None
    for l in body.decode().splitlines():
        if l.startswith("#EXT-X-MEDIA-SEQUENCE:"):
            msn = int(l.split(":", 1)[1])
        elif l.startswith("#EXT-X-MAP:"):
            init = dict((k, v.strip('"')) for k, v in ATTR.findall(l[11:]))["URI"]
        elif l.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            pdt = parse_pdt(l.split(":", 1)[1])
        elif l and not l.startswith("#"):
            segs.append((msn, pdt, l, init))
            msn += 1
            pdt = None
    segs = [s for s in segs if s[1] is not None]
    n = max(1, min(int(n), len(segs)))
    pick = [segs[int(i * (len(segs) - 1) / max(1, n - 1))] for i in range(n)]
    with tempfile.TemporaryDirectory() as d:
        for msn, pdt, uri, init in pick:
            s1, a, _ = fetch("%s/%s/%s" % (base, rung, init))
            s2, b, _ = fetch("%s/%s/%s" % (base, rung, uri))
            if s1 != 200 or s2 != 200:
                continue
            f = os.path.join(d, "s.mp4")
            with open(f, "wb") as fh:
                fh.write(a + b)
            raw = subprocess.run(["ffmpeg", "-v", "error", "-i", f, "-frames:v", "1", "-vf",
                                  "scale=1280:720,format=gray", "-f", "rawvideo", "-"],
                                 capture_output=True, timeout=30).stdout
            if len(raw) != 1280 * 720:
                continue
            cap = clockgen.decode_gray(raw, 1280, 720)
            if cap is not None:
                print("%d\t%.0f\t%d\t%.0f" % (msn, pdt, cap, pdt - cap))
    return 0


def main(base, rungs, seconds, path):
    deadline = time.monotonic() + float(seconds)
    lock = threading.Lock()
    with open(path, "w") as out:
        ts = [threading.Thread(target=follow, args=(base, r, deadline, out, lock))
              for r in rungs.split(",")]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
    return 0


if __name__ == "__main__":
    if sys.argv[1] == "bias":
        sys.exit(bias(*sys.argv[2:5]))
    sys.exit(main(*sys.argv[1:5]))
