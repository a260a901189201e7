#!/usr/bin/python3
"""LL-HLS viewers for bench/edge_cache.sh. Each viewer, on its own keep-alive connection, follows
the live edge of one media playlist in one of two ways, and records when each part it fetched
arrived in full:
  hint:   asks for the preload-hinted part at once (shopcast holds it until it exists), then for
          the blocking reload of that part, which names the next hint (Safari, Shaka Player);
  listed: asks for the blocking reload of the hinted part, then for the newest part the answer
          lists, which exists by then (hls.js).

Usage: edge_probe.py MODE SECONDS VIEWERS REF_URL NAME=URL...
  REF_URL: one reference viewer's media playlist (straight from shopcast);
  NAME=URL: VIEWERS viewers of the same playlist through another path (an edge, or shopcast).
Prints one tab-separated line per path: name, viewers, parts, then p50, p95 and max of how long
after the reference viewer each viewer had each part, in ms, and how many hinted parts answered
404 (a hint that named a part that never came)."""
import http.client
import re
import sys
import threading
import time
import urllib.parse

HINT = re.compile(r'#EXT-X-PRELOAD-HINT:TYPE=PART,URI="(part-(\d+)\.(\d+)\.m4s)"')
PART = re.compile(r'#EXT-X-PART:.*URI="(part-\d+\.\d+\.m4s)"')


class Viewer(threading.Thread):
    def __init__(self, mode, url, until):
        super().__init__(daemon=True)
        self.mode = mode
        u = urllib.parse.urlsplit(url)
        self.host, self.port, self.path = u.hostname, u.port, u.path
        self.dir = self.path.rsplit("/", 1)[0] + "/"
        self.until = until
        self.got = {}  # part name -> monotonic time it arrived in full
        self.missing = 0

    def fetch(self, conn, path):
        conn.request("GET", path)
        r = conn.getresponse()
        body = r.read()
        return r.status, body, time.monotonic()

    def run(self):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=20)
        status, body, _ = self.fetch(conn, self.path)
        while time.monotonic() < self.until and status == 200:
            m = HINT.search(body.decode())
            if not m:
                status, body, _ = self.fetch(conn, self.path)
                continue
            name, msn, part = m.group(1), int(m.group(2)), int(m.group(3))
            if self.mode == "listed":
                status, body, _ = self.fetch(conn, self.path + "?_HLS_msn=%d&_HLS_part=%d"
                                             % (msn, part))
                parts = PART.findall(body.decode())
                if status != 200 or not parts:
                    continue
                status, _, t = self.fetch(conn, self.dir + parts[-1])
                if status == 200:
                    self.got[parts[-1]] = t
                continue
            status, _, t = self.fetch(conn, self.dir + name)
            if status == 200:
                self.got[name] = t
                query = "?_HLS_msn=%d&_HLS_part=%d" % (msn, part)
            else:  # the segment closed before that part: wait for the next segment instead
                self.missing += 1
                query = "?_HLS_msn=%d&_HLS_part=0" % (msn + 1)
            status, body, _ = self.fetch(conn, self.path + query)
        conn.close()


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


def main(argv):
    mode, seconds, viewers, ref_url = argv[1], float(argv[2]), int(argv[3]), argv[4]
    paths = [a.split("=", 1) for a in argv[5:]]
    until = time.monotonic() + seconds
    ref = Viewer(mode, ref_url, until)
    groups = [(name, [Viewer(mode, url, until) for _ in range(viewers)]) for name, url in paths]
    for v in [ref] + [v for _, vs in groups for v in vs]:
        v.start()
    for v in [ref] + [v for _, vs in groups for v in vs]:
        v.join(seconds + 60)
    # the first two seconds are the viewers finding the live edge
    start = min(ref.got.values()) + 2 if ref.got else 0
    for name, vs in groups:
        delays = [(v.got[p] - t) * 1000 for v in vs for p, t in ref.got.items()
                  if t >= start and p in v.got]
        parts = len({p for v in vs for p in v.got if p in ref.got and ref.got[p] >= start})
        if not delays:
            print("%s\t%d\t0\t-\t-\t-\t%d" % (name, viewers, sum(v.missing for v in vs)))
            continue
        print("%s\t%d\t%d\t%.0f\t%.0f\t%.0f\t%d" % (name, viewers, parts, pct(delays, 50),
                                                    pct(delays, 95), max(delays),
                                                    sum(v.missing for v in vs)))


if __name__ == "__main__":
    main(sys.argv)
