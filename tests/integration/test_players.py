"""Players other than the watch page's hls.js, in real Chromium (Debian's, driven by
playwright-core through tests/browser/players.mjs): Shaka Player and video.js, both from npm and
served from web/node_modules, play a live 720p stream with the options the README gives. No HTTP
request of theirs gets an error status, neither reports an error, and playback moves on."""
import json
import os
import subprocess

import pytest

from conftest import ROOT, wait_until
from test_hls import get, live_stream

PLAYERS = os.path.join(ROOT, "tests", "browser", "players.mjs")


def play(sc, sid, player, seconds=12):
    url = "http://127.0.0.1:%d/hls/%s/master.m3u8" % (sc.http_port, sid)
    out = subprocess.run(["node", PLAYERS, player, url, str(seconds)], capture_output=True,
                         text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(r))  # what the player did, for the log of a failed run
    return r


@pytest.mark.parametrize("player", ["shaka", "videojs"])
def test_player_plays_live_720p_without_errors(shopcast_factory, player):
    # ultrafast: the ladder keeps up in real time on a 2-core machine under ASan with the
    # browser decoding beside it. A server that falls behind the wall clock is a different matter
    # (Shaka, whose live edge follows the clock, drops what it has of the window).
    sc = shopcast_factory("--x264-preset", "ultrafast")
    s, pub, base = live_stream(sc, seconds=120)
    try:
        segs = int(os.environ.get("PLAYERS_SEGS", "8"))
        wait_until(lambda: len(get(sc, base + "/720p/media.m3u8")[1].split(b"seg-")) > segs, 60,
                   "segments")
        r = play(sc, s["id"], player)
    finally:
        # The browser is closed by now: the end of the stream is not part of what it saw.
        pub.kill()
        pub.wait()
    assert "error" not in r, r
    assert r["external"] == [], r  # nothing came from anywhere but shopcast and web/
    assert r["pageErrors"] == [], r
    assert r["httpErrors"] == [], r
    assert r["playerErrors"] == [], r
    assert r["responses"].get("200", 0) > 10, r
    times = [x["time"] for x in r["samples"]]
    assert times[-1] > times[0], r  # the picture moves on
    assert all(b >= a for a, b in zip(times, times[1:])), r
    heights = {x["height"] for x in r["samples"]} - {0}  # 0: no picture decoded yet
    assert heights and heights <= {720, 360}, r
