"""Product replay (讲解回放), end to end: the real binary recording (record = on), a real Redis with the
shopcast library, a real ffmpeg publisher. Product A is pinned, later product B, then nothing;
the publisher stops and the session ends. The recorded VOD then carries each product's span as
a chapter: chapters.json (through the API) and the VOD playlists' EXT-X-DATERANGEs agree, in
order, and each chapter's start_s is where the frames of the VOD (decoded with libavcodec by
build/tests/tools/frames) show that product's stamp: the SEI seq of the stamp the live playlist
announced. Then the viewer page of the ended show, in Debian's Chromium (tests/browser/replay.mjs),
lists "watch the part about ..." links, and the one for B seeks into the VOD where B was shown."""
import json
import os
import re
import struct
import subprocess
import time

import pytest

from conftest import ROOT, Shopcast, wait_until
from media import STILL, publish
from test_card import FRAMES, Shop, dateranges, iso_ms
from test_hls import attrs, get, parse_media

REPLAY = os.path.join(ROOT, "tests", "browser", "replay.mjs")
ARTIFACTS = os.path.join(ROOT, "tests", "artifacts")
RUNG = "360p"
FRAME_MS = 1000 / 30
# Each product's thumbnail is a colour of its own that the picture never has.
PRODUCTS = {"jar-a": ("Wild honey <b>A</b> 柞水", "ff00ff"), "tea-b": ("Tea \"B\" 白茶", "00ffff")}


def product(shop, pid):
    name, colour = PRODUCTS[pid]
    shop.call("shopcast_product_put", pid, "name", name, "price", 1280, "regular_price", 1280,
              "currency", "CNY", "stock", 500)
    rgba = bytes.fromhex(colour) + b"\xff"
    shop.call("shopcast_product_image", pid, b"SCI1" + struct.pack(">HH", 64, 64) + rgba * 4096)


def live_stamp(sc, sid, pred, what):
    """The newest date range of the live playlist that matches pred."""
    def found():
        status, body = get(sc, "/hls/%s/%s/media.m3u8" % (sid, RUNG))
        hit = [d for d in dateranges(body.decode())] if status == 200 else []
        hit = [d for d in hit if pred(d)]
        return hit[-1] if hit else None
    return wait_until(found, 30, what)


@pytest.fixture(scope="module")
def show(redis_url, tmp_path_factory):
    """One recorded show, over: A pinned, an order, B pinned, unpinned; the session ended."""
    tmp = str(tmp_path_factory.mktemp("replay"))
    sc = Shopcast(redis_url, tmp, ("--x264-preset", "ultrafast", "--grace", "2"))
    os.makedirs(os.path.dirname(sc.log_path), exist_ok=True)
    sc.start()
    pub = None
    try:
        s = sc.create_stream("Honey and tea, recorded")
        shop = Shop(redis_url, sc, s["id"])
        for pid in PRODUCTS:
            product(shop, pid)
        pub = publish(sc.rtmp_url(s["key"]), seconds=24, size="640x360", picture=STILL)
        wait_until(lambda: b"seg-" in get(sc, "/hls/%s/%s/media.m3u8" % (s["id"], RUNG), 5)[1],
                   30, "live segments")
        time.sleep(2)
        shop.call("shopcast_pin", "jar-a")
        a = live_stamp(sc, s["id"], lambda d: d["X-PRODUCT"] == "jar-a", "A pinned")
        time.sleep(2.5)
        shop.order("jar-a", 2)  # a change of the card within A's chapter
        live_stamp(sc, s["id"], lambda d: d["X-SOLD"] == "2", "A's order")
        time.sleep(2.5)
        shop.call("shopcast_pin", "tea-b")
        b = live_stamp(sc, s["id"], lambda d: d["X-PRODUCT"] == "tea-b", "B pinned")
        time.sleep(4)
        shop.call("shopcast_pin", "")
        off = live_stamp(sc, s["id"], lambda d: d["X-PRODUCT"] == "" and
                         int(d["X-SEQ"]) > int(b["X-SEQ"]), "unpinned")
        assert pub.wait(timeout=60) == 0
        recs = wait_until(lambda: [r for r in sc.request(
            "GET", "/api/v1/streams/%s/recordings" % s["id"])[1]["recordings"]
            if "chapters_url" in r], 30, "a recording with chapters")
        chapters = wait_until(lambda: (lambda c: c if c["ended"] else None)(
            json.loads(get(sc, recs[0]["chapters_url"])[1])), 30, "the session's end")
        yield {"sc": sc, "stream": s, "rec": recs[0], "chapters": chapters["chapters"],
               "stamps": (a, b, off), "tmp": tmp}
    finally:
        if pub and pub.poll() is None:
            pub.kill()
            pub.wait()
        assert sc.stop() == 0, sc.read_log()
        assert "AddressSanitizer" not in sc.read_log()


def vod_playlist(show, rung=RUNG):
    path = show["rec"]["vod_url"].replace("master.m3u8", "%s/media.m3u8" % rung)
    status, body = get(show["sc"], path)
    assert status == 200, body
    return path, body.decode()


def decoded_vod(show, colour):
    """Every frame of the VOD's rendition, decoded, from the files the API serves."""
    path, text = vod_playlist(show)
    maps = re.findall(r'#EXT-X-MAP:URI="([^"]+)"', text)
    assert len(maps) == 1, maps  # one session, one init: the concatenation is one file
    base = path.rsplit("/", 1)[0]
    data = get(show["sc"], "%s/%s" % (base, maps[0]))[1]
    for seg in parse_media(text)[0]:
        status, body = get(show["sc"], "%s/%s" % (base, seg["uri"]))
        assert status == 200, seg
        data += body
    out_path = os.path.join(show["tmp"], "vod-%s.mp4" % colour)
    with open(out_path, "wb") as f:
        f.write(data)
    out = subprocess.run([FRAMES, out_path, "--colour", colour, "--tolerance", "60"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return [json.loads(l) for l in out.stdout.splitlines()]


def vod_ms(frames, f):
    """A frame's time in the VOD: from its first frame, as a player's currentTime counts."""
    return f["pts"] - frames[0]["pts"]


def first_with_seq(frames, seq):
    hit = [f for f in frames if any(x["seq"] == seq for x in f["sei"])]
    assert hit, seq
    return hit[0]


def test_chapters_json_lists_each_product_span_in_order(show):
    sc, sid, ses = show["sc"], show["stream"]["id"], show["rec"]["session"]
    base = "/api/v1/streams/%s/recordings" % sid
    assert show["rec"]["chapters_url"] == "%s/%s/chapters" % (base, ses), show["rec"]
    status, body = get(sc, show["rec"]["chapters_url"])
    assert status == 200 and json.loads(body)["chapters"] == show["chapters"]
    on_disk = os.path.join(sc.data_dir, "recordings", sid, ses, "chapters.json")
    assert body == open(on_disk, "rb").read()  # the file itself, through the thread pool
    for bad in ("/../chapters", "/x/chapters", "/%s/chapter" % ses, "/%s/chapters/" % ses,
                "/%s" % ses, "/19990101T000000Z-1/chapters", "/%s/../../chapters" % ses):
        assert get(sc, base + bad)[0] == 404, bad
    assert get(sc, "/api/v1/streams/nosuchstream1/recordings/%s/chapters" % ses)[0] == 404
    ch = show["chapters"]
    assert [c["product"] for c in ch] == ["jar-a", "tea-b"], ch  # the order changed no chapter
    assert [c["name"] for c in ch] == [PRODUCTS["jar-a"][0], PRODUCTS["tea-b"][0]]
    assert [c["id"] for c in ch] == ["chapter-1", "chapter-2"]
    a, b = ch
    assert 0 < a["start_s"] < a["end_s"] == b["start_s"] < b["end_s"], ch  # A gave way to B
    assert b["end_pdt_ms"] - b["start_pdt_ms"] == pytest.approx(
        (b["end_s"] - b["start_s"]) * 1000, abs=1)
    total = sum(s["duration"] for s in parse_media(vod_playlist(show)[1])[0])
    assert b["end_s"] < total - 1, (b, total)  # unpinned a while before the end


def test_vod_playlists_carry_the_same_chapters_as_dateranges(show):
    ch = show["chapters"]
    for rung in ("360p",):
        _, text = vod_playlist(show, rung)
        assert "#EXT-X-ENDLIST" in text
        segs = parse_media(text)[0]
        assert text.count("#EXT-X-PROGRAM-DATE-TIME:") == len(segs), text  # every segment dated
        ranges = [d for d in dateranges(text) if d.get("CLASS") == "com.shopcast.chapter"]
        assert len(ranges) == len(ch), text
        assert len(dateranges(text)) == len(ranges)  # the live card's stamps are not there
        for d, c in zip(ranges, ch):
            assert d["ID"] == c["id"] and d["X-PRODUCT"] == c["product"], (d, c)
            assert float(d["X-START-S"]) == pytest.approx(c["start_s"], abs=0.0005), (d, c)
            assert iso_ms(d["START-DATE"]) == c["start_pdt_ms"], (d, c)
            assert iso_ms(d["END-DATE"]) == c["end_pdt_ms"], (d, c)
            assert float(d["DURATION"]) * 1000 == pytest.approx(
                c["end_pdt_ms"] - c["start_pdt_ms"], abs=0.5)


def test_start_s_is_where_the_frames_show_the_product(show):
    """Each chapter starts on the frame that carries its product's stamp (SEI seq), to within
    a frame, on the VOD's own timeline; B's colour is in the picture through B's chapter only."""
    a_stamp, b_stamp, off_stamp = show["stamps"]
    a, b = show["chapters"]
    frames = decoded_vod(show, PRODUCTS["tea-b"][1])
    assert vod_ms(frames, frames[0]) == 0
    for seq, at_s in ((a_stamp["X-SEQ"], a["start_s"]), (b_stamp["X-SEQ"], b["start_s"]),
                      (off_stamp["X-SEQ"], b["end_s"])):
        f = first_with_seq(frames, int(seq))
        assert abs(vod_ms(frames, f) - at_s * 1000) <= 1.5 * FRAME_MS, (seq, f, at_s)
    w, h = 640, 360
    # (times in ms as the demuxer rounds them: a chapter's ends are within a frame of them)
    in_b = [f for f in frames
            if b["start_s"] * 1000 + 500 <= vod_ms(frames, f) < b["end_s"] * 1000 - FRAME_MS / 2]
    in_a = [f for f in frames
            if a["start_s"] * 1000 <= vod_ms(frames, f) < a["end_s"] * 1000 - FRAME_MS / 2]
    after = [f for f in frames if vod_ms(frames, f) >= b["end_s"] * 1000 + 500]
    assert in_b and in_a and after
    assert all(f["match"] > w * h // 4000 for f in in_b), [
        (vod_ms(frames, f), f["match"]) for f in in_b if f["match"] <= w * h // 4000]
    assert not any(f["match"] for f in in_a + after)


def test_the_ended_show_page_seeks_to_the_part_about_b(show):
    sc, s = show["sc"], show["stream"]
    a, b = show["chapters"]
    os.makedirs(ARTIFACTS, exist_ok=True)
    shot = os.path.join(ARTIFACTS, "replay.png")
    out = subprocess.run(["node", REPLAY, "http://127.0.0.1:%d/watch/%s" % (sc.http_port, s["id"]),
                          PRODUCTS["tea-b"][0], PRODUCTS["tea-b"][1], PRODUCTS["jar-a"][1], shot],
                         capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stderr
    r = json.loads(out.stdout.strip().splitlines()[-1])
    print(json.dumps(r))
    assert "error" not in r, r
    assert r["pageErrors"] == [], r
    # the links, as text: the names are data, never markup
    assert r["links"] == ["Watch the part about " + PRODUCTS["jar-a"][0],
                          "Watch the part about " + PRODUCTS["tea-b"][0]], r
    assert r["vod"] == show["rec"]["vod_url"], r
    assert abs(r["seekedTo"] - b["start_s"]) < 0.05, (r, b)
    # the first frame presented after the seek, and the one a second on, are inside B's span
    assert b["start_s"] - 0.001 <= r["presented"] < b["end_s"], (r, b)
    # and that frame is B's: the stamp in force on it is B's pin (the SEI hls.js read)
    assert r["presentedSeq"] == int(show["stamps"][1]["X-SEQ"]), (r, show["stamps"][1])
    assert r["later"] < b["end_s"], (r, b)
    assert r["colour"] > 50 and r["otherColour"] == 0, r  # B's card in the picture, not A's
    assert os.path.getsize(shot) > 0
