"""The viewer page in real Chromium (Debian's, driven by playwright-core): hls.js plays the live
stream from shopcast's own /watch page, with no fatal error."""
import json
import os
import subprocess

from conftest import ROOT, wait_until
from media import publish

PLAY = os.path.join(ROOT, "tests", "browser", "play.mjs")


def test_watch_page_plays_live_stream(shopcast):
    s = shopcast.create_stream("Roast chicken from the village")
    pub = publish(shopcast.rtmp_url(s["key"]), seconds=25, size="1280x720")
    wait_until(lambda: shopcast.request("GET", "/hls/%s/master.m3u8" % s["id"])[0] == 200, 20,
               "master playlist")
    try:
        out = subprocess.run(["node", PLAY, "http://127.0.0.1:%d/watch/%s" % (
            shopcast.http_port, s["id"]), "6"], capture_output=True, text=True, timeout=120)
    finally:
        pub.kill()
        pub.wait()
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert "error" not in r, r
    assert r["t1"] > r["t0"], r  # the video moves on
    assert r["fatal"] is None, r
    assert r["pageErrors"] == [], r
    assert r["width"] in (1280, 640), r
    assert r["title"] == "Roast chicken from the village"
    assert r["badge"] == "live"
