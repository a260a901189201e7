"""Transcode ladder and LL-HLS end to end: the real ffmpeg CLI publishes, HTTP clients and the
ffmpeg CLI read the playlists, parts and segments back."""
import json
import os
import re
import subprocess
import threading
import time
import urllib.error
import urllib.request

import pytest

from conftest import wait_until
from media import publish


def get(sc, path, timeout=15):
    """(status, bytes) of a GET, following nothing."""
    try:
        with urllib.request.urlopen("http://127.0.0.1:%d%s" % (sc.http_port, path),
                                    timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def get_timed(sc, path):
    """(status, bytes, {name: ms} of the Server-Timing header) of a GET."""
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (sc.http_port, path), timeout=15) as r:
        timing = re.findall(r"(\w+);dur=([\d.]+)", r.headers.get("Server-Timing", ""))
        return r.status, r.read(), {k: float(v) for k, v in timing}


def attrs(line):
    return dict((k, v.strip('"')) for k, v in re.findall(r'([A-Z0-9-]+)=("[^"]*"|[^,]*)', line))


def parse_media(text):
    """Segments (msn, duration, parts, discontinuity) of a media playlist, and its tags."""
    lines = text.splitlines()
    assert lines[0] == "#EXTM3U"
    tags = {l.split(":", 1)[0]: (l.split(":", 1) + [""])[1] for l in lines if l.startswith("#")}
    msn = int(tags["#EXT-X-MEDIA-SEQUENCE"])
    segs, parts, disc, extinf = [], [], False, None
    for l in lines:
        if l == "#EXT-X-DISCONTINUITY":
            disc = True
        elif l.startswith("#EXT-X-PART:"):
            a = attrs(l[12:])
            parts.append((a["URI"], float(a["DURATION"]), a.get("INDEPENDENT") == "YES"))
        elif l.startswith("#EXTINF:"):
            extinf = float(l[8:].split(",")[0])
        elif l and not l.startswith("#"):
            segs.append({"msn": msn, "uri": l, "duration": extinf, "parts": parts,
                         "discontinuity": disc})
            msn, parts, disc = msn + 1, [], False
    return segs, parts, tags


def live_stream(sc, seconds=20, size="1280x720"):
    s = sc.create_stream("Honey harvest")
    p = publish(sc.rtmp_url(s["key"]), seconds=seconds, size=size)
    base = "/hls/%s" % s["id"]
    wait_until(lambda: get(sc, base + "/master.m3u8", 5)[0] == 200, 20, "master playlist")
    return s, p, base


@pytest.fixture
def hls_server(shopcast_factory):
    return shopcast_factory("--grace", "2")


def test_ladder_playlists_parts_and_blocking_reload(hls_server):
    sc = hls_server
    s, pub, base = live_stream(sc, seconds=20)
    status, master = get(sc, base + "/master.m3u8")
    master = master.decode()
    variants = [(attrs(l), u) for l, u in zip(master.splitlines(), master.splitlines()[1:])
                if l.startswith("#EXT-X-STREAM-INF:")]
    assert [v[1] for v in variants] == ["720p/media.m3u8", "360p/media.m3u8"]
    for a, _ in variants:
        for key in ("BANDWIDTH", "AVERAGE-BANDWIDTH", "CODECS", "RESOLUTION", "FRAME-RATE"):
            assert key in a, a
    assert variants[0][0]["RESOLUTION"] == "1280x720"
    assert variants[1][0]["RESOLUTION"] == "640x360"
    assert variants[0][0]["CODECS"].startswith("avc1.") and "mp4a.40.2" in variants[0][0]["CODECS"]

    # Wait for a few complete segments, then check LL-HLS structure.
    media = base + "/720p/media.m3u8"
    wait_until(lambda: len(parse_media(get(sc, media)[1].decode())[0]) >= 4, 20, "segments")
    text = get(sc, media)[1].decode()
    segs, tail_parts, tags = parse_media(text)
    part_target = float(attrs(tags["#EXT-X-PART-INF"])["PART-TARGET"])
    sc_attrs = attrs(tags["#EXT-X-SERVER-CONTROL"])
    assert sc_attrs["CAN-BLOCK-RELOAD"] == "YES"
    assert float(sc_attrs["PART-HOLD-BACK"]) >= 3 * part_target - 1e-9  # decimal, ms resolution
    assert "CAN-SKIP-UNTIL" in sc_attrs
    assert "#EXT-X-PRELOAD-HINT" in tags and "#EXT-X-RENDITION-REPORT" in tags
    assert "#EXT-X-PROGRAM-DATE-TIME" in tags

    # Parts add up to their segment, in duration and byte for byte.
    checked = 0
    for seg in segs:
        if not seg["parts"]:
            continue
        assert seg["parts"][0][2], "a segment's first part is independent"
        assert sum(p[1] for p in seg["parts"]) == pytest.approx(seg["duration"], abs=0.002)
        for uri, dur, _ in seg["parts"]:
            assert dur <= part_target + 1e-9
        whole = get(sc, base + "/720p/" + seg["uri"])[1]
        joined = b"".join(get(sc, base + "/720p/" + p[0])[1] for p in seg["parts"])
        assert whole == joined
        checked += 1
    assert checked >= 1

    # Blocking reload: ask for a part that does not exist yet; the answer must contain it.
    hint = attrs(tags["#EXT-X-PRELOAD-HINT"])["URI"]
    m = re.match(r"part-(\d+)\.(\d+)\.m4s", hint)
    want_msn, want_part = int(m.group(1)), int(m.group(2))
    status, body = get(sc, "%s?_HLS_msn=%d&_HLS_part=%d" % (media, want_msn, want_part))
    assert status == 200
    assert hint in body.decode() or "seg-%d.m4s" % want_msn in body.decode()

    # The preload hint itself is held until the part exists, then served, saying how long it was
    # held and the connection's least round trip (Server-Timing, what the viewer page's link
    # estimator subtracts); the same part asked for again is not held.
    for _ in range(3):  # the part may be cut between the playlist and the request: ask again
        hint = attrs(parse_media(get(sc, media)[1].decode())[2]["#EXT-X-PRELOAD-HINT"])["URI"]
        t0 = time.monotonic()
        status, data, timing = get_timed(sc, base + "/720p/" + hint)
        waited_ms = (time.monotonic() - t0) * 1000
        if timing["hold"] > 0:
            break
    assert status == 200 and data[4:8] == b"moof"
    assert 0 < timing["hold"] <= waited_ms and 0 <= timing["rtt"] < waited_ms, (timing, waited_ms)
    status, again, timing = get_timed(sc, base + "/720p/" + hint)
    assert status == 200 and again == data and timing["hold"] == 0, timing

    # A delta update skips old segments.
    wait_until(lambda: len(parse_media(get(sc, media)[1].decode())[0]) >= 9, 20, "9 segments")
    status, delta = get(sc, media + "?_HLS_skip=YES")
    assert "#EXT-X-SKIP:SKIPPED-SEGMENTS=" in delta.decode()
    assert pub.wait(timeout=40) == 0


def test_hls_bad_requests(hls_server):
    sc = hls_server
    s, pub, base = live_stream(sc, seconds=8, size="640x360")
    media = base + "/360p/media.m3u8"
    wait_until(lambda: len(parse_media(get(sc, media)[1].decode())[0]) >= 2, 20, "segments")
    segs, _, _ = parse_media(get(sc, media)[1].decode())
    last = segs[-1]["msn"]
    assert get(sc, base + "/360p/seg-%d.m4s" % (last + 100))[0] == 404
    assert get(sc, base + "/360p/seg-%d.m4s" % (segs[0]["msn"] - 1))[0] == 404
    assert get(sc, base + "/360p/part-%d.9.m4s" % segs[0]["msn"])[0] == 404
    assert get(sc, base + "/360p/init-1.mp4")[0] == 404
    assert get(sc, "/hls/nosuchstream/master.m3u8")[0] == 404
    assert get(sc, base + "/999p/media.m3u8")[0] == 404
    for bad in ("/360p/seg-01.m4s", "/360p/%2e%2e/%2e%2e/etc/passwd", "/360p/../../x",
                "/360p/" + "a" * 300, "/..%2f..%2fetc/passwd", "/360p/seg--1.m4s"):
        assert get(sc, base + bad)[0] in (400, 404), bad
    # A NUL byte never reaches a route: libwebsockets' URI parser drops the connection itself.
    try:
        status = get(sc, base + "/360p/seg-1%00.m4s")[0]
        assert status in (400, 404)
    except (ConnectionError, urllib.error.URLError):
        pass
    assert get(sc, "/healthz")[0] == 200
    assert get(sc, media + "?_HLS_msn=%d" % (last + 3))[0] == 400
    assert get(sc, media + "?_HLS_part=1")[0] == 400
    assert get(sc, media + "?_HLS_msn=abc")[0] == 400
    assert pub.wait(timeout=30) == 0
    # Once the stream has ended, a blocking request past its end is answered at once with the
    # final playlist, not held.
    wait_until(lambda: b"#EXT-X-ENDLIST" in get(sc, media)[1], 20, "ENDLIST")
    segs, _, _ = parse_media(get(sc, media)[1].decode())
    status, body = get(sc, media + "?_HLS_msn=%d" % (segs[-1]["msn"] + 1), timeout=30)
    assert status == 200 and b"#EXT-X-ENDLIST" in body


def test_hint_names_the_next_segment_once_its_keyframe_is_due(shopcast_factory):
    """Three parts make up a segment (hls-segment-ms 1000, hls-part-ms 333: parts of 10 frames at
    30 fps; set here, as the default is 200 ms), and the
    next frame is the forced keyframe: the preload hint names the next segment's first part, which
    is held and served; the fourth part that will never come is not found at once (RFC 8216bis
    6.2.6), and a blocking reload for it waits for the next segment (6.2.5.2)."""
    sc = shopcast_factory("--grace", "2", "--hls-part-ms", "333")
    s, pub, base = live_stream(sc, seconds=30, size="640x360")
    media = base + "/360p/media.m3u8"
    wait_until(lambda: len(parse_media(get(sc, media)[1].decode())[0]) >= 2, 30, "segments")
    seen = 0
    try:
        for _ in range(10):  # the segment may be complete already when the answer is written
            msn = parse_media(get(sc, media)[1].decode())[0][-1]["msn"] + 1
            text = get(sc, media + "?_HLS_msn=%d&_HLS_part=2" % msn)[1].decode()
            segs, tail, tags = parse_media(text)
            if segs[-1]["msn"] != msn - 1 or len(tail) != 3:
                continue
            hint = attrs(tags["#EXT-X-PRELOAD-HINT"])["URI"]
            assert hint == "part-%d.0.m4s" % (msn + 1), text
            assert get(sc, base + "/360p/part-%d.3.m4s" % msn, timeout=1)[0] == 404
            status, data = get(sc, base + "/360p/" + hint)
            assert status == 200 and data[4:8] == b"moof"
            status, body = get(sc, media + "?_HLS_msn=%d&_HLS_part=3" % msn)
            assert status == 200 and ('"%s"' % hint).encode() in body, body
            seen += 1
    finally:
        pub.kill()
        pub.wait()
    assert seen, "never saw a segment with all its parts before its end"


def test_blocking_request_gives_up_when_media_stops(hls_server, h264_clips):
    """A publisher still connected but sending nothing: the request for the next segment is held
    at most three target durations (RFC 8216bis 6.2.5.2), then answered 503."""
    from rtmp_client import Publisher
    sc = hls_server
    s = sc.create_stream("Apples, then silence")
    pub = Publisher("127.0.0.1", sc.rtmp_port)
    assert pub.publish(s["key"])
    pub.send_media(h264_clips[0], "avc", pace=True)
    media = "/hls/%s/360p/media.m3u8" % s["id"]

    def settled():  # the worker has packaged all it will from what was sent
        before = get(sc, media)[1]
        time.sleep(1)
        return b"seg-" in before and get(sc, media)[1] == before

    wait_until(settled, 20, "the window to stop changing")
    segs, _, _ = parse_media(get(sc, media)[1].decode())
    status, _ = get(sc, media + "?_HLS_msn=%d" % (segs[-1]["msn"] + 1), timeout=30)
    assert status == 503
    assert sc.stream(s["id"])["live"], "the publisher is still connected"
    pub.unpublish(s["key"])


def probe_frames(url, stream):
    out = subprocess.run(["ffprobe", "-v", "error", "-select_streams", stream, "-show_entries",
                          "stream=width,height:frame=pts_time", "-of", "json", url],
                         check=True, capture_output=True, text=True, timeout=120).stdout
    return json.loads(out)


def test_ffmpeg_reads_every_rung_start_to_end(hls_server):
    sc = hls_server
    s, pub, base = live_stream(sc, seconds=12)
    assert pub.wait(timeout=40) == 0
    # The grace time passes: the playlists end, and a plain HLS client reads them through.
    wait_until(lambda: b"#EXT-X-ENDLIST" in get(sc, base + "/360p/media.m3u8")[1], 20, "ENDLIST")
    for rung, (w, h) in (("720p", (1280, 720)), ("360p", (640, 360))):
        info = probe_frames("http://127.0.0.1:%d%s/%s/media.m3u8" % (sc.http_port, base, rung),
                            "v:0")
        assert (info["streams"][0]["width"], info["streams"][0]["height"]) == (w, h)
        pts = [float(f["pts_time"]) for f in info["frames"]]
        assert len(pts) >= 10 * 30  # most of the 12 s: playlists start at the first keyframe
        gaps = [b - a for a, b in zip(pts, pts[1:])]
        assert max(gaps) < 1.5 / 30, "a gap in PTS"
        assert min(gaps) > 0
    out = subprocess.run(["ffmpeg", "-v", "error", "-i",
                          "http://127.0.0.1:%d%s/master.m3u8" % (sc.http_port, base),
                          "-map", "0:v:0", "-map", "0:a:0", "-f", "null", "-"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr


def test_reconnect_continues_playlists_with_discontinuity(shopcast_factory):
    sc = shopcast_factory("--grace", "30")
    s = sc.create_stream()
    base = "/hls/%s" % s["id"]
    assert publish(sc.rtmp_url(s["key"]), seconds=5, size="640x360").wait(timeout=30) == 0
    media = base + "/360p/media.m3u8"
    before, _, _ = parse_media(get(sc, media)[1].decode())
    # While the publisher is away the "back soon" slate keeps the playlists moving.
    wait_until(lambda: len(parse_media(get(sc, media)[1].decode())[0]) >= len(before) + 3, 15,
               "slate segments")
    assert publish(sc.rtmp_url(s["key"]), seconds=5, size="640x360").wait(timeout=30) == 0
    wait_until(lambda: len(parse_media(get(sc, media)[1].decode())[0]) > len(before) + 3, 20,
               "segments after the reconnect")
    after, _, _ = parse_media(get(sc, media)[1].decode())
    msns = [x["msn"] for x in after]
    assert msns == list(range(msns[0], msns[0] + len(msns)))
    assert msns[0] <= before[0]["msn"] and msns[-1] > before[-1]["msn"]
    assert any(x["discontinuity"] for x in after), "no EXT-X-DISCONTINUITY at the reconnect"
    # Both sessions' media play through the discontinuity.
    out = subprocess.run(["ffmpeg", "-v", "error", "-live_start_index", "0", "-i",
                          "http://127.0.0.1:%d%s" % (sc.http_port, media), "-t", "8",
                          "-f", "null", "-"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_ended_window_is_released_then_the_stream_comes_back(shopcast_factory):
    """An ended stream's window serves late viewers for hls-ended-keep seconds, then its memory
    is freed and its URLs answer 404; when the seller returns, numbering continues after a
    discontinuity."""
    sc = shopcast_factory("--grace", "1", "--hls-ended-keep", "6")
    s = sc.create_stream()
    base = "/hls/%s" % s["id"]
    media = base + "/360p/media.m3u8"
    assert publish(sc.rtmp_url(s["key"]), seconds=4, size="640x360").wait(timeout=30) == 0
    wait_until(lambda: b"#EXT-X-ENDLIST" in get(sc, media)[1], 20, "ENDLIST")
    text = get(sc, media)[1].decode()
    segs, _, tags = parse_media(text)
    init = attrs(tags["#EXT-X-MAP"])["URI"]
    urls = [base + "/master.m3u8", media, base + "/360p/" + segs[-1]["uri"], base + "/360p/" + init]
    assert [get(sc, u)[0] for u in urls] == [200] * 4, "kept for late viewers"
    wait_until(lambda: get(sc, base + "/master.m3u8")[0] == 404, 20, "the window released")
    assert [get(sc, u)[0] for u in urls] == [404] * 4
    assert "event=hls_released stream=%s" % s["id"] in sc.read_log()

    p = publish(sc.rtmp_url(s["key"]), seconds=5, size="640x360")
    wait_until(lambda: b"seg-" in get(sc, media)[1], 20, "segments after the return")
    again, _, tags = parse_media(get(sc, media)[1].decode())
    assert again[0]["msn"] > segs[-1]["msn"], "numbering continues"
    assert int(tags["#EXT-X-DISCONTINUITY-SEQUENCE"]) > 0
    assert p.wait(timeout=30) == 0


def test_mp3_audio_is_transcoded_to_aac(hls_server):
    sc = hls_server
    s = sc.create_stream("Apples, older encoder")
    p = publish(sc.rtmp_url(s["key"]), seconds=6, size="640x360", rate=44100,
                extra=["-c:a", "libmp3lame"])
    assert p.wait(timeout=30) == 0
    url = "http://127.0.0.1:%d/hls/%s/360p/media.m3u8" % (sc.http_port, s["id"])
    wait_until(lambda: b"#EXT-X-ENDLIST" in get(sc, "/hls/%s/360p/media.m3u8" % s["id"])[1], 20,
               "ENDLIST")
    info = json.loads(subprocess.run(["ffprobe", "-v", "error", "-show_streams", "-of", "json",
                                      url], check=True, capture_output=True, text=True).stdout)
    audio = [x for x in info["streams"] if x["codec_type"] == "audio"]
    assert audio and audio[0]["codec_name"] == "aac" and int(audio[0]["sample_rate"]) == 44100
    out = subprocess.run(["ffmpeg", "-v", "error", "-i", url, "-map", "0:a", "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0 and not out.stderr, out.stderr


@pytest.fixture(scope="module")
def h264_clips(tmp_path_factory):
    """Two real H.264+AAC clips of different sizes, as a publisher switching resolution sends."""
    from rtmp_client import extract
    clips = []
    for size in ("640x360", "426x240"):
        path = str(tmp_path_factory.mktemp("clip") / ("%s.mp4" % size))
        subprocess.run(["ffmpeg", "-v", "error", "-nostdin", "-y", "-f", "lavfi", "-i",
                        "testsrc2=size=%s:rate=30" % size, "-f", "lavfi", "-i",
                        "sine=sample_rate=48000", "-t", "4", "-c:v", "libx264", "-preset",
                        "veryfast", "-bf", "0", "-g", "30", "-c:a", "aac", "-ac", "2", path],
                       check=True)
        clips.append(extract(path))
    return clips


def test_resolution_change_and_broken_input_recover(hls_server, h264_clips):
    from rtmp_client import Publisher
    sc = hls_server
    s = sc.create_stream("Edible fungus")
    pub = Publisher("127.0.0.1", sc.rtmp_port)
    assert pub.publish(s["key"])
    # 1) clean 360p; 2) the same clip with corrupt NAL units and a timestamp jumping back;
    # 3) a switch to 240p with a new sequence header mid-session.
    end = pub.send_media(h264_clips[0], "avc", pace=True)

    def corrupt(ts, kind, body):
        if kind == 9 and len(body) > 40 and (ts // 33) % 7 == 3:
            return body[:5] + bytes(b ^ 0x5A for b in body[5:])
        return body

    end = pub.send_media(h264_clips[0], "avc", offset=end - 500, mangle=corrupt, pace=True)
    pub.send_media(h264_clips[1], "avc", offset=end + 40, pace=True)
    media = "/hls/%s/360p/media.m3u8" % s["id"]
    wait_until(lambda: get(sc, media)[1].count(b"#EXT-X-MAP") >= 2, 20, "a new init segment")
    text = get(sc, media)[1].decode()
    assert text.count("#EXT-X-MAP") >= 2, "a new init segment after the resolution change"
    assert "#EXT-X-DISCONTINUITY" in text
    pub.unpublish(s["key"])
    wait_until(lambda: b"#EXT-X-ENDLIST" in get(sc, media)[1], 20, "ENDLIST")
    st = sc.stream(s["id"])
    assert st["renditions"][0]["height"] == 240
    # Every segment in the window decodes, across both sizes.
    out = subprocess.run(["ffmpeg", "-v", "error", "-i",
                          "http://127.0.0.1:%d%s" % (sc.http_port, media), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_video_without_sps_pps_waits_for_them(hls_server, h264_clips):
    """Frames before any sequence header cannot be decoded: they are skipped, nothing crashes,
    and the stream starts at the first keyframe after SPS/PPS arrive."""
    from rtmp_client import Publisher
    sc = hls_server
    s = sc.create_stream("Honey, no SPS yet")
    pub = Publisher("127.0.0.1", sc.rtmp_port)
    assert pub.publish(s["key"])
    end = pub.send_media(h264_clips[0], "avc", pace=True, config=False)
    master = "/hls/%s/master.m3u8" % s["id"]
    assert sc.stream(s["id"])["live"]
    pub.send_media(h264_clips[0], "avc", offset=end + 40, pace=True)
    media = "/hls/%s/360p/media.m3u8" % s["id"]
    wait_until(lambda: get(sc, master)[0] == 200 and b"seg-" in get(sc, media)[1], 20,
               "HLS once SPS/PPS arrived")
    pub.unpublish(s["key"])
    wait_until(lambda: b"#EXT-X-ENDLIST" in get(sc, media)[1], 20, "ENDLIST")
    assert sc.stream(s["id"])["renditions"][0]["height"] == 360
    out = subprocess.run(["ffmpeg", "-v", "error", "-i",
                          "http://127.0.0.1:%d%s" % (sc.http_port, media), "-f", "null", "-"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr


def test_recording_becomes_vod_hls(shopcast_factory):
    sc = shopcast_factory("--grace", "2")  # the factory records (--record on)
    s = sc.create_stream("Wild honey, recorded")
    assert publish(sc.rtmp_url(s["key"]), seconds=6, size="640x360").wait(timeout=30) == 0
    recs = wait_until(lambda: sc.request("GET", "/api/v1/streams/%s/recordings" % s["id"])[1]
                      .get("recordings"), 15, "a recording listed")
    url = "http://127.0.0.1:%d%s" % (sc.http_port, recs[0]["vod_url"])
    media_path = recs[0]["vod_url"].replace("master.m3u8", "360p/media.m3u8")
    # The worker ends the session once it has handled what was queued before the disconnect.
    wait_until(lambda: b"#EXT-X-ENDLIST" in get(sc, media_path)[1], 15, "VOD playlist ended")
    assert "#EXT-X-PART" not in get(sc, media_path)[1].decode()
    # The whole session is there and plays: every frame the publisher sent.
    frames = subprocess.run(["ffprobe", "-v", "error", "-count_frames", "-select_streams", "v:0",
                             "-show_entries", "stream=nb_read_frames", "-of", "csv=p=0", url],
                            check=True, capture_output=True, text=True).stdout.split()
    assert frames and all(int(n) == 6 * 30 for n in frames), frames
    assert get(sc, recs[0]["vod_url"].replace("master.m3u8", "360p/../../x"))[0] == 404
    # Files come from the disk through the thread pool: a missing one is a 404, a present one
    # arrives whole, byte for byte.
    assert get(sc, recs[0]["vod_url"].replace("master.m3u8", "360p/seg-1.m4s"))[0] == 404
    seg = re.search(r"^(seg-\d+\.m4s)$", get(sc, media_path)[1].decode(), re.M).group(1)
    status, body = get(sc, media_path.replace("media.m3u8", seg))
    on_disk = os.path.join(sc.data_dir, "recordings", s["id"], recs[0]["session"], "360p", seg)
    assert status == 200 and body == open(on_disk, "rb").read()
    assert get(sc, "/static/nosuch.js")[0] == 404
    assert get(sc, "/static/watch.js")[0] == 200
