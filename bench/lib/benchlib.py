#!/usr/bin/python3
"""Helpers of the bench/*.sh scripts (Python 3 standard library only); lib/common.sh runs them
as `benchlib SUBCOMMAND ARG...`.

    benchlib.py freeport                      a free TCP port on 127.0.0.1
    benchlib.py wait-tcp PORT SECONDS         waits until 127.0.0.1:PORT accepts (exit 1 on timeout)
    benchlib.py listening PORT SECONDS        waits until something LISTENs on PORT, without
                                              connecting (for ffmpeg -listen 1, which serves one
                                              connection only)
    benchlib.py http-ok URL SECONDS           waits until URL answers 200
    benchlib.py get URL                       prints the body (exit 1 unless 200)
    benchlib.py create HTTP_PORT TOKEN [N]    creates N (1) shopcast streams; prints "ID KEY" per line
    benchlib.py card HTTP_PORT TOKEN ID       a product with a picture, pinned, with a flash sale
                                              running: the card on screen, as the product ships;
                                              waits until the API shows it
    benchlib.py wait-media URL SEGMENTS SECS  waits until a media playlist (or, for a master
                                              playlist, its first variant) lists SEGMENTS segments
    benchlib.py renditions HTTP_PORT ID       the API's per-rendition figures as TSV lines:
                                              name encoder_speed part_p50 part_p95 dropped live
                                              stages frame_costs
    benchlib.py shopcast-check HTTP_PORT MIN_KBPS ID...
                                              GET /api/v1/streams/ID for each; prints one line per
                                              stream (stderr) and the sum of dropped_packets
                                              (stdout); exit 1 unless every stream is live with a
                                              video bitrate of at least MIN_KBPS (and > 0)
    benchlib.py nginx-check STAT_PORT N MIN_KBPS
                                              reads nginx-rtmp's /stat XML; prints one line per
                                              stream; exit 1 unless N streams in application
                                              "live" are publishing with an incoming bitrate of
                                              at least MIN_KBPS (and > 0)
    benchlib.py report TSV                    ingest_cpu.sh's result table (median over repeats)
                                              and ratios; TSV columns: server n rep elapsed_s
                                              media_s cpu_s net_thread_s publishers_s
                                              machine_busy_pct dropped
"""
import json
import socket
import statistics
import sys
import time
import urllib.error
import urllib.request
import xml.etree.ElementTree as ET


# ---- sockets ----

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


# ---- HTTP ----

def http(method, url, body=None, token=None, timeout=10):
    """(status, body); a JSON body is sent when given; status 0 when there is no answer."""
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except OSError:
        return 0, b""


def get(url, timeout=10):
    return http("GET", url, timeout=timeout)


def http_ok(url, seconds):
    end = time.monotonic() + float(seconds)
    while True:
        if get(url, timeout=2)[0] == 200:
            return 0
        if time.monotonic() >= end:
            return 1
        time.sleep(0.1)


def get_body(url):
    status, body = get(url)
    sys.stdout.buffer.write(body)
    return 0 if status == 200 else 1


# ---- shopcast ----

def thumbnail_png(size=256):
    """A size x size RGB PNG with a gradient (a product picture the card must scale and blend)."""
    import struct
    import zlib
    rows = b"".join(b"\0" + b"".join(bytes((x * 255 // size, y * 255 // size, 96))
                                     for x in range(size)) for y in range(size))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xffffffff)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b""))


def card(port, token, sid):
    """Puts the product card on screen as a seller would: a product with a picture, pinned, and a
    flash sale with its countdown running (an hour). Waits until the stream's API shows the card
    as Redis confirmed it, flash sale included; exit 1 otherwise."""
    api = "http://127.0.0.1:%s/api/v1/streams/%s" % (port, sid)
    status, raw = http("POST", api + "/products", {"id": "honey", "name": "Wildflower honey 500 g",
                                                  "price": 3990, "currency": "CNY", "stock": 100000},
                       token)
    if status not in (200, 201):
        sys.exit("shopcast: POST .../products -> %s %r" % (status, raw[:300]))
    req = urllib.request.Request(api + "/products/honey/image", data=thumbnail_png(), method="PUT",
                                 headers={"Authorization": "Bearer " + token,
                                          "Content-Type": "image/png"})
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            status = r.status
    except urllib.error.HTTPError as e:
        status = e.code
    if status not in (200, 204):
        sys.exit("shopcast: PUT .../products/honey/image -> %s" % status)
    for method, path, body in (("PUT", "/pinned", {"product": "honey"}),
                               ("POST", "/flash", {"product": "honey", "price": 2990,
                                                   "duration_s": 3600, "cap": 0})):
        status, raw = http(method, api + path, body, token)
        if status not in (200, 201):
            sys.exit("shopcast: %s ...%s -> %s %r" % (method, path, status, raw[:300]))
    end = time.monotonic() + 10
    while time.monotonic() < end:
        _, _, j = stream_info(port, sid)
        c = (j or {}).get("card") or {}
        if c.get("pinned") and c.get("image") and c.get("flash"):
            return 0
        time.sleep(0.1)
    sys.exit("shopcast: the card of %s never showed the pinned product, its picture and the flash "
             "sale: %r" % (sid, c))


def create(port, token, n=1):
    for i in range(int(n)):
        status, raw = http("POST", "http://127.0.0.1:%s/api/v1/streams" % port,
                           {"title": "bench stream %d" % i}, token)
        if status != 201:
            sys.exit("shopcast: POST /api/v1/streams -> %s %r" % (status, raw[:300]))
        j = json.loads(raw)
        print(j["id"], j["key"])
    return 0


def stream_info(port, sid):
    """(status, raw, parsed JSON or None) of GET /api/v1/streams/ID."""
    status, raw = get("http://127.0.0.1:%s/api/v1/streams/%s" % (port, sid))
    return status, raw, json.loads(raw) if status == 200 else None


def renditions(port, sid):
    status, _, j = stream_info(port, sid)
    if status != 200:
        sys.exit("GET /api/v1/streams/%s -> %s" % (sid, status))
    rends = j.get("renditions") or []
    for r in rends:
        pr = r.get("part_ready_ms") or {}
        # the 7th column: part-ready's stages, "queue 1.2/3.4 work ... handoff ..." (p50/p95 ms)
        stages = " ".join("%s %.1f/%.1f" % (k, pr[k]["p50"], pr[k]["p95"])
                          for k in ("queue", "work", "handoff") if isinstance(pr.get(k), dict))
        # the 8th: what a frame costs the worker, "decode 1.2 convert 0.0 compose 0.3 scale_encode 9.1"
        fm = r.get("frame_ms") or {}
        cost = " ".join("%s %.2f" % (k, fm[k]) for k in ("decode", "convert", "compose", "scale_encode")
                        if isinstance(fm.get(k), (int, float)))
        print("%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s" % (r.get("name") or r.get("rung") or "?",
                                                  r.get("encoder_speed"), pr.get("p50"), pr.get("p95"),
                                                  r.get("dropped_frames"), j.get("live"),
                                                  stages or "-", cost or "-"))
    if not rends:
        print("no renditions in the API reply: %s" % json.dumps(j)[:400], file=sys.stderr)
        return 1
    return 0


def shopcast_check(port, min_kbps, *ids):
    """Per-stream lines go to stderr; stdout gets the sum of dropped_packets."""
    bad = 0
    dropped = 0
    for sid in ids:
        status, raw, j = stream_info(port, sid)
        if status != 200:
            print("  stream %s: GET -> %s %r" % (sid, status, raw[:200]), file=sys.stderr)
            bad += 1
            continue
        video = j.get("video") or {}
        kbps = float(video.get("bitrate_kbps") or 0)
        dropped += int(j.get("dropped_packets") or 0)
        ok = bool(j.get("live")) and kbps > 0 and kbps >= float(min_kbps)
        print("  stream %s: live=%s video=%sx%s %.0f kbps fps=%s dropped_packets=%s %s" % (
            sid, j.get("live"), video.get("width"), video.get("height"), kbps, video.get("fps"),
            j.get("dropped_packets"), "ok" if ok else "NOT STREAMING"), file=sys.stderr)
        bad += not ok
    print(dropped)
    return 1 if bad else 0


# ---- HLS ----

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


# ---- nginx-rtmp ----

def nginx_check(port, n, min_kbps):
    status, raw = get("http://127.0.0.1:%s/stat" % port)
    if status != 200:
        print("  nginx /stat -> %s %r" % (status, raw[:200]))
        return 1
    root = ET.fromstring(raw)
    good = 0
    seen = 0
    for app in root.iter("application"):
        if (app.findtext("name") or "") != "live":
            continue
        for st in app.iter("stream"):
            seen += 1
            name = st.findtext("name") or "?"
            # bw_in is averaged over 10 s intervals (0 in a short run): use bytes_in over the
            # publisher's connection time instead
            pub_ms = max([float(c.findtext("time") or 0) for c in st.iter("client")
                          if c.find("publishing") is not None] or [0])
            bytes_in = float(st.findtext("bytes_in") or 0)
            kbps = bytes_in * 8 / pub_ms if pub_ms > 0 else float(st.findtext("bw_in") or 0) / 1000
            publishing = any(c.find("publishing") is not None for c in st.iter("client"))
            w = st.findtext("meta/video/width")
            h = st.findtext("meta/video/height")
            ok = publishing and kbps > 0 and kbps >= float(min_kbps)
            print("  stream %s: publishing=%s video=%sx%s %.0f kbps (bytes_in=%d in %.1f s) %s" % (
                name, publishing, w, h, kbps, bytes_in, pub_ms / 1000,
                "ok" if ok else "NOT STREAMING"))
            good += ok
    if good != int(n):
        print("  nginx: %d of %d streams publishing (%d listed)" % (good, int(n), seen))
        return 1
    return 0


# ---- ingest_cpu.sh's report ----

def report(tsv):
    # columns: server n rep elapsed_s media_s cpu_s net_s pub_s machine_busy_pct dropped
    rows = {}
    with open(tsv) as f:
        for line in f:
            if not line.strip() or line.startswith("#"):
                continue
            server, n, rep, el, media, cpu, net, pub, busy, dropped = line.rstrip("\n").split("\t")
            rows.setdefault((server, int(n)), []).append({
                "el": float(el), "media": float(media), "cpu": float(cpu), "net": float(net),
                "pub": float(pub), "busy": float(busy),
                "dropped": int(dropped) if dropped.isdigit() else 0})

    def per_min(server, n, field):
        """CPU seconds per stream per minute of media."""
        return [r[field] / r["media"] * 60 for r in rows.get((server, n), []) if r["media"] > 0]

    def pct(server, n, field):
        """CPU% of one core per stream, over wall time."""
        return [r[field] / r["el"] / n * 100 for r in rows.get((server, n), [])]

    def med(x):
        return statistics.median(x) if x else None

    def f(x, d=3):
        return "-" if x is None else "%.*f" % (d, x)

    def runs(x):
        return ",".join("%.3f" % v for v in x) or "-"

    ns = sorted({n for _, n in rows})
    nrep = max(len(v) for v in rows.values())
    print()
    print("CPU seconds per stream per minute of media, 720p30 H.264 2.5 Mbit/s + AAC "
          "(median of %d run(s); each run in brackets)" % nrep)
    print()
    print("| N | shopcast network thread | shopcast whole process | nginx-rtmp (all processes) "
          "| **ratio network thread / nginx** | ratio whole process / nginx "
          "| CPU % per stream (net thread / whole / nginx) | shopcast dropped packets "
          "| machine busy % (shopcast / nginx runs) |")
    print("|---|---|---|---|---|---|---|---|---|")
    worst_net = worst_all = 0.0
    for n in ns:
        s_net, s_all, g = (med(per_min("shopcast", n, "net")), med(per_min("shopcast", n, "cpu")),
                           med(per_min("nginx", n, "cpu")))
        r_net = s_net / g if s_net is not None and g else None
        r_all = s_all / g if s_all is not None and g else None
        worst_net = max(worst_net, r_net or 0)
        worst_all = max(worst_all, r_all or 0)
        drops = [r["dropped"] for r in rows.get(("shopcast", n), [])]
        busy = "%s / %s" % (f(med([r["busy"] for r in rows.get(("shopcast", n), [])]), 0),
                            f(med([r["busy"] for r in rows.get(("nginx", n), [])]), 0))
        cpct = "%s / %s / %s" % (f(med(pct("shopcast", n, "net")), 2),
                                 f(med(pct("shopcast", n, "cpu")), 2), f(med(pct("nginx", n, "cpu")), 2))
        print("| %d | %s (%s) | %s (%s) | %s (%s) | **%s** | %s | %s | %s | %s |" % (
            n, f(s_net), runs(per_min("shopcast", n, "net")), f(s_all),
            runs(per_min("shopcast", n, "cpu")), f(g), runs(per_min("nginx", n, "cpu")),
            f(r_net, 2), f(r_all, 1), cpct, ",".join(str(d) for d in drops) or "-", busy))
    print()
    print("CPU seconds = the scheduler's run time (/proc/PID/task/TID/schedstat, ns) over the measured "
          "window, divided by the media the publishers sent in it")
    print("(ffmpeg -progress), times 60. CPU %% per stream = the same CPU over wall time / N * 100 "
          "(window %.1f s)." % med([r["el"] for v in rows.values() for r in v]))
    print("Network thread: shopcast's event-loop thread alone (/proc/PID/task/PID/schedstat), which owns "
          "every socket and parses RTMP;")
    print("whole process adds the per-stream media workers. nginx: master + worker. Dropped packets: "
          "shopcast media-queue drops")
    print("(its worker could not keep up). Machine busy: all cores, all processes on the host, "
          "including work that is not this benchmark.")
    print("RESULT: shopcast network thread / nginx-rtmp: worst %.2f (goal <= 1.00); "
          "whole process / nginx-rtmp: worst %.1f" % (worst_net, worst_all))
    return 0


COMMANDS = {
    "freeport": freeport,
    "wait-tcp": wait_tcp,
    "listening": listening,
    "http-ok": http_ok,
    "get": get_body,
    "create": create,
    "card": card,
    "wait-media": wait_media,
    "renditions": renditions,
    "shopcast-check": shopcast_check,
    "nginx-check": nginx_check,
    "report": report,
}


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    if argv[1] not in COMMANDS:
        sys.exit("unknown command %r" % argv[1])
    return COMMANDS[argv[1]](*argv[2:])


if __name__ == "__main__":
    sys.exit(main(sys.argv) or 0)
