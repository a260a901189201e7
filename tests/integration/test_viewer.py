"""The viewer page in real Chromium (Debian's, driven by playwright-core through
tests/browser/viewer.mjs) against the real binary, a real Redis and a real ffmpeg publisher: it
plays, its product panel changes on the frame whose SEI shows the change, Buy counts an order and
the sold count follows, a product name made of markup shows as text, and a WebSocket cut from the
server side reconnects and catches up with recovered: true. Screenshots go to tests/artifacts/."""
import json
import os
import subprocess

import pytest

from conftest import ROOT, wait_until
from media import STILL, publish

VIEWER = os.path.join(ROOT, "tests", "browser", "viewer.mjs")
ARTIFACTS = os.path.join(ROOT, "tests", "artifacts")
MARKUP = "<img src=x onerror=alert(1)>"


@pytest.fixture
def live(shopcast_factory):
    """A still 720p picture on air, with one product in the catalog (not pinned)."""
    pubs = []

    def make(name="Honey 柞水蜂蜜 500g", price=1280, regular_price=1990, pin=False):
        sc = shopcast_factory("--x264-preset", "ultrafast")
        s = sc.create_stream("Honey harvest")
        status, body = sc.request("POST", "/api/v1/streams/%s/products" % s["id"], {
            "id": "honey", "name": name, "price": price, "regular_price": regular_price,
            "currency": "CNY", "stock": 500}, sc.token)
        assert status == 201, body
        if pin:
            status, body = sc.request("PUT", "/api/v1/streams/%s/pinned" % s["id"],
                                      {"product": "honey"}, sc.token)
            assert status == 200, body
        pubs.append(publish(sc.rtmp_url(s["key"]), seconds=120, size="1280x720", picture=STILL))
        wait_until(lambda: sc.request("GET", "/hls/%s/master.m3u8" % s["id"])[0] == 200, 30,
                   "master playlist")
        return sc, s
    yield make
    for p in pubs:
        p.kill()
        p.wait()


def run(sc, s, scenario):
    os.makedirs(ARTIFACTS, exist_ok=True)
    out = subprocess.run(["node", VIEWER, scenario,
                          "http://127.0.0.1:%d/watch/%s" % (sc.http_port, s["id"]),
                          "http://127.0.0.1:%d/api/v1/streams/%s" % (sc.http_port, s["id"]),
                          sc.token, "honey", ARTIFACTS],
                         capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    with open(os.path.join(ARTIFACTS, "viewer-%s.json" % scenario), "w") as f:
        json.dump(r, f)  # everything the page did, beside the screenshots
    assert "error" not in r, {k: v for k, v in r.items() if k not in ("frames", "seis")}
    assert r["pageErrors"] == [] and r["player"]["fatal"] is None, r["pageErrors"]
    return r


def first_frame_showing(r, seq):
    """The pts of the first frame whose SEI (as hls.js handed it to the test) has seq >= seq."""
    pts = [x["pts"] for x in r["seis"] if x["stamp"]["seq"] >= seq]
    assert pts, ("no SEI shows seq", seq, r["seis"][-5:])
    return min(pts)


def test_pinning_shows_the_panel_on_the_cards_frame_and_buy_counts(live):
    sc, s = live()
    r = run(sc, s, "pin")
    assert r["player"]["time"] > r["t0"]  # the video moves on
    assert r["pinned"]["status"] == 200, r["pinned"]
    # the pin reached the panel as a stamped product event, on a frame whose SEI shows it
    shown = [e for e in r["panel"]["log"] if e["type"] == "product"]
    assert shown, r["panel"]["log"]
    e = shown[0]
    assert e["via"] == "sei", e
    assert e["frameSeq"] >= e["seq"], e
    first = first_frame_showing(r, e["seq"])
    assert first <= e["mediaTime"] + 0.017, (first, e)  # not before the card's frame
    # and on that very frame, unless the event came after the frame was on screen
    arrived = [x for x in r["signal"]["events"] if x["offset"] == e["offset"]][0]
    frames = [f for f in r["frames"] if f["mediaTime"] + 0.017 >= first]
    assert frames, "the test saw no frame after the card's"
    if arrived["perf"] < frames[0]["now"]:
        assert abs(e["mediaTime"] - frames[0]["mediaTime"]) < 1e-6, (e, frames[0])
    # the panel says what was pinned: the price charged, the regular one struck through
    dom = r["dom"]
    assert not dom["hidden"] and dom["name"] == "Honey 柞水蜂蜜 500g", dom
    assert "12.80" in dom["price"] and "19.90" in dom["regular"], dom
    # Buy: counted once, and the sold count and the ticker follow
    assert [o["status"] for o in r["panel"]["orders"]] == [201], r["panel"]["orders"]
    assert dom["sold"] == "1" and dom["stock"] == "499", dom
    assert dom["ticker"][0] == "Someone bought 1 × Honey 柞水蜂蜜 500g", dom["ticker"]
    sold = [x for x in r["panel"]["log"] if x["type"] == "sold"]
    assert sold and all(x["via"] == "sei" and x["frameSeq"] >= x["seq"] for x in sold), sold
    status, sales = sc.request("GET", "/api/v1/streams/%s/sales" % s["id"], None, sc.token)
    assert status == 200 and sales["products"][0]["sold"] == 1, sales
    # at phone width nothing sticks out sideways and Buy is on screen
    assert r["phone"]["scrollWidth"] <= 360, r["phone"]
    assert 0 <= r["phone"]["buy"]["x"] and r["phone"]["buy"]["right"] <= 360, r["phone"]
    assert r["dialogs"] == []


def test_a_product_name_of_markup_shows_as_text(live):
    sc, s = live(name=MARKUP, pin=True)
    r = run(sc, s, "xss")
    dom = r["dom"]
    assert dom["name"] == MARKUP, dom
    assert dom["imgs"] == 0, dom["panelHtml"]
    assert "&lt;img" in dom["panelHtml"], dom["panelHtml"]  # the markup is text in the DOM
    assert dom["ticker"][0] == "Someone bought 1 × " + MARKUP, dom["ticker"]
    assert r["dialogs"] == [], r["dialogs"]


def test_a_cut_websocket_reconnects_and_catches_up(live):
    sc, s = live(pin=True)
    r = run(sc, s, "cut")
    sig = r["signal"]
    assert r["whileCut"] == [201, 201, 201], r["whileCut"]
    hellos = [l for l in sig["log"] if l["type"] == "hello"]
    resumed = [l for l in sig["log"] if l["type"] == "resumed"]
    assert len(hellos) == 1 and hellos[0]["recovered"] is None, sig["log"]  # no fresh state
    assert len(resumed) >= 2 and all(l["recovered"] for l in resumed), sig["log"]
    assert r["refusedConnects"] >= 3, r  # it kept trying while cut
    assert sig["closes"], sig
    # the orders made while cut came after the resume, each offset once, in order
    first = resumed[0]
    assert first["from"] == r["beforeCut"] + 1, (first, r["beforeCut"])
    missed = [e for e in sig["events"] if e["offset"] > r["beforeCut"] and
              e["offset"] <= first["offset"]]
    assert [e["type"] for e in missed].count("order") == 3, missed
    assert all(e["n"] > first["n"] for e in missed), (first, missed)
    offsets = [e["offset"] for e in sig["events"]]
    assert offsets == sorted(set(offsets)) and offsets == list(range(offsets[0], offsets[-1] + 1))
    # the gap while connected: the dropped event came back through a resume on the same socket
    assert r["gapOrders"] == [201, 201] and len(r["dropped"]) == 1, r["dropped"]
    gap = resumed[1]
    assert gap["from"] <= r["dropped"][0]["offset"] <= gap["offset"], (gap, r["dropped"])
    back = [e for e in sig["events"] if e["offset"] == r["dropped"][0]["offset"]]
    assert back and back[0]["type"] == "order" and back[0]["n"] > gap["n"], back
    assert r["dom"]["sold"] == "10", r["dom"]
    assert len(r["dom"]["ticker"]) == 5, r["dom"]["ticker"]


def card_frames(r):
    """The mediaTime of each presented frame on which the card appears in the picture (its band
    shows >= 10 pixels unlike the background, after a frame without, and the next frame too)."""
    f = r["frames"]
    return [f[i]["mediaTime"] for i in range(1, len(f) - 1)
            if f[i]["card"] >= 10 and f[i + 1]["card"] >= 10 and f[i - 1]["card"] < 10]


def test_native_hls_plays_and_the_panel_changes_on_the_cards_frame(live):
    """hls.js's request is refused, so the page falls back to the browser's own HLS (Chromium 156
    has one, as Safari does): no SEI reaches the page, and the panel changes on the first frame
    whose PROGRAM-DATE-TIME reaches the event's pdt_ms, which the page works out itself where the
    browser does not say it (Chromium: no getStartDate()). The truth is the picture: on which
    presented frame the card appears."""
    sc, s = live()
    r = run(sc, s, "native")
    assert r["player"]["hls"] is False, "hls.js played: the fallback was not taken"
    assert r["player"]["time"] > r["t0"]  # the video moves on
    assert r["pinned"]["status"] == 200, r["pinned"]
    shown = [e for e in r["panel"]["log"] if e["type"] == "product"]
    assert shown, r["panel"]["log"]
    e = shown[0]
    assert e["via"] == "pdt" and e["pdt"], e
    assert not r["dom"]["hidden"] and r["dom"]["name"] == "Honey 柞水蜂蜜 500g", r["dom"]
    appeared = card_frames(r)
    assert len(appeared) == 1, (appeared, r["clock"])  # the card came once, and the test saw it
    arrived = [x for x in r["signal"]["events"] if x["offset"] == e["offset"]][0]
    card = [f for f in r["frames"] if f["mediaTime"] == appeared[0]][0]
    assert arrived["perf"] < card["now"], (arrived, card)  # the event came before its frame
    # the panel changed on the very frame the card appeared on (the frame interval is 33 ms)
    assert abs(e["mediaTime"] - appeared[0]) < 0.017, (e, appeared, r["clock"])
