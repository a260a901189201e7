"""The viewer page in real Chromium (Debian's, driven by playwright-core): hls.js plays the live
stream from shopcast's own /watch page, with no fatal error."""
import json
import os
import subprocess

from conftest import ROOT, wait_until
from media import publish

PLAY = os.path.join(ROOT, "tests", "browser", "play.mjs")


def play_live(shopcast, title, seconds, env=None):
    """Publishes a stream for `seconds` and plays its /watch page with play.mjs; its report."""
    s = shopcast.create_stream(title)
    pub = publish(shopcast.rtmp_url(s["key"]), seconds=seconds, size="1280x720")
    wait_until(lambda: shopcast.request("GET", "/hls/%s/master.m3u8" % s["id"])[0] == 200, 20,
               "master playlist")
    try:
        out = subprocess.run(["node", PLAY, "http://127.0.0.1:%d/watch/%s" % (
            shopcast.http_port, s["id"]), "6"], capture_output=True, text=True, timeout=120,
            env=dict(os.environ, **(env or {})))
    finally:
        pub.kill()
        pub.wait()
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_watch_page_plays_live_stream(shopcast):
    r = play_live(shopcast, "Roast chicken from the village", 25)
    assert "error" not in r, r
    assert r["t1"] > r["t0"], r  # the video moves on
    assert r["fatal"] is None, r
    assert r["pageErrors"] == [], r
    assert r["width"] in (1280, 640), r
    assert r["title"] == "Roast chicken from the village"
    assert r["badge"] == "live"


def test_viewer_far_behind_returns_to_the_live_edge(shopcast):
    """A viewer more than five seconds behind its target latency (a player that started far back,
    or a seek back) is put back at the edge, where the product card's countdown and stock are
    current: hls.js's own rate catch-up never gets there from that far."""
    r = play_live(shopcast, "Edible fungus, fresh", 40, env={"BACK_S": "7"})
    assert "error" not in r and r["fatal"] is None and r["pageErrors"] == [], r
    # the seek took it far behind (else this test shows nothing), and the page put it back ...
    assert r["seek"]["from"] - r["seek"]["to"] > 6, r["seek"]
    first = r["resyncs"][0] if r["resyncs"] else None
    assert first and first["latency"] > 5 and abs(first["from"] - r["seek"]["to"]) < 1.5, r
    # ... where it plays on, within a target duration of its target
    assert r["latency"] < r["behind"]["target"] + 1.0, (r["latency"], r["behind"])
    assert r["t1"] > r["behind"]["at"] > r["seek"]["to"] + 5, r
