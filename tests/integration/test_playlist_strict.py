"""Every kind of playlist shopcast serves passes a strict parse (hls-parser in strict mode, run
by tests/browser/strict_parse.mjs): master, media, blocking reloads (_HLS_msn, _HLS_part), delta
updates (_HLS_skip=YES) and the ended playlists once the publisher left and the grace ran out.
Beside the parser, the rules of RFC 8216bis it does not check: every hinted part is served, and
a blocking reload answers with the part asked for or, past a segment's last part, the next
segment's first."""
import json
import os
import re
import subprocess

from conftest import ROOT, wait_until
from test_hls import attrs, get, live_stream, parse_media

STRICT = os.path.join(ROOT, "tests", "browser", "strict_parse.mjs")
RUNGS = ("720p", "360p")


def strict_parse(playlists):
    """{name: text} -> {name: what strict_parse.mjs reports}."""
    items = [{"name": k, "text": v} for k, v in playlists.items()]
    out = subprocess.run(["node", STRICT], input=json.dumps(items), capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    return {r["name"]: r for r in json.loads(out.stdout)}


def hint_of(text):
    line = [l for l in text.splitlines() if l.startswith("#EXT-X-PRELOAD-HINT:")]
    return attrs(line[0].split(":", 1)[1])["URI"] if line else None


def part_pos(uri):
    m = re.match(r"part-(\d+)\.(\d+)\.m4s$", uri)
    return int(m.group(1)), int(m.group(2))


def last_part(text):
    """(msn, index) of the last EXT-X-PART."""
    uris = re.findall(r'#EXT-X-PART:[^\n]*URI="([^"]+)"', text)
    return part_pos(uris[-1])


def check_parts_near_the_end(name, text):
    """No segment that lists parts starts more than three target durations before the end."""
    segs, tail, tags = parse_media(text)
    td = int(tags["#EXT-X-TARGETDURATION"])
    start = -sum(p[1] for p in tail)  # seconds before the end, walking back
    if tail:
        assert start >= -3 * td - 1e-6, (name, text)
    for seg in reversed(segs):
        start -= seg["duration"]
        if seg["parts"]:
            assert start >= -3 * td - 1e-6, (name, seg["msn"], text)


def live_playlist(sc, base, rung, query=""):
    """A live media playlist; the part it hints is fetched at once, and must be served (held
    until it exists, RFC 8216bis 6.2.6)."""
    status, body = get(sc, "%s/%s/media.m3u8%s" % (base, rung, query))
    assert status == 200, (query, body)
    text = body.decode()
    hint = hint_of(text)
    status, data = get(sc, "%s/%s/%s" % (base, rung, hint))
    assert status == 200 and data[4:8] == b"moof", (query, hint, data[:200])
    return text


def blocking_reloads(sc, base, rung, n):
    """n blocking reloads in a row, as a low-latency player makes them: alternately for the hinted
    part and for the one after the last listed part. Checks each answer holds what it asked for."""
    text = live_playlist(sc, base, rung)
    got = {}
    for i in range(n):
        msn, part = part_pos(hint_of(text)) if i % 2 == 0 else last_part(text)
        part += i % 2
        text = live_playlist(sc, base, rung, "?_HLS_msn=%d&_HLS_part=%d" % (msn, part))
        assert ('"part-%d.%d.m4s"' % (msn, part) in text or
                '"part-%d.0.m4s"' % (msn + 1) in text), (msn, part, text)
        got["%s blocking %d.%d" % (rung, msn, part)] = text
    return got


def test_every_playlist_kind_passes_a_strict_parse(shopcast_factory):
    sc = shopcast_factory("--grace", "2")
    s, pub, base = live_stream(sc, seconds=60)
    try:
        # More than CAN-SKIP-UNTIL (6 target durations) of media, so that a delta skips.
        wait_until(lambda: len(parse_media(get(sc, base + "/720p/media.m3u8")[1].decode())[0])
                   >= 8, 90, "eight segments")
        live = {"master": get(sc, base + "/master.m3u8")[1].decode()}
        for rung in RUNGS:
            live[rung + " media"] = live_playlist(sc, base, rung)
            live[rung + " delta"] = live_playlist(sc, base, rung, "?_HLS_skip=YES")
            live.update(blocking_reloads(sc, base, rung, 12))
            msn = parse_media(live[rung + " media"])[0][-1]["msn"] + 2
            live[rung + " blocking delta %d" % msn] = live_playlist(
                sc, base, rung, "?_HLS_msn=%d&_HLS_skip=YES" % msn)
    finally:
        pub.kill()  # the publisher leaves; the slate runs for the grace, then the stream ends
        pub.wait()

    ended = {}
    media = base + "/720p/media.m3u8"
    wait_until(lambda: b"#EXT-X-ENDLIST" in get(sc, media)[1], 30, "the end of the stream")
    ended["ended master"] = get(sc, base + "/master.m3u8")[1].decode()
    for rung in RUNGS:
        media = "%s/%s/media.m3u8" % (base, rung)
        ended[rung + " ended"] = get(sc, media)[1].decode()
        # Once ended, delivery directives are ignored (6.2.5.1, 6.2.5.2): answered at once.
        for q in ("_HLS_skip=YES", "_HLS_msn=1&_HLS_part=1"):
            status, body = get(sc, media + "?" + q)
            assert status == 200, (q, body)
            ended["%s ended %s" % (rung, q)] = body.decode()

    results = strict_parse(dict(live, **ended))
    bad = {k: v["error"] for k, v in results.items() if not v["ok"]}
    assert not bad, bad
    assert results["master"]["master"] and results["master"]["variants"] == 2
    for name, r in results.items():
        if r["master"]:
            continue
        if "ended" in name:
            assert r["endlist"] and r["hint"] is None and r["parts"] == 0, (name, r)
            continue
        check_parts_near_the_end(name, live[name])
        assert r["parts"] > 0 and r["hint"] and r["reports"] == 1, (name, r)
        assert not r["endlist"], (name, r)
        assert (r["skip"] > 0) == ("delta" in name), (name, r)
