"""/metrics against the real binary, a real Redis and a real ffmpeg publisher: the text is the
Prometheus exposition format 0.0.4 (read by a strict parser of our own and by Debian's
python3-prometheus-client), every family has # HELP and # TYPE, and the counters move when
orders are placed, answered and refused."""
import asyncio
import re
import uuid

from prometheus_client.parser import text_string_to_metric_families

from conftest import wait_until
from media import publish
from test_signal import close_code, connect, run, subscribe

NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
LABEL = r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\[\\"n])*)"'
SAMPLE = re.compile(r"^(%s)(?:\{((?:%s)(?:,%s)*)?\})? (\S+)$" % (NAME, LABEL, LABEL))
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
SUFFIXES = {"histogram": ("_bucket", "_sum", "_count"), "summary": ("_sum", "_count", "")}


def unescape(v):
    return re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)


def strict_parse(text):
    """{family: {"help", "type", "samples": [(name, {labels}, value)]}}; raises on anything the
    format 0.0.4 does not allow or that a family lacks (HELP and TYPE, before its samples)."""
    assert text.endswith("\n"), "the last line ends with a newline"
    fams, current, seen = {}, None, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d: %r" % (n, line)
        if line.startswith("# HELP "):
            name, _, help_ = line[7:].partition(" ")
            assert re.fullmatch(NAME, name) and help_.strip(), where
            assert name not in fams, "family %s declared twice: %s" % (name, where)
            fams[name] = {"help": help_, "type": None, "samples": []}
            current = name
        elif line.startswith("# TYPE "):
            name, _, kind = line[7:].partition(" ")
            assert name == current and fams[name]["type"] is None, "TYPE after its HELP: " + where
            assert kind in TYPES, where
            fams[name]["type"] = kind
        elif line.startswith("#") or not line.strip():
            raise AssertionError("a comment or blank line we never write: " + where)
        else:
            m = SAMPLE.match(line)
            assert m, "not a sample: " + where
            name, value = m.group(1), m.group(m.lastindex)
            assert current and fams[current]["type"], "a sample before HELP and TYPE: " + where
            kind = fams[current]["type"]
            assert name in [current + s for s in SUFFIXES.get(kind, ("",))], \
                "sample %s outside its family %s" % (name, current)
            labels = {k: unescape(v) for k, v in re.findall(LABEL, m.group(2) or "")}
            float(value)  # "+Inf", "NaN" and numbers
            key = (name, tuple(sorted(labels.items())))
            assert key not in seen, "series twice: " + where
            seen.add(key)
            fams[current]["samples"].append((name, labels, float(value)))
    for name, fam in fams.items():
        assert fam["type"], "family %s has no TYPE" % name
    return fams


def metrics(sc):
    status, body = sc.request("GET", "/metrics")
    assert status == 200
    return body.decode()


def value(fams, family, name=None, **labels):
    for n, l, v in fams[family]["samples"]:
        if n == (name or family) and all(l.get(k) == x for k, x in labels.items()):
            return v
    raise AssertionError("no %s %s in %s" % (name or family, labels, fams[family]["samples"]))


def check_histograms(fams):
    for family, fam in fams.items():
        if fam["type"] != "histogram":
            continue
        series = {}
        for n, l, v in fam["samples"]:
            rest = tuple(sorted((k, x) for k, x in l.items() if k != "le"))
            series.setdefault(rest, {})[n[len(family):] + l.get("le", "")] = v
        for rest, s in series.items():
            les = sorted((float(k[7:]), v) for k, v in s.items() if k.startswith("_bucket"))
            assert les[-1][0] == float("inf"), (family, rest)
            assert all(a[1] <= b[1] for a, b in zip(les, les[1:])), (family, rest, les)
            assert les[-1][1] == s["_count"], (family, rest, s)
            assert s["_sum"] >= 0, (family, rest)


def test_every_family_has_help_and_type_and_parses(shopcast):
    s = shopcast.create_stream("Metrics on air")
    pub = publish(shopcast.rtmp_url(s["key"]), seconds=30)
    try:
        wait_until(lambda: len(shopcast.stream(s["id"])["renditions"]) >= 1 and
                   shopcast.stream(s["id"])["renditions"][0]["part_ready_ms"]["p50"] > 0, 40,
                   "parts made")
        wait_until(lambda: (shopcast.stream(s["id"])["video"] or {}).get("bitrate_kbps", 0) > 0
                   and shopcast.stream(s["id"])["video"]["keyframe_interval_s"] > 0, 20,
                   "a measured bitrate and keyframe interval")
        text = metrics(shopcast)
        rends = shopcast.stream(s["id"])["renditions"]
    finally:
        pub.kill()
        pub.wait()
    # part-ready latency in its stages: arrival to the worker's queue's end, the work, the handoff
    for r in rends:
        pr = r["part_ready_ms"]
        for stage in ("queue", "work", "handoff"):
            assert 0 <= pr[stage]["p50"] <= pr[stage]["p95"], (r["name"], pr)
            assert pr[stage]["p50"] <= pr["p95"], (r["name"], pr)  # no stage beyond the whole
        assert pr["work"]["p50"] > 0, (r["name"], pr)  # decoding and encoding take time
        # what a frame costs the worker: the source's stages, and the rung's own
        fm = r["frame_ms"]
        assert fm["decode"] > 0 and fm["scale_encode"] > 0, (r["name"], fm)
        assert fm["convert"] >= 0 and fm["compose"] >= 0, (r["name"], fm)
        assert {k: fm[k] for k in ("decode", "convert", "compose")} == \
            {k: rends[0]["frame_ms"][k] for k in ("decode", "convert", "compose")}, rends
    fams = strict_parse(text)
    # the same text through the reference parser: the same families
    parsed = {f.name: f for f in text_string_to_metric_families(text)}
    assert {n[:-6] if n.endswith("_total") else n for n in fams} == set(parsed)
    for name in ("shopcast_streams", "shopcast_streams_live", "shopcast_streams_on_air",
                 "shopcast_ingest_kbps", "shopcast_ingest_fps",
                 "shopcast_ingest_keyframe_interval_seconds", "shopcast_encoder_speed",
                 "shopcast_stream_dropped_total", "shopcast_part_ready_seconds",
                 "shopcast_http_requests_total", "shopcast_orders_total", "shopcast_redis_up",
                 "shopcast_redis_reconnects_total", "shopcast_redis_timeouts_total",
                 "shopcast_stream_viewers", "shopcast_ws_clients", "shopcast_ws_messages_total",
                 "shopcast_ws_closed_total", "shopcast_ws_resumes_total"):
        assert name in fams, name
    sid = s["id"]
    assert value(fams, "shopcast_streams") >= 1 and value(fams, "shopcast_streams_live") == 1
    assert value(fams, "shopcast_ingest_kbps", stream=sid) > 0
    assert 20 < value(fams, "shopcast_ingest_fps", stream=sid) < 40
    assert 1 <= value(fams, "shopcast_ingest_keyframe_interval_seconds", stream=sid) <= 3
    assert value(fams, "shopcast_encoder_speed", stream=sid, rung="360p") > 0
    assert value(fams, "shopcast_stream_dropped_total", stream=sid, reason="queue_full") >= 0
    count = value(fams, "shopcast_part_ready_seconds", "shopcast_part_ready_seconds_count",
                  stream=sid, rung="360p")
    assert count > 0
    assert value(fams, "shopcast_part_ready_seconds", "shopcast_part_ready_seconds_bucket",
                 stream=sid, rung="360p", le="0.8") <= count
    check_histograms(fams)
    assert parsed["shopcast_part_ready_seconds"].type == "histogram"


def test_http_requests_are_counted_by_status_class(shopcast):
    before = strict_parse(metrics(shopcast))
    for _ in range(3):
        assert shopcast.request("GET", "/api/v1/streams/nosuchstream")[0] == 404
    after = strict_parse(metrics(shopcast))
    got = {c: value(after, "shopcast_http_requests_total", code=c) -
           value(before, "shopcast_http_requests_total", code=c) for c in ("2xx", "4xx", "5xx")}
    assert got["4xx"] == 3, got
    assert got["2xx"] >= 1, got  # the first /metrics itself
    assert got["5xx"] == 0, got


def order(sc, sid, oid, qty=1, price=None):
    body = {"order_id": oid, "product": "jar", "qty": qty}
    if price is not None:
        body["price"] = price
    return sc.request("POST", "/api/v1/streams/%s/orders" % sid, body)


def test_order_counters_move_with_real_orders(shopcast):
    sid = shopcast.create_stream("Orders counted")["id"]
    st, body = shopcast.request("POST", "/api/v1/streams/%s/products" % sid,
                                {"id": "jar", "name": "Honey jar", "price": 1500,
                                 "currency": "CNY", "stock": 5}, shopcast.token)
    assert st == 201, body
    results = ("counted", "duplicate", "sold_out", "price_changed", "refused")
    before = strict_parse(metrics(shopcast))
    o = uuid.uuid4().hex[:10]
    assert order(shopcast, sid, o + "-1", 2)[0] == 201
    assert order(shopcast, sid, o + "-2", 1, 1500)[0] == 201
    assert order(shopcast, sid, o + "-1", 2)[0] == 200          # the same order again
    assert order(shopcast, sid, o + "-3", 3)[0] == 409          # 2 left
    assert order(shopcast, sid, o + "-4", 1, 999)[1]["error"] == "price_changed"
    assert order(shopcast, sid, o + "-1", 1)[1]["error"] == "order_id_reused"
    after = strict_parse(metrics(shopcast))
    got = {r: value(after, "shopcast_orders_total", result=r) -
           value(before, "shopcast_orders_total", result=r) for r in results}
    assert got == {"counted": 2, "duplicate": 1, "sold_out": 1, "price_changed": 1,
                   "refused": 1}, got
    assert value(after, "shopcast_orders_total", result="unavailable") == 0


def test_label_values_are_escaped_by_the_parser_rules():
    """The strict parser itself refuses what the format forbids (so a pass above means
    something): an unescaped quote, a sample before its TYPE, a family without HELP."""
    good = '# HELP a_total x\n# TYPE a_total counter\na_total{s="q\\"\\\\\\n"} 1\n'
    assert strict_parse(good)["a_total"]["samples"][0][1] == {"s": 'q"\\\n'}
    for bad in ('# HELP a x\n# TYPE a gauge\na{s="q"x"} 1\n',
                '# HELP a x\na 1\n# TYPE a gauge\n',
                '# TYPE a gauge\na 1\n',
                '# HELP a x\n# TYPE a gauge\na 1\na 2\n'):
        try:
            strict_parse(bad)
        except AssertionError:
            continue
        raise AssertionError("accepted: %r" % bad)


def test_websocket_figures_move_with_real_clients(shopcast):
    """A viewer and an operator on /ws: the clients by role, the stream's viewers, the messages
    both ways; an operator with a wrong token is closed 4401 and counted."""
    sid = shopcast.create_stream("On the live channel")["id"]

    async def go():
        before = strict_parse(metrics(shopcast))
        viewer, _ = await subscribe(shopcast, sid)
        operator, hello = await subscribe(shopcast, sid, "operator", shopcast.token)
        assert "health" in hello, hello
        bad = await connect(shopcast)
        await bad.send('{"type":"subscribe","stream":"%s","role":"operator","token":"x"}' % sid)
        assert await close_code(bad) == 4401
        await asyncio.sleep(1.2)  # the viewers figure is counted on the 1 Hz tick
        during = strict_parse(metrics(shopcast))
        await viewer.close()
        await operator.close()
        return before, during
    before, during = run(go())
    d = lambda fam, **l: value(during, fam, **l) - value(before, fam, **l)
    assert value(during, "shopcast_ws_clients", role="viewer") == 1
    assert value(during, "shopcast_ws_clients", role="operator") == 1
    assert value(during, "shopcast_stream_viewers", stream=sid) == 1
    assert d("shopcast_ws_connections_total", result="accepted") == 3
    assert d("shopcast_ws_messages_total", direction="in") == 3
    assert d("shopcast_ws_messages_total", direction="out") >= 2  # the two hellos at least
    assert d("shopcast_ws_closed_total", reason="forbidden") == 1
    assert value(during, "shopcast_ws_sent_bytes_total") > 0
