#!/usr/bin/python3
"""A viewer for soak_reconnect.sh: polls a stream's playlists and fetches its newest media.

    soak_viewer.py HOST PORT STREAM_ID OUT_FILE

Every 0.5 s, on one keep-alive HTTP connection (so the server's descriptor count is not moved by
the viewer's own connections): the master playlist, then for each rendition its media playlist,
the init segment, the newest part and the newest complete segment it lists. It runs until it is
sent SIGTERM, then writes one line to OUT_FILE: "requests N ok N not_found N other N bytes N"
(404 is counted apart: before the first publish and after a window is released it is the right
answer). Standard library only.
"""
import http.client
import re
import signal
import sys
import time

URI = re.compile(r'URI="([^"]+)"')
stop = False


def on_term(*_):
    global stop
    stop = True


class Viewer:
    def __init__(self, host, port, sid):
        self.host, self.port, self.base = host, int(port), "/hls/%s/" % sid
        self.conn = None
        self.counts = {"requests": 0, "ok": 0, "not_found": 0, "other": 0, "bytes": 0}

    def get(self, path):
        """The body on 200, else None; reconnects once if the connection was closed."""
        for _ in range(2):
            try:
                if self.conn is None:
                    self.conn = http.client.HTTPConnection(self.host, self.port, timeout=10)
                self.conn.request("GET", self.base + path)
                r = self.conn.getresponse()
                body = r.read()
                break
            except (OSError, http.client.HTTPException):
                if self.conn:
                    self.conn.close()
                self.conn = None
        else:
            self.count(0, b"")
            return None
        self.count(r.status, body)
        return body.decode("utf-8", "replace") if r.status == 200 else None

    def count(self, status, body):
        c = self.counts
        c["requests"] += 1
        c["bytes"] += len(body)
        key = "ok" if status == 200 else "not_found" if status == 404 else "other"
        c[key] += 1

    def rendition(self, variant):
        folder = variant.rsplit("/", 1)[0] + "/"
        text = self.get(variant)
        if not text:
            return
        lines = text.splitlines()
        maps = [URI.search(l) for l in lines if l.startswith("#EXT-X-MAP")]
        parts = [URI.search(l) for l in lines if l.startswith("#EXT-X-PART:")]
        segs = [l for l in lines if l and not l.startswith("#")]
        for m in (maps[-1:] + parts[-1:]):
            if m:
                self.get(folder + m.group(1))
        if segs:
            self.get(folder + segs[-1])

    def poll(self):
        master = self.get("master.m3u8")
        for v in [l for l in (master or "").splitlines() if l and not l.startswith("#")]:
            self.rendition(v)


def main(host, port, sid, out):
    signal.signal(signal.SIGTERM, on_term)
    v = Viewer(host, port, sid)
    while not stop:
        v.poll()
        time.sleep(0.5)
    with open(out, "w") as f:
        f.write(" ".join("%s %d" % kv for kv in v.counts.items()) + "\n")
    return 0


if __name__ == "__main__":
    if len(sys.argv) != 5:
        sys.exit(__doc__)
    sys.exit(main(*sys.argv[1:]))
