"""The operator dashboard (/dashboard) in real Chromium (Debian's, through playwright-core and
tests/browser/dashboard.mjs) against the real binary, a real Redis and a real ffmpeg publisher:
sign in (a wrong token refused), create a stream (the OBS settings and its key show), add and
edit products (one named like markup, shown as text), upload a picture, pin it (the card with
that picture appears in the video), start and stop a flash sale, the live health figures with
the keyframe advice, sales after real orders, the chart, and revoking the key (the publisher on
the old key is cut off and refused). And the key API on its own. Screenshots go to
tests/artifacts/."""
import json
import os
import struct
import subprocess
import threading
import time
import zlib

from conftest import ROOT, wait_until
from media import STILL, publish
from test_card import (SIZES, dateranges, decoded, iso_ms, playlist, shows_colour, stamp_where,
                       wait_segments_after)
from test_hls import get
from test_ingest import finish

DASH = os.path.join(ROOT, "tests", "browser", "dashboard.mjs")
ARTIFACTS = os.path.join(ROOT, "tests", "artifacts")
XSS = "<img src=x onerror=alert(1)>"


def png(path, rgb=(255, 0, 255), size=64):
    """A solid colour PNG (magenta: no source picture here has it, so the card shows where it is)."""
    def chunk(kind, data):
        return (struct.pack(">I", len(data)) + kind + data +
                struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff))
    raw = b"".join(b"\0" + bytes(rgb) * size for _ in range(size))
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 2,
                                                                  0, 0, 0)) +
                chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


class Steps:
    """A browser script run step by step: one JSON line per step, each waiting for our go-ahead
    (tests/browser/dashboard.mjs, newcomer.mjs)."""

    def __init__(self, script, *args, timeout=400):
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.proc = subprocess.Popen(["node", script] + list(args), stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.watchdog = threading.Timer(timeout, self.proc.kill)
        self.watchdog.start()

    def expect(self, step):
        line = self.proc.stdout.readline()
        assert line, "the browser script ended: " + self.proc.stderr.read()
        m = json.loads(line)
        print(json.dumps(m, ensure_ascii=False))  # what the page showed, for a failed run's log
        assert m["step"] == step, m
        return m

    def go(self, **what):
        self.proc.stdin.write(json.dumps(what) + "\n")
        self.proc.stdin.flush()

    def close(self):
        self.watchdog.cancel()
        if self.proc.poll() is None:
            self.proc.kill()
        self.proc.wait()


def Page(sc, image):
    return Steps(DASH, "http://127.0.0.1:%d/dashboard" % sc.http_port, sc.token, image, ARTIFACTS)


class Viewer(threading.Thread):
    """An HLS-only viewer: reads the 360p playlist every second, as a player would, so the relay
    counts it among the stream's viewers."""

    def __init__(self, sc, sid):
        super().__init__(daemon=True)
        self.sc, self.sid, self.done = sc, sid, threading.Event()
        self.start()

    def run(self):
        while not self.done.wait(1):
            get(self.sc, "/hls/%s/360p/media.m3u8" % self.sid, 5)

    def stop(self):
        self.done.set()
        self.join()


def check_card_in_video(sc, sid, tmp):
    """The pinned product's magenta picture is in the frames after the pin's date range."""
    base = "/hls/%s" % sid
    stamp_where(sc, base, lambda d: d["X-PRODUCT"] == "honey", "the pin's date range", 60)
    # the pin's is the first with the product; the flash sale's came after it
    pinned = [d for d in dateranges(playlist(sc, base, "360p")) if d["X-PRODUCT"] == "honey"][0]
    wait_segments_after(sc, base, iso_ms(pinned["START-DATE"]))
    w, h = SIZES["360p"]
    frames = decoded(sc, base, "360p", tmp)
    shown = [f for f in frames if f["pts"] >= int(pinned["X-PTS"]) + 1000]
    assert shown, "no frame a second after the pin"
    assert all(shows_colour(f, w, h) for f in shown), [f["match"] for f in shown]
    assert not any(f["match"] for f in frames if f["pts"] < int(pinned["X-PTS"]))


def test_dashboard_runs_a_show(shopcast_factory, tmp_path):
    sc = shopcast_factory("--x264-preset", "ultrafast")
    image = str(tmp_path / "magenta.png")
    png(image)
    page, pub, watch = Page(sc, image), None, None
    try:
        m = page.expect("created")
        # a wrong token: a clear message, nothing shown, nothing kept
        assert "Wrong operator token" in m["wrong"]["error"], m
        assert m["wrong"]["appHidden"] and m["wrong"]["stored"] == 0, m
        assert m["storedToken"] == sc.token
        obs, sid = m["obs"], m["obs"]["id"]
        assert obs["server"] == "rtmp://127.0.0.1:%d/live" % sc.rtmp_port, obs
        assert len(obs["key"]) == 32 and obs["copied"] == obs["key"], obs
        assert "Keyframe Interval" in obs["keyframe"] and "1 s" in obs["keyframe"], obs
        assert sc.stream(sid)["title"] == "Honey from the hills"
        # OBS with its keyframes 4 s apart (-g 120 at 30 fps): the page should say so
        pub = publish(sc.rtmp_url(obs["key"]), seconds=300, size="1280x720", picture=STILL,
                      extra=("-g", "120"))
        wait_until(lambda: get(sc, "/hls/%s/master.m3u8" % sid, 5)[0] == 200, 30, "master")
        page.go()

        m = page.expect("flash")
        assert m["xssRow"] == {"name": XSS, "imgs": 0}, m  # as text: no element made of it
        assert "uploaded (64×64)" in m["uploaded"], m
        assert "Mountain honey 500 g" in m["pinned"], m
        assert m["flashOn"].startswith("Flash sale on Mountain honey"), m
        honey = sc.request("GET", "/api/v1/streams/%s/products/honey" % sid)[1]
        assert honey["image"] and honey["stock"] == 40 and honey["price"] == 1280, honey
        assert sc.request("GET", "/api/v1/streams/%s/products/xss" % sid)[1]["name"] == XSS
        card = sc.stream(sid)["card"]
        assert card["pinned"] and card["product"] == "honey" and card["flash"], card
        assert card["price"] == 990, card
        check_card_in_video(sc, sid, str(tmp_path))
        watch = Viewer(sc, sid)  # one viewer, fetching the playlists as a player does
        page.go()

        m = page.expect("health")
        assert m["flashOff"].startswith("No flash sale"), m
        assert sc.stream(sid)["card"]["flash"] is None
        h = m["health"]
        assert h["state"] == "live" and h["kbps"].endswith("kbit/s"), h
        assert 20 <= float(h["fps"]) <= 40, h
        assert h["kf"] == "4.0 s" and "Keyframe Interval: 1 s" in h["advice"], h
        assert {r.split(" ")[0][:4] for r in h["rungs"]} == {"720p", "360p"}, h
        assert h["conn"] == "live updates on" and "health" in h["events"], h
        assert h["sessions"][0]["type"] == "hello", h
        assert int(h["viewers"]) >= 1, h
        for i in range(3):
            st, body = sc.request("POST", "/api/v1/streams/%s/orders" % sid,
                                  {"order_id": "dash-%d" % i, "product": "honey", "qty": 1})
            assert st == 201, body
        page.go()

        m = page.expect("revoked")
        assert m["sales"]["honeySold"] == "3", m
        assert "38.40" in m["sales"]["revenue"], m  # 3 × 12.80
        assert m["chart"]["canvas"] and m["chart"]["points"] >= 3, m
        assert m["chart"]["orange"] > 20 and m["chart"]["blue"] > 20, m  # both lines drawn
        assert m["sales"]["ticker"][:3] == ["someone bought 1 × Mountain honey 500 g"] * 3, m
        old, new = m["oldKey"], m["newKey"]
        assert old == obs["key"] and len(new) == 32 and new != old, m
        # the publisher on the old key is cut off, and the old key is refused from now on
        rc, _ = finish(pub, 30)
        assert rc != 0
        rc, _ = finish(publish(sc.rtmp_url(old), seconds=3))
        assert rc != 0
        assert "stream key revoked by operator" in sc.read_log()
        page.go()

        def buy(oid, qty):
            st, body = sc.request("POST", "/api/v1/streams/%s/orders" % sid,
                                  {"order_id": oid, "product": "honey", "qty": qty})
            assert st == 201, body
        page.expect("cut")  # the page's WebSocket is cut: two orders while it is away
        buy("cut-1", 2)
        buy("cut-2", 2)
        page.go()
        m = page.expect("gap")
        cut = m["afterCut"]
        assert cut["ticker"][:2] == ["someone bought 2 × Mountain honey 500 g"] * 2, cut
        assert cut["sessions"][0]["type"] == "hello", cut
        assert [x for x in cut["sessions"] if x["type"] == "resumed"][0]["recovered"], cut
        assert cut["conn"] == "live updates on", cut
        buy("gap-1", 3)  # its event is dropped on the way
        time.sleep(1)
        buy("gap-2", 3)  # this one shows the gap: the page resumes
        page.go()

        m = page.expect("done")
        gap = m["afterGap"]
        assert gap["dropped"] == 1, gap
        assert gap["ticker"][:2] == ["someone bought 3 × Mountain honey 500 g"] * 2, gap
        assert all(x["recovered"] for x in gap["sessions"] if x["type"] == "resumed"), gap
        assert [x["type"] for x in gap["sessions"]].count("hello") == 1, gap  # never a new start
        assert m["phone"]["scrollWidth"] <= m["phone"]["innerWidth"], m
        assert m["reloaded"] == {"id": sid, "signinHidden": True}, m
        # every API call but the wrong token's check carried the token
        assert m["apiCalls"] > 10 and m["apiWithoutToken"] == [], m
        assert m["pageErrors"] == [] and m["external"] == [], m
        assert [d["type"] for d in m["dialogs"]] == ["confirm"], m  # the revoke's, no alert
        page.go()
    finally:
        if watch:
            watch.stop()
        page.close()
        if pub and pub.poll() is None:
            pub.kill()
            pub.wait()
    for name in ("dashboard-created.png", "dashboard-live.png", "dashboard-phone.png"):
        assert os.path.getsize(os.path.join(ARTIFACTS, name)) > 10000, name


def test_a_new_key_revokes_the_old_one(shopcast):
    s = shopcast.create_stream("Keys")
    assert shopcast.request("POST", "/api/v1/streams/%s/key" % s["id"])[0] == 401
    st, body = shopcast.request("POST", "/api/v1/streams/%s/key" % s["id"], token=shopcast.token)
    assert st == 200, body
    assert body["id"] == s["id"] and body["key"] != s["key"] and len(body["key"]) == 32
    assert body["rtmp_url"] == body["rtmp_server"] + "/" + body["key"]
    assert body["rtmp_port"] == shopcast.rtmp_port
    rc, _ = finish(publish(shopcast.rtmp_url(s["key"]), seconds=3))
    assert rc != 0  # the old key
    pub = publish(shopcast.rtmp_url(body["key"]), seconds=4)
    wait_until(lambda: shopcast.stream(s["id"])["live"], 15, "live on the new key")
    rc, err = finish(pub)
    assert rc == 0, err
    st, _ = shopcast.request("POST", "/api/v1/streams/nosuchstream1/key", token=shopcast.token)
    assert st == 404
