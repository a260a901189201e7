"""The product card in the video, end to end: a real Redis with the shopcast FUNCTION library, the
real ffmpeg CLI publishing, and shopcast's HLS output read back with libavcodec
(build/tests/tools/frames, one JSON line per decoded frame).

The product's thumbnail is a solid colour no source picture here has (magenta), set through the
library as docs/COMMERCE.md describes (shopcast_product_image), so where the card is can be seen
in every rung. Each change of what the card shows is stamped: an EXT-X-DATERANGE in the media
playlists (X-PTS, X-SEQ, X-VERSION...) and shopcast's SEI on the first frame that shows it."""
import json
import os
import re
import socket
import struct
import subprocess
import threading
import time
from urllib.parse import urlparse

import pytest

from conftest import ROOT, wait_until
from media import STILL, publish
from test_hls import attrs, get, parse_media
from test_players import play
from test_playlist_strict import blocking_reloads, live_playlist, strict_parse

FRAMES = os.environ.get("SHOPCAST_FRAMES",
                        os.path.join(os.path.dirname(os.environ.get(
                            "SHOPCAST_BIN", os.path.join(ROOT, "build", "relay", "shopcast"))),
                            "..", "tests", "tools", "frames"))
RUNGS = ("720p", "360p")
MAGENTA = "ff00ff"
PLAY = os.path.join(ROOT, "tests", "browser", "play.mjs")
SEI_UUID = "b9cb6d6b-85b4-4afd-a7d1-7851c5139f5a"  # proto/sei.h


class Redis:
    """Just enough RESP to call the library with binary arguments (a thumbnail)."""

    def __init__(self, url):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port), timeout=10)
        self.buf = b""

    def call(self, *args):
        out = b"*%d\r\n" % len(args)
        for a in args:
            a = a if isinstance(a, bytes) else str(a).encode()
            out += b"$%d\r\n%s\r\n" % (len(a), a)
        self.sock.sendall(out)
        return self._reply()

    def _line(self):
        while b"\r\n" not in self.buf:
            self.buf += self.sock.recv(65536)
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line

    def _reply(self):
        line = self._line()
        kind, rest = line[:1], line[1:]
        if kind == b"-":
            raise AssertionError("redis: " + rest.decode())
        if kind in (b"+", b":"):
            return int(rest) if kind == b":" else rest.decode()
        if kind == b"$":
            n = int(rest)
            if n < 0:
                return None
            while len(self.buf) < n + 2:
                self.buf += self.sock.recv(65536)
            data, self.buf = self.buf[:n], self.buf[n + 2:]
            return data.decode(errors="replace")
        return [self._reply() for _ in range(int(rest))]


class Shop:
    def __init__(self, redis_url, sc, sid):
        self.r = Redis(redis_url)
        self.key = "%sstream:{%s}" % (sc.prefix, sid)
        self.orders = 0

    def call(self, fn, *args):
        return self.r.call("FCALL", fn, 1, self.key, *args)

    def product(self, pid, colour=MAGENTA):
        self.call("shopcast_product_put", pid, "name", "Honey 柞水木耳", "price", 1280,
                  "regular_price", 1280, "currency", "CNY", "stock", 500)
        rgba = bytes.fromhex(colour) + b"\xff"
        self.call("shopcast_product_image", pid, b"SCI1" + struct.pack(">HH", 64, 64) + rgba * 4096)

    def order(self, pid, qty=1):
        self.orders += 1
        status = self.call("shopcast_order", "o%d-%f" % (self.orders, time.time()), pid, qty, "",
                           "", 86400, 1000)
        assert status[0] == 201, status


def dateranges(text):
    """The playlist's EXT-X-DATERANGE tags as attribute dicts, in order."""
    return [attrs(l.split(":", 1)[1]) for l in text.splitlines()
            if l.startswith("#EXT-X-DATERANGE:")]


def playlist(sc, base, rung):
    status, body = get(sc, "%s/%s/media.m3u8" % (base, rung))
    assert status == 200, body
    return body.decode()


def stamp_where(sc, base, pred, what, timeout=30):
    """Waits until every rung's playlist lists a date range matching pred; returns the newest
    one, the same in every rung."""
    def found():
        got = []
        for rung in RUNGS:
            ranges = [d for d in dateranges(playlist(sc, base, rung)) if pred(d)]
            if not ranges:
                return None
            got.append(ranges[-1])
        assert all(g == got[0] for g in got), got  # one stamp, the same frame in every rung
        return got[0]
    return wait_until(found, timeout, what)


def decoded(sc, base, rung, tmp, colour=MAGENTA):
    """Every frame of the complete segments the rung's playlist lists under its last EXT-X-MAP,
    decoded: [{"pts", "key", "sei", "match", "match_bbox", "changed", "changed_bbox"}...]."""
    text = playlist(sc, base, rung)
    tail = text.split("#EXT-X-MAP:")[-1]
    init = re.match(r'URI="([^"]+)"', tail).group(1)
    data = get(sc, "%s/%s/%s" % (base, rung, init))[1]
    for seg in parse_media("#EXTM3U\n#EXT-X-MEDIA-SEQUENCE:0\n" + tail.split("\n", 1)[1])[0]:
        status, body = get(sc, "%s/%s/%s" % (base, rung, seg["uri"]))
        assert status == 200, seg
        data += body
    path = os.path.join(tmp, "%s.mp4" % rung)
    with open(path, "wb") as f:
        f.write(data)
    out = subprocess.run([FRAMES, path, "--colour", colour, "--tolerance", "60", "--changes",
                          "24"], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [json.loads(l) for l in out.stdout.splitlines()]


def shows_colour(frame, width, height):
    return frame["match"] > width * height // 4000


def frame_at(frames, pts):
    hit = [f for f in frames if f["pts"] == pts]
    assert hit, (pts, [f["pts"] for f in frames][:5], [f["pts"] for f in frames][-5:])
    return hit[0]


def check_sei(frames, d):
    """The first frame that shows the change carries shopcast's SEI with the stamp's numbers;
    the frame before it carries none of that stamp."""
    pts, seq, version = int(d["X-PTS"]), int(d["X-SEQ"]), int(d["X-VERSION"])
    first = frame_at(frames, pts)
    assert {"seq": seq, "v": version} in first["sei"], (d, first["sei"])
    before = [f for f in frames if f["pts"] < pts]
    if before:
        assert all(s["seq"] != seq for s in before[-1]["sei"]), (d, before[-1])


SIZES = {"720p": (1280, 720), "360p": (640, 360)}


@pytest.fixture
def card_live(shopcast_factory, redis_url, tmp_path):
    """A 720p still picture on air (two rungs), with a product whose thumbnail is magenta."""
    started = []

    def make(seconds=90, grace=60, size="1280x720", extra=()):
        sc = shopcast_factory("--x264-preset", "ultrafast", "--grace", str(grace))
        s = sc.create_stream("Honey harvest")
        shop = Shop(redis_url, sc, s["id"])
        shop.product("honey")
        pub = publish(sc.rtmp_url(s["key"]), seconds=seconds, size=size, picture=STILL,
                      extra=extra)
        started.append(pub)
        base = "/hls/%s" % s["id"]
        wait_until(lambda: get(sc, base + "/master.m3u8", 5)[0] == 200, 30, "master playlist")
        wait_until(lambda: len(parse_media(playlist(sc, base, "360p"))[0]) >= 2, 60, "segments")
        return sc, s, shop, pub, base, str(tmp_path)
    yield make
    for p in started:
        p.kill()
        p.wait()


def wait_segments_after(sc, base, pdt_ms, n=2):
    """Until every rung has n complete segments that start after pdt_ms."""
    def ready():
        for rung in RUNGS:
            text = playlist(sc, base, rung)
            dates = re.findall(r"#EXT-X-PROGRAM-DATE-TIME:(\S+)\n(?:#[^\n]*\n)*#EXTINF", text)
            later = [d for d in dates if iso_ms(d) > pdt_ms]
            if len(later) < n:
                return False
        return True
    wait_until(ready, 60, "%d segments after the change" % n)


def iso_ms(s):
    t = time.strptime(s[:19], "%Y-%m-%dT%H:%M:%S")
    return (int(time.mktime(t)) - time.timezone) * 1000 + int(s[20:23])


def test_a_pinned_colour_shows_in_every_rung_and_leaves_when_unpinned(card_live):
    sc, s, shop, pub, base, tmp = card_live()
    shop.call("shopcast_pin", "honey")
    pinned = stamp_where(sc, base, lambda d: d["X-PRODUCT"] == "honey", "the pin's date range")
    assert pinned["CLASS"] == "com.shopcast.product" and pinned["END-ON-NEXT"] == "YES"
    assert (pinned["X-PRICE"], pinned["X-SOLD"], pinned["X-STOCK"]) == ("1280", "0", "500")
    wait_segments_after(sc, base, iso_ms(pinned["START-DATE"]))
    shop.call("shopcast_pin", "")
    unpinned = stamp_where(sc, base, lambda d: d["X-PRODUCT"] == "" and
                           int(d["X-SEQ"]) > int(pinned["X-SEQ"]), "the unpin's date range")
    wait_segments_after(sc, base, iso_ms(unpinned["START-DATE"]))
    on, off = int(pinned["X-PTS"]), int(unpinned["X-PTS"])
    boxes = {}
    for rung in RUNGS:
        w, h = SIZES[rung]
        frames = decoded(sc, base, rung, tmp)
        assert frames[0]["pts"] < on, "the playlist still holds frames from before the pin"
        before = [f for f in frames if f["pts"] < on]
        shown = [f for f in frames if on + 1000 <= f["pts"] < off]  # after any slide-in
        after = [f for f in frames if f["pts"] >= off]
        assert before and shown and after, rung
        assert not any(f["match"] for f in before), (rung, "magenta before the pin")
        assert all(shows_colour(f, w, h) for f in shown), (rung, [f["match"] for f in shown])
        assert not any(f["match"] for f in after), (rung, "magenta after the unpin")
        check_sei(frames, pinned)
        check_sei(frames, unpinned)
        # the stamped frame is the first with the card in the picture (it slides in)
        assert card_changed(frame_at(frames, on), w, h), (rung, frame_at(frames, on))
        assert all(f["sei"] for f in frames if f["key"]), "every keyframe says what it shows"
        boxes[rung] = shown[-1]["match_bbox"]
    # the same place in every rung: the card is drawn before scaling
    big, small = boxes["720p"], boxes["360p"]
    assert all(abs(a / 2 - b) <= 3 for a, b in zip(big, small)), boxes


def card_changed(frame, w, h):
    """The frame differs from the one before by more than encoding noise (the picture is still)."""
    return frame["changed"] > w * h // 20000


def on_the_card(changed, thumb):
    """A change lies on the card: the thumbnail's rows, from the thumbnail to the card's text
    beside it."""
    tw, th = thumb[2] - thumb[0], thumb[3] - thumb[1]
    return (changed[0] >= thumb[0] - tw // 2 and changed[2] <= thumb[0] + 4 * tw and
            changed[1] >= thumb[1] - th // 2 and changed[3] <= thumb[3] + th // 2)


def test_an_order_changes_the_card_in_a_later_frame(card_live):
    sc, s, shop, pub, base, tmp = card_live()
    shop.call("shopcast_pin", "honey")
    pinned = stamp_where(sc, base, lambda d: d["X-PRODUCT"] == "honey", "pinned")
    time.sleep(1.5)  # the card has slid in
    shop.order("honey", 2)
    sold = stamp_where(sc, base, lambda d: d["X-SOLD"] == "2", "the order's date range")
    assert int(sold["X-SEQ"]) > int(pinned["X-SEQ"]) and int(sold["X-STOCK"]) == 498
    assert int(sold["X-VERSION"]) > int(pinned["X-VERSION"])
    wait_segments_after(sc, base, iso_ms(sold["START-DATE"]), 1)
    for rung in RUNGS:
        w, h = SIZES[rung]
        frames = decoded(sc, base, rung, tmp)
        at = frames.index(frame_at(frames, int(sold["X-PTS"])))
        assert at > 0
        first = frames[at]
        assert shows_colour(frames[at - 1], w, h) and shows_colour(first, w, h)
        assert card_changed(first, w, h), (rung, "the first frame of the change shows it", first)
        assert on_the_card(first["changed_bbox"], first["match_bbox"]), (rung, first)
        # and not before it (a keyframe re-encodes the picture: that is not the card changing)
        assert not any(card_changed(f, w, h) for f in frames[at - 10:at] if not f["key"]), rung
        check_sei(frames, sold)


class Follower(threading.Thread):
    """Follows one rung's playlist as a low-latency player does, a blocking reload for each next
    part, and keeps every update."""

    def __init__(self, sc, base, rung):
        super().__init__(daemon=True)
        self.sc, self.url = sc, "%s/%s/media.m3u8" % (base, rung)
        self.updates, self.stop = [], False

    def run(self):
        status, body = get(self.sc, self.url)
        while status == 200 and not self.stop:
            text = body.decode()
            self.updates.append(text)
            hint = [l for l in text.splitlines() if l.startswith("#EXT-X-PRELOAD-HINT:")]
            msn, part = map(int, re.search(r"part-(\d+)\.(\d+)\.m4s", hint[0]).groups())
            status, body = get(self.sc, "%s?_HLS_msn=%d&_HLS_part=%d" % (self.url, msn, part))


def part_spans(text):
    """(start, end) in Unix ms of every part the playlist lists, in order. A segment without a
    date of its own (the one being filled may have none) starts where the one before ended."""
    spans, seg, start = [], None, None
    for l in text.splitlines():
        if l.startswith("#EXT-X-PROGRAM-DATE-TIME:"):
            seg = start = iso_ms(l.split(":", 1)[1])
        elif l.startswith("#EXT-X-PART:"):
            dur = float(attrs(l[12:])["DURATION"]) * 1000
            spans.append((start, start + dur))
            start += dur
        elif l.startswith("#EXTINF:"):
            seg = start = seg + float(l[8:].split(",")[0]) * 1000
    return spans


def first_listing(updates, pred):
    """The first update that lists a date range matching pred, the range, and the update
    before it."""
    for i, text in enumerate(updates):
        hit = [d for d in dateranges(text) if pred(d)]
        if hit:
            return text, hit[0], updates[i - 1] if i else None
    return None


def test_the_daterange_comes_with_the_part_that_holds_the_change(card_live):
    sc, s, shop, pub, base, tmp = card_live()
    shop.call("shopcast_pin", "honey")
    stamp_where(sc, base, lambda d: d["X-PRODUCT"] == "honey", "pinned")
    followers = [Follower(sc, base, rung) for rung in RUNGS]
    for f in followers:
        f.start()
    try:
        wait_until(lambda: all(len(f.updates) >= 3 for f in followers), 20, "following")
        for n in range(1, 4):
            shop.order("honey")
            pred = lambda d, n=n: d["X-SOLD"] == str(n)
            wait_until(lambda: all(first_listing(f.updates, pred) for f in followers), 30,
                       "the order's date range")
            for f in followers:
                text, d, prev = first_listing(f.updates, pred)
                start = iso_ms(d["START-DATE"])
                # it comes in the update that first lists the part that holds its frame: after
                # the end of what the update before listed, within what this one lists
                assert prev is not None
                assert part_spans(prev)[-1][1] - 1 <= start < part_spans(text)[-1][1] + 1, (
                    f.url, d, part_spans(prev)[-2:], part_spans(text)[-2:])
    finally:
        for f in followers:
            f.stop = True
        for f in followers:
            f.join(timeout=20)  # before the server goes: its last reload is answered


def test_the_slate_keeps_the_card_live(card_live):
    sc, s, shop, pub, base, tmp = card_live(seconds=12, grace=60)
    shop.call("shopcast_pin", "honey")
    stamp_where(sc, base, lambda d: d["X-PRODUCT"] == "honey", "pinned")
    pub.wait()  # the publisher is gone: the slate runs
    wait_until(lambda: "stream_offline" in sc.read_log(), 20, "the publisher's departure")
    time.sleep(2)
    shop.order("honey", 3)
    sold = stamp_where(sc, base, lambda d: d["X-SOLD"] == "3", "an order over the slate")
    time.sleep(1.5)
    shop.call("shopcast_pin", "")
    gone = stamp_where(sc, base, lambda d: d["X-PRODUCT"] == "" and
                       int(d["X-SEQ"]) > int(sold["X-SEQ"]), "unpinned over the slate")
    wait_segments_after(sc, base, iso_ms(gone["START-DATE"]), 1)
    for rung in RUNGS:
        w, h = SIZES[rung]
        frames = decoded(sc, base, rung, tmp)
        slate = [f for f in frames if f["pts"] < int(gone["X-PTS"])]
        at = slate.index(frame_at(frames, int(sold["X-PTS"])))
        assert at > 0 and all(shows_colour(f, w, h) for f in slate[at - 5:]), rung
        assert card_changed(slate[at], w, h), (rung, "the order shows over the slate", slate[at])
        assert on_the_card(slate[at]["changed_bbox"], slate[at]["match_bbox"]), rung
        check_sei(frames, sold)
        check_sei(frames, gone)
        after = [f for f in frames if f["pts"] >= int(gone["X-PTS"])]
        # nothing burnt into the slate stays: a fresh copy each frame
        assert after and not any(f["match"] for f in after), rung


@pytest.mark.parametrize("pix_fmt", ["yuv444p", "yuvj420p"])
def test_a_source_of_any_pixel_format_gets_the_card(card_live, pix_fmt):
    sc, s, shop, pub, base, tmp = card_live(extra=["-pix_fmt", pix_fmt])
    shop.call("shopcast_pin", "honey")
    pinned = stamp_where(sc, base, lambda d: d["X-PRODUCT"] == "honey", "pinned")
    wait_segments_after(sc, base, iso_ms(pinned["START-DATE"]) + 1000, 1)
    for rung in RUNGS:
        w, h = SIZES[rung]
        frames = decoded(sc, base, rung, tmp)
        shown = [f for f in frames if f["pts"] >= int(pinned["X-PTS"]) + 1000]
        assert shown and all(shows_colour(f, w, h) for f in shown), (rung, pix_fmt)
        check_sei(frames, pinned)


class Orders(threading.Thread):
    """An order a second while a player plays: the card keeps changing under it."""

    def __init__(self, redis_url, sc, sid):
        super().__init__(daemon=True)
        self.shop, self.stop = Shop(redis_url, sc, sid), False

    def run(self):
        while not self.stop:
            self.shop.order("honey")
            time.sleep(1)


@pytest.fixture
def changing_card(card_live, redis_url):
    sc, s, shop, pub, base, tmp = card_live(seconds=150)
    shop.call("shopcast_pin", "honey")
    stamp_where(sc, base, lambda d: d["X-PRODUCT"] == "honey", "pinned")
    orders = Orders(redis_url, sc, s["id"])
    orders.start()
    yield sc, s, base
    orders.stop = True
    orders.join()


def test_playlists_with_date_ranges_pass_a_strict_parse(changing_card):
    sc, s, base = changing_card
    # more than CAN-SKIP-UNTIL (6 target durations) of media, so that a delta skips
    wait_until(lambda: len(parse_media(playlist(sc, base, "720p"))[0]) >= 8, 90, "segments")
    texts = {}
    for rung in RUNGS:
        texts[rung + " media"] = live_playlist(sc, base, rung)
        texts[rung + " delta"] = live_playlist(sc, base, rung, "?_HLS_skip=YES")
        texts[rung + " delta v2"] = live_playlist(sc, base, rung, "?_HLS_skip=v2")
        texts.update(blocking_reloads(sc, base, rung, 6))
    for name, text in texts.items():
        ranges = dateranges(text)
        assert len(ranges) >= 2, (name, text)  # the pin and orders since
        assert len({d["ID"] for d in ranges}) == len(ranges), name
    results = strict_parse(texts)
    bad = {k: v["error"] for k, v in results.items() if not v["ok"]}
    assert not bad, bad
    assert "DATERANGE" not in get(sc, base + "/master.m3u8")[1].decode()


def test_hlsjs_takes_the_date_ranges_and_hands_the_sei_to_the_page(changing_card):
    sc, s, base = changing_card
    out = subprocess.run(["node", PLAY, "http://127.0.0.1:%d/watch/%s" % (sc.http_port, s["id"]),
                          "10"], capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert "error" not in r and r["fatal"] is None and r["pageErrors"] == [], r
    assert r["t1"] > r["t0"], r
    ranges = r["dateRanges"]
    assert len(ranges) >= 3, r
    assert all(d["valid"] and d["class"] == "com.shopcast.product" for d in ranges), ranges
    ours = [x for x in r["sei"] if x["uuid"] == SEI_UUID]
    assert ours, r["sei"]
    ids = {d["id"] for d in ranges}
    for x in ours:
        stamp = json.loads(x["text"])
        assert set(stamp) == {"seq", "v"}, x
    # each SEI names a stamp the playlists carry (those still in the window)
    assert any("card-%d" % json.loads(x["text"])["seq"] in ids for x in ours), (ours, ids)


def test_shaka_plays_through_the_card_changes(changing_card):
    sc, s, base = changing_card
    wait_until(lambda: len(parse_media(playlist(sc, base, "720p"))[0]) >= 8, 90, "segments")
    r = play(sc, s["id"], "shaka")
    assert "error" not in r, r
    assert r["pageErrors"] == [] and r["httpErrors"] == [] and r["playerErrors"] == [], r
    times = [x["time"] for x in r["samples"]]
    assert times[-1] > times[0], r
