"""Adaptive bitrate in real Chromium (Debian's, driven by playwright-core): the viewer page reaches
the top rung on a fast link whatever the picture, and on a slow link settles on a rung that fits,
without stalling.

The link is loopback, or loopback slowed to SLOW_KBPS by Chromium's own network emulation. The
page is judged on the state its player reaches, never on how fast it got there:
- after start-up (SETTLE seconds from the first 'playing' event), WINDOW seconds are sampled four
  times a second; at least SHARE of the samples must be on the expected rung, both as hls.js's
  current level and as the height of the picture on screen, and so must the last one. 90% of a
  20 s window allows one dip of up to 2 s (a moment when the shared test machine starves the
  browser can make one transfer look slow), and no more: before the fix, a still picture kept
  every viewer on the lowest rung 100% of the time;
- on the slow link no stall ('waiting', or hls.js's BUFFER_STALLED_ERROR) happens in the window.

Start-up: hls.js starts on the first rendition of the master playlist, the top one, so on a fast
link it has nothing to change (5 s covers a start lower down: a switch, then the buffered second of
the old rung played out). On the slow link the first top-rung part (about 100 KB of moving
picture, 0.7 s at 1.2 Mbit/s) may stall playback before hls.js switches down and refills its
buffer; 10 s covers that and hls.js's catch-up to its target latency.
"""
import json
import os
import re
import subprocess

import pytest

from conftest import ROOT, wait_until
from media import MOVING, STILL, publish

ABR = os.path.join(ROOT, "tests", "browser", "abr.mjs")
SLOW_KBPS = 1200
FAST_SETTLE, SLOW_SETTLE, WINDOW = 5, 10, 20
SHARE = 0.9
PICTURES = {"still": STILL, "moving": MOVING}
# what OBS sends for the default 720p rung: constant 2.5 Mbit/s at most, one-second VBV buffer
# (ultrafast here and in shopcast's ladder: the rungs' bitrates, which are what the player sees,
# stay the same, and the encoders take a third of the CPU, which the test machine may not have)
ENCODER = ("-maxrate", "2500k", "-bufsize", "2500k", "-tune", "zerolatency", "-preset", "ultrafast")


def master_bandwidths(shopcast, sid):
    """{height: BANDWIDTH} of the master playlist's renditions."""
    status, body = shopcast.request("GET", "/hls/%s/master.m3u8" % sid)
    assert status == 200, body
    return {int(h): int(bw) for bw, h in
            re.findall(r"BANDWIDTH=(\d+),.*RESOLUTION=\d+x(\d+)", body.decode())}


def play(shopcast, sid, kbps, settle):
    out = subprocess.run(["node", ABR, "http://127.0.0.1:%d/watch/%s" % (shopcast.http_port, sid),
                          str(kbps), str(settle), str(WINDOW)],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    assert "error" not in r, r
    assert r["fatal"] is None and r["pageErrors"] == [], r
    return r


def check_on_rung(r, height, what):
    """At least SHARE of the window, and its end, on the rendition of this height."""
    level = [lv["height"] for lv in r["levels"]].index(height)
    on = [s["level"] == level and s["height"] == height for s in r["samples"]]
    seen = sorted({(s["level"], s["height"]) for s in r["samples"]})
    estimates = sorted(s["estimate"] for s in r["samples"])
    errors = {e: r["hlsErrors"].count(e) for e in set(r["hlsErrors"])}
    ahead = [round(s["ahead"], 2) for s in r["samples"][::4]]
    latency = [round(s["latency"], 2) for s in r["samples"][::4]]
    why = "%s: %d of %d samples on the %dp rung (level %d); (level, height) seen %s; " \
          "bandwidth estimate median %.0f bit/s; stalls after start-up %s; hls.js errors %s " \
          "(when: %s); once a second, buffered ahead %s s and latency %s s; transfers timed %s; " \
          "sent back to the live edge %s" % (
              what, sum(on), len(on), height, level, seen, estimates[len(estimates) // 2],
              r["stallsAfterSettle"], errors, r["errorsAt"], ahead, latency, r["timed"],
              r["resyncs"])
    assert len(on) >= WINDOW * 3, why  # four a second, with room for a busy machine
    assert sum(on) >= SHARE * len(on) and on[-1], why
    return why


@pytest.mark.parametrize("picture", ["still", "moving"])
def test_top_rung_on_fast_link_fitting_rung_on_slow_link(shopcast_factory, picture):
    shopcast = shopcast_factory("--x264-preset", "ultrafast")
    s = shopcast.create_stream("Wild mountain honey")
    pub = publish(shopcast.rtmp_url(s["key"]), seconds=240, size="1280x720",
                  picture=PICTURES[picture], bitrate="2500k", extra=ENCODER)
    try:
        wait_until(lambda: shopcast.request("GET", "/hls/%s/master.m3u8" % s["id"])[0] == 200,
                   30, "master playlist")
        bandwidths = master_bandwidths(shopcast, s["id"])
        assert sorted(bandwidths) == [360, 720], bandwidths
        fast = play(shopcast, s["id"], 0, FAST_SETTLE)
        slow = play(shopcast, s["id"], SLOW_KBPS, SLOW_SETTLE)
    finally:
        pub.kill()
        pub.wait()
    fast_why = check_on_rung(fast, max(bandwidths), "%s picture, loopback" % picture)
    # the tallest rendition whose declared peak fits the link
    fits = max(h for h, bw in bandwidths.items() if bw <= SLOW_KBPS * 1000)
    why = check_on_rung(slow, fits, "%s picture, %d kbit/s" % (picture, SLOW_KBPS))
    # the loopback run's stalls (not judged) tell a busy machine from a link that does not fit
    assert slow["stallsAfterSettle"] == [], why + "\n(for comparison) " + fast_why
