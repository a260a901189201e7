"""A newcomer's first show, end to end, as issue 9 asks it to work: create a stream on the
dashboard, stream into it with the settings the dashboard shows (the real ffmpeg CLI standing in
for OBS), open the viewer page from the dashboard's link in another browser context, pin a
product on the dashboard, see the panel appear on the viewer's page on the card's frame, buy, and
watch the count move on both pages.
Real binary, real Redis, Debian's Chromium (tests/browser/newcomer.mjs). Screenshots of both
pages go to tests/artifacts/."""
import os

from conftest import ROOT
from media import publish
from test_dashboard import ARTIFACTS, Steps

SCRIPT = os.path.join(ROOT, "tests", "browser", "newcomer.mjs")


def test_a_newcomer_creates_streams_pins_and_sells(shopcast_factory):
    sc = shopcast_factory("--x264-preset", "ultrafast")
    page = Steps(SCRIPT, "http://127.0.0.1:%d/dashboard" % sc.http_port, sc.token, ARTIFACTS,
                 timeout=300)
    pub = None
    try:
        obs = page.expect("created")["obs"]
        assert obs["server"] == "rtmp://127.0.0.1:%d/live" % sc.rtmp_port
        # OBS: Server + Stream Key, exactly as the dashboard shows them
        pub = publish(obs["server"] + "/" + obs["key"], seconds=240, size="1280x720")
        page.go()
        m = page.expect("done")
        assert not m["errors"], m["errors"]
        assert m["fatal"] is None and m["time"] > 1, m
        panel, after = m["panel"], m["after"]
        assert panel["name"] == "柞水木耳 250 g" and "39.00" in panel["price"], panel
        assert panel["sold"] == "0"
        # the panel came in on the card's frame: hls.js handed over that frame's SEI
        assert panel["applied"] and panel["applied"][-1] == "sei", panel
        assert after["viewerSold"] == "1" and after["dashSold"].strip() == "1", after
        assert after["ticker"] and "木耳" in after["ticker"][0], after
        status, sales = sc.request("GET", "/api/v1/streams/%s/sales" % obs["id"], token=sc.token)
        assert status == 200
        muer = [p for p in sales["products"] if p["id"] == "muer"][0]
        assert (muer["sold"], muer["stock"], muer["revenue"]) == (1, 49, 3900), muer
        page.go()
    finally:
        page.close()
        if pub:
            pub.kill()
            pub.wait()
