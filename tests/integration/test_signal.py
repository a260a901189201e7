"""The WebSocket channel (/ws, shopcast.v1; proto/SIGNAL.md) against the real binary, a real Redis
and the real ffmpeg CLI publishing: hello, stamped card events, orders, merged sold and viewers,
media notices, stream states, resume (recovered, trimmed, another epoch), and every kind of bad
input, each answered with its error or close code while other clients carry on."""
import asyncio
import http.client
import json
import socket
import time
import urllib.request

import pytest
import websockets
from websockets.exceptions import ConnectionClosed, InvalidStatusCode

from conftest import wait_until
from media import publish
from test_catalog import HONEY, call, products_path

SUB = ["shopcast.v1"]
# the opening handshake of a bare-socket client (RFC 6455 4.1)
UPGRADE = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
           b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
           b"Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: shopcast.v1\r\n\r\n")


def ws_url(sc):
    return "ws://127.0.0.1:%d/ws" % sc.http_port


async def connect(sc, **kw):
    kw.setdefault("subprotocols", SUB)
    return await websockets.connect(ws_url(sc), max_size=1 << 20, ping_interval=None, **kw)


async def recv(ws, timeout=10):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def until(ws, pred, timeout=20, what="a message"):
    """Reads until a message satisfies pred; returns it and everything read before it."""
    seen, end = [], time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0:
            raise AssertionError("no %s in %.0f s; got %s" % (
                what, timeout, [m for m in seen if m["type"] not in ("part", "segment")][-8:]))
        try:
            m = await recv(ws, left)
        except asyncio.TimeoutError:
            continue
        seen.append(m)
        if pred(m):
            return m, seen


async def subscribe(sc, sid, role="viewer", token=None, **kw):
    ws = await connect(sc, **kw)
    msg = {"type": "subscribe", "stream": sid, "role": role}
    if token:
        msg["token"] = token
    await ws.send(json.dumps(msg))
    hello = await recv(ws)
    assert hello["type"] == "hello", hello
    return ws, hello


async def close_code(ws, timeout=10):
    try:
        while True:
            await asyncio.wait_for(ws.recv(), timeout)
    except ConnectionClosed as e:
        return e.rcvd.code if e.rcvd else None


def run(coro):
    return asyncio.run(asyncio.wait_for(coro, 120))


def order(sc, sid, oid, qty=1, product="honey"):
    status, _, body = call(sc, "POST", "/api/v1/streams/%s/orders" % sid,
                           {"order_id": oid, "product": product, "qty": qty})
    assert status == 201, body
    return body


@pytest.fixture
def shop(shopcast):
    sid = shopcast.create_stream()["id"]
    status, _, p = call(shopcast, "POST", products_path(sid), dict(HONEY, stock=1000))
    assert status == 201, p
    return shopcast, sid


@pytest.fixture
def shop_with_key(shopcast):
    body = shopcast.create_stream()
    sid = body["id"]
    status, _, p = call(shopcast, "POST", products_path(sid), dict(HONEY, stock=1000))
    assert status == 201, p
    return shopcast, sid, body["key"]


def go_live(sc, sid, key, seconds=60, picture=None):
    kw = {"picture": picture} if picture else {}
    pub = publish(sc.rtmp_url(key), seconds=seconds, size="640x360", **kw)
    wait_until(lambda: sc.stream(sid).get("live"), 20, "stream live")
    return pub


def playlist_ok(url, ua="shopcast-test"):
    try:
        req = urllib.request.Request(url, headers={"User-Agent": ua})
        return urllib.request.urlopen(req, timeout=10).status == 200
    except OSError:
        return False


def pin(sc, sid, product="honey"):
    status, _, body = call(sc, "PUT", "/api/v1/streams/%s/pinned" % sid, {"product": product})
    assert status == 200, body


# ---- hello and the events ----

def test_hello_is_a_full_snapshot(shop):
    sc, sid = shop

    async def go():
        ws, hello = await subscribe(sc, sid)
        assert hello["stream"] == sid and hello["role"] == "viewer"
        assert isinstance(hello["epoch"], str) and hello["epoch"]
        assert isinstance(hello["offset"], int)
        assert hello["state"] == "offline" and hello["title"] == "Wild mountain honey"
        for k in ("card", "stamp", "viewers", "rungs", "last_part", "last_segment", "server_ms"):
            assert k in hello, k
        assert "health" not in hello and "recovered" not in hello
        assert abs(hello["server_ms"] - time.time() * 1000) < 5000
        await ws.close()

    run(go())


def test_orders_reach_every_client_in_order_with_offsets(shop):
    sc, sid = shop

    async def go():
        a, ha = await subscribe(sc, sid)
        b, hb = await subscribe(sc, sid)
        assert ha["epoch"] == hb["epoch"]
        for i in range(5):
            order(sc, sid, "o%d" % i, qty=i + 1)
        for ws, h in ((a, ha), (b, hb)):
            got = []
            while len(got) < 5:
                m = await recv(ws)
                assert m["epoch"] == h["epoch"] and m["stream"] == sid
                if m["type"] == "order":
                    got.append(m)
            assert [m["qty"] for m in got] == [1, 2, 3, 4, 5]
            assert all(m["product"] == "honey" and "buyer" not in m and "order_id" not in m
                       for m in got)
            offs = [m["offset"] for m in got]
            assert offs == sorted(offs) and offs[0] > h["offset"]
            await ws.close()

    run(go())


def test_card_events_carry_the_frame_that_shows_them(shop_with_key):
    sc, sid, key = shop_with_key
    pub = go_live(sc, sid, key)

    async def go():
        ws, hello = await subscribe(sc, sid)
        assert hello["state"] == "live"
        pin(sc, sid)
        m, _ = await until(ws, lambda m: m["type"] == "product" and m["card"]["pinned"],
                           what="product event")
        card = m["card"]
        assert card["product"]["id"] == "honey" and card["product"]["name"] == HONEY["name"]
        assert card["product"]["price"] == HONEY["price"] and card["stock"] == 1000
        assert m["seq"] > 0 and m["pts_ms"] >= 0
        assert abs(m["pdt_ms"] - time.time() * 1000) < 10000
        # the same frame's date range in the playlists carries the same seq
        text = urllib.request.urlopen("http://127.0.0.1:%d/hls/%s/360p/media.m3u8"
                                      % (sc.http_port, sid), timeout=10).read().decode()
        assert 'X-SEQ=%d' % m["seq"] in text
        order(sc, sid, "s1", qty=2)
        s, _ = await until(ws, lambda m: m["type"] == "sold", what="sold event")
        assert (s["product"], s["sold"], s["stock"]) == ("honey", 2, 998)
        assert s["seq"] > m["seq"]
        await ws.close()

    try:
        run(go())
    finally:
        pub.kill()


def test_sold_is_merged_to_ten_a_second(shop_with_key):
    sc, sid, key = shop_with_key
    pub = go_live(sc, sid, key)
    pin(sc, sid)

    async def go():
        ws, _ = await subscribe(sc, sid)
        await until(ws, lambda m: m["type"] == "product" and m["card"]["pinned"],
                    what="the card on the frames")
        t0 = time.monotonic()
        loop = asyncio.get_running_loop()
        for i in range(60):
            await loop.run_in_executor(None, order, sc, sid, "m%d" % i)
        sold = []
        m, seen = await until(ws, lambda m: m["type"] == "sold" and m["sold"] == 60,
                              what="the last sold figure")
        span = time.monotonic() - t0
        sold = [x for x in seen if x["type"] == "sold"]
        # at most 10 a second (plus the first, sent at once), each the newest figure then
        assert len(sold) <= 10 * span + 2, (len(sold), span)
        assert [x["sold"] for x in sold] == sorted(x["sold"] for x in sold)
        assert len([x for x in seen if x["type"] == "order"]) == 60
        await ws.close()

    try:
        run(go())
    finally:
        pub.kill()


def test_media_notices_and_stream_states(shop_with_key):
    sc, sid, key = shop_with_key

    async def go():
        ws, hello = await subscribe(sc, sid)
        assert hello["state"] == "offline"
        pub = go_live(sc, sid, key, seconds=6)
        m, _ = await until(ws, lambda m: m["type"] == "stream" and m["state"] == "live",
                           what="live")
        p, _ = await until(ws, lambda m: m["type"] == "part", what="part")
        assert p["rung"] in ("720p", "360p") and p["duration"] > 0 and "offset" not in p
        assert isinstance(p["msn"], int) and p["part"] >= 0
        g, _ = await until(ws, lambda m: m["type"] == "segment", what="segment")
        assert g["duration"] > 0.5 and "part" not in g or g.get("part", -1) < 0
        pub.wait()
        s, _ = await until(ws, lambda m: m["type"] == "stream" and m["state"] == "slate",
                           what="slate")
        assert s["offset"] > m["offset"]
        # a page that joins now learns where the media is
        ws2, h2 = await subscribe(sc, sid)
        assert h2["state"] == "slate" and h2["last_part"] and h2["last_segment"]
        assert h2["last_part"]["rung"] in h2["rungs"]
        await ws.close()
        await ws2.close()

    run(go())


def test_viewers_count_websockets_and_hls_only_sessions(shop_with_key):
    sc, sid, key = shop_with_key
    pub = go_live(sc, sid, key)
    url = "http://127.0.0.1:%d/hls/%s/360p/media.m3u8" % (sc.http_port, sid)
    wait_until(lambda: playlist_ok(url, "player-one"), 20, "the playlist")

    async def players(stop):
        """Two HLS-only players (other User-Agents) reloading the playlist, as players do."""
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            for ua in ("player-one", "player-two"):
                await loop.run_in_executor(None, playlist_ok, url, ua)
            await asyncio.sleep(0.5)

    async def go():
        a, _ = await subscribe(sc, sid)
        stop = asyncio.Event()
        task = asyncio.create_task(players(stop))
        b, _ = await subscribe(sc, sid)
        await until(a, lambda m: m["type"] == "viewers" and m["count"] == 4, what="4 viewers")
        await b.close()
        await until(a, lambda m: m["type"] == "viewers" and m["count"] == 3, what="3 viewers")
        stop.set()
        await task
        # the players stopped: after their 10 s window and the next, only the WebSocket is left
        await until(a, lambda m: m["type"] == "viewers" and m["count"] == 1, timeout=30,
                    what="1 viewer")
        await a.close()

    try:
        run(go())
    finally:
        pub.kill()


def test_an_operator_gets_health_and_needs_the_token(shop_with_key):
    sc, sid, key = shop_with_key
    pub = go_live(sc, sid, key)

    async def go():
        ws, hello = await subscribe(sc, sid, role="operator", token=sc.token)
        assert hello["role"] == "operator" and "health" in hello
        # rates are measured over the ingest's first seconds
        # (the keyframe interval once the second keyframe came)
        h, _ = await until(ws, lambda m: m["type"] == "health" and m["ingest"]["fps"] > 0 and
                           m["ingest"]["keyframe_interval_ms"] > 0, what="health with rates")
        assert h["ingest"]["fps"] > 0 and h["ingest"]["kbps"] > 0
        assert h["ingest"]["keyframe_interval_ms"] > 0 and h["ingest"]["codec"] == "h264"
        assert {r["name"] for r in h["rungs"]} == {"360p"}
        viewer, _ = await subscribe(sc, sid)
        # viewers never see operators' figures
        end = time.monotonic() + 3
        while time.monotonic() < end:
            try:
                m = await recv(viewer, max(0.1, end - time.monotonic()))
            except asyncio.TimeoutError:
                break
            assert m["type"] != "health"
        for token in (None, "wrong"):
            bad = await connect(sc)
            msg = {"type": "subscribe", "stream": sid, "role": "operator"}
            if token:
                msg["token"] = token
            await bad.send(json.dumps(msg))
            e = await recv(bad)
            assert (e["type"], e["code"]) == ("error", "forbidden")
            assert await close_code(bad) == 4401
        await ws.close()
        await viewer.close()

    try:
        run(go())
    finally:
        pub.kill()


# ---- resume ----

def test_resume_replays_what_was_missed(shop):
    sc, sid = shop

    async def go():
        ws, hello = await subscribe(sc, sid)
        order(sc, sid, "r0")
        m, _ = await until(ws, lambda m: m["type"] == "order", what="order")
        seen = m["offset"]
        await ws.close()
        for i in range(1, 4):
            order(sc, sid, "r%d" % i, qty=i)
        ws = await connect(sc)
        await ws.send(json.dumps({"type": "resume", "stream": sid, "epoch": hello["epoch"],
                                  "offset": seen}))
        r = await recv(ws)
        assert (r["type"], r["recovered"], r["epoch"]) == ("resumed", True, hello["epoch"])
        assert r["from"] == seen + 1
        got = []
        while len([x for x in got if x["type"] == "order"]) < 3:
            got.append(await recv(ws))
        offs = [x["offset"] for x in got if "offset" in x]
        assert offs == list(range(seen + 1, seen + 1 + len(offs)))  # no gap, none twice
        assert [x["qty"] for x in got if x["type"] == "order"] == [1, 2, 3]
        # the same connection resumes again after a gap it saw: nothing missed, nothing replayed
        await ws.send(json.dumps({"type": "resume", "epoch": hello["epoch"],
                                  "offset": offs[-1]}))
        r = await recv(ws)
        assert r["type"] == "resumed" and r["from"] == offs[-1] + 1
        await ws.close()

    run(go())


def test_a_resume_that_cannot_be_served_gets_a_fresh_hello(shopcast_factory):
    sc = shopcast_factory("--ws-ring", "16")
    sid = sc.create_stream()["id"]
    status, _, p = call(sc, "POST", products_path(sid), dict(HONEY, stock=1000))
    assert status == 201

    async def go():
        ws, hello = await subscribe(sc, sid)
        await ws.close()
        cases = [("another epoch", "0000" + hello["epoch"][4:], hello["offset"]),
                 ("an offset never sent", hello["epoch"], hello["offset"] + 1000)]
        for what, epoch, off in cases:
            ws = await connect(sc)
            await ws.send(json.dumps({"type": "resume", "stream": sid, "epoch": epoch,
                                      "offset": off}))
            h = await recv(ws)
            assert (h["type"], h["recovered"]) == ("hello", False), what
            assert h["epoch"] == hello["epoch"]
            await ws.close()
        for i in range(30):  # more than the ring holds
            order(sc, sid, "t%d" % i)
        ws = await connect(sc)
        await ws.send(json.dumps({"type": "resume", "stream": sid, "epoch": hello["epoch"],
                                  "offset": hello["offset"]}))
        h, _ = await until(ws, lambda m: m["type"] in ("hello", "resumed"), what="answer")
        assert (h["type"], h["recovered"]) == ("hello", False)  # trimmed: never a partial replay
        assert h["offset"] >= hello["offset"] + 30
        await ws.close()

    run(go())


def test_a_restart_changes_the_epoch(shopcast_factory):
    sc = shopcast_factory()
    sid = sc.create_stream()["id"]

    async def first():
        ws, hello = await subscribe(sc, sid)
        await ws.close()
        return hello

    h1 = run(first())
    assert sc.stop() == 0
    sc.start()
    h2 = run(first())
    assert h2["epoch"] != h1["epoch"]


# ---- bad input ----

def test_bad_messages_get_errors_and_the_connection_stays(shop):
    sc, sid = shop

    async def go():
        ws = await connect(sc)
        for text, code in (("not json", "bad_json"), ("[1,2]", "bad_json"),
                           ('{"type":"dance"}', "unknown_type"), ('{"type":7}', "bad_message"),
                           ('{"type":"subscribe","stream":"../etc"}', "bad_message"),
                           ('{"type":"resume","epoch":"x","offset":-1}', "bad_message"),
                           ('{"type":"resume","epoch":"x","offset":1}', "not_subscribed")):
            await ws.send(text)
            e = await recv(ws)
            assert (e["type"], e["code"]) == ("error", code), text
        await ws.send(json.dumps({"type": "ping", "id": 7}))
        p = await recv(ws)
        assert (p["type"], p["id"]) == ("pong", 7)
        await ws.send(json.dumps({"type": "subscribe", "stream": sid}))
        assert (await recv(ws))["type"] == "hello"
        await ws.send(json.dumps({"type": "subscribe", "stream": sid}))
        e = await recv(ws)
        assert e["code"] == "already_subscribed"
        await ws.close()

    run(go())


def test_unknown_stream_and_deleted_stream_close_4404(shop):
    sc, sid = shop

    async def go():
        ws = await connect(sc)
        await ws.send(json.dumps({"type": "subscribe", "stream": "nosuchstream"}))
        e = await recv(ws)
        assert e["code"] == "unknown_stream"
        assert await close_code(ws) == 4404
        ws, _ = await subscribe(sc, sid)
        status, _ = sc.request("DELETE", "/api/v1/streams/" + sid, token=sc.token)
        assert status in (200, 204)
        assert await close_code(ws) == 4404

    run(go())


def test_oversized_and_flooding_clients_are_cut_and_others_carry_on(shop):
    sc, sid = shop

    async def go():
        calm, _ = await subscribe(sc, sid)
        big = await connect(sc)
        await big.send(json.dumps({"type": "ping", "id": "x" * 60, "pad": "y" * 5000}))
        assert await close_code(big) == 1009
        flood = await connect(sc)
        with pytest.raises(ConnectionClosed) as e:
            for _ in range(2000):
                await flood.send('{"type":"ping"}')
                await asyncio.sleep(0)
            await close_code(flood)
            await flood.recv()
        order(sc, sid, "calm1")
        m, _ = await until(calm, lambda m: m["type"] == "order", what="order on the calm client")
        assert m["product"] == "honey"
        await calm.send(json.dumps({"type": "ping"}))
        await until(calm, lambda m: m["type"] == "pong", what="pong")
        await calm.close()
        return flood.close_code

    assert run(go()) == 4429


def test_upgrades_we_do_not_speak_are_refused(shopcast):
    sc = shopcast

    async def go():
        for kw in ({"subprotocols": None}, {"subprotocols": ["chat"]},
                   {"origin": "http://evil.example"}):
            with pytest.raises((InvalidStatusCode, ConnectionClosed, OSError,
                                websockets.exceptions.InvalidHandshake)):
                ws = await connect(sc, **kw)
                await ws.send('{"type":"ping"}')
                await recv(ws, 3)
        # the page's own origin is welcome
        ws = await connect(sc, origin="http://127.0.0.1:%d" % sc.http_port)
        await ws.send('{"type":"ping"}')
        assert (await recv(ws))["type"] == "pong"
        await ws.close()
        # a path other than /ws is not the channel
        with pytest.raises(Exception):
            ws = await websockets.connect("ws://127.0.0.1:%d/other" % sc.http_port,
                                          subprotocols=SUB)
            await ws.send('{"type":"ping"}')
            await recv(ws, 3)

    run(go())


def test_allowed_origins_and_the_client_cap(shopcast_factory):
    sc = shopcast_factory("--ws-origins", "https://shop.example", "--ws-max-clients", "3")

    async def go():
        ok = await connect(sc, origin="https://shop.example")
        with pytest.raises(Exception):
            ws = await connect(sc, origin="http://127.0.0.1:%d" % sc.http_port)
            await ws.send('{"type":"ping"}')
            await recv(ws, 3)
        more = [await connect(sc) for _ in range(2)]
        extra = await connect(sc)
        assert await close_code(extra) == 4503
        await ok.send('{"type":"ping"}')
        assert (await recv(ok))["type"] == "pong"
        for ws in [ok] + more:
            await ws.close()

    run(go())


def test_an_idle_client_is_closed(shopcast_factory):
    sc = shopcast_factory("--ws-ping-s", "1", "--ws-idle-s", "3")

    async def go():
        # answers pings by itself: stays
        alive = await websockets.connect(ws_url(sc), subprotocols=SUB, ping_interval=None)
        # a client that never answers: a raw socket after the handshake
        reader, writer = await asyncio.open_connection("127.0.0.1", sc.http_port)
        writer.write(UPGRADE)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert b" 101 " in head
        t0 = time.monotonic()
        data = b""
        while True:
            chunk = await asyncio.wait_for(reader.read(4096), 15)
            if not chunk:
                break
            data += chunk
        waited = time.monotonic() - t0
        # a ping (0x89) came first, then a close frame (0x88) with 4408
        assert b"\x89" in data[:2], data[:20]
        i = data.index(b"\x88")
        assert int.from_bytes(data[i + 2:i + 4], "big") == 4408
        assert waited >= 2.5
        await alive.send('{"type":"ping"}')
        assert (await recv(alive))["type"] == "pong"
        await alive.close()

    run(go())


# ---- a client that stops reading ----
def raw_subscribe(sc, sid, rcvbuf=2048):
    """A subscribed viewer on a bare socket with a small receive buffer, which then reads only
    when told: (socket, hello, bytes after the hello)."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(10)
    s.connect(("127.0.0.1", sc.http_port))
    s.sendall(UPGRADE)
    data = b""
    while b"\r\n\r\n" not in data:
        data += s.recv(4096)
    head, data = data.split(b"\r\n\r\n", 1)
    assert b" 101 " in head, head
    sub = json.dumps({"type": "subscribe", "stream": sid, "role": "viewer"}).encode()
    mask = b"\x01\x02\x03\x04"  # RFC 6455 5.3: a client masks what it sends
    s.sendall(bytes([0x81, 0x80 | len(sub)]) + mask +
              bytes(b ^ mask[i % 4] for i, b in enumerate(sub)))
    while True:
        frames = ws_frames(data)
        if frames:
            op, payload, end = frames[0]
            assert op == 1, frames[0]
            hello = json.loads(payload)
            assert hello["type"] == "hello", hello
            return s, hello, data[end:]
        data += s.recv(4096)


def ws_frames(data):
    """The whole unmasked server frames (RFC 6455 5.2) at the front of data: [(opcode, payload,
    where the frame ends)]."""
    out, i = [], 0
    while i + 2 <= len(data):
        op, n, h = data[i] & 0x0F, data[i + 1] & 0x7F, 2
        if n == 126:
            if i + 4 > len(data):
                break
            n, h = int.from_bytes(data[i + 2:i + 4], "big"), 4
        elif n == 127:
            if i + 10 > len(data):
                break
            n, h = int.from_bytes(data[i + 2:i + 10], "big"), 10
        if i + h + n > len(data):
            break
        out.append((op, data[i + h:i + h + n], i + h + n))
        i += h + n
    return out


def closed_slow(sc):
    status, text = sc.request("GET", "/metrics")
    assert status == 200
    text = text.decode() if isinstance(text, bytes) else text
    for line in text.splitlines():
        if line.startswith('shopcast_ws_closed_total{reason="slow"}'):
            return float(line.split()[-1])
    raise AssertionError("no shopcast_ws_closed_total{reason=\"slow\"} in /metrics")


def test_a_client_that_stops_reading_is_cut_and_resumes_without_loss(shopcast_factory):
    """Orders flood a stream while one viewer reads nothing. Its socket fills, the relay stops
    writing to it, it falls behind on the ring and is closed 4008 at three quarters of the ring;
    what it was sent before the close arrives whole and in order. A viewer that reads carries on
    with every order. The cut viewer resumes from its last offset and gets the rest: together,
    every order exactly once."""
    sc = shopcast_factory()  # ws-ring 1024: cut 768 behind, so 50 orders later it still resumes
    sid = sc.create_stream()["id"]
    status, _, p = call(sc, "POST", products_path(sid), dict(HONEY, stock=1000000))
    assert status == 201, p

    async def go():
        calm, hcalm = await subscribe(sc, sid)
        slow, hello, pending = raw_subscribe(sc, sid)
        qty = lambda i: (i - 1) % 10 + 1  # noqa: E731 (the n-th order's qty, 1 to 10)
        every = lambda n: [qty(i) for i in range(1, n + 1)]  # noqa: E731
        conn = http.client.HTTPConnection("127.0.0.1", sc.http_port, timeout=30)
        placed = 0

        def place(n):
            nonlocal placed
            for _ in range(n):
                placed += 1
                conn.request("POST", "/api/v1/streams/%s/orders" % sid,
                             json.dumps({"order_id": "s%d" % placed, "product": "honey",
                                         "qty": qty(placed)}),
                             {"Authorization": "Bearer " + sc.token,
                              "Content-Type": "application/json"})
                r = conn.getresponse()
                assert r.status == 201, r.read()
                r.read()

        calm_got = []

        async def read_calm(n):
            while len(calm_got) < n:
                m = await recv(calm)
                if m["type"] == "order":
                    calm_got.append(m)

        while closed_slow(sc) < 1:
            assert placed < 40000, "the viewer that reads nothing was never cut"
            await asyncio.to_thread(place, 50)  # a closed client is shut down 2 s on
            await read_calm(placed)
        # the cut viewer reads now: everything sent to it, then the close frame with 4008
        slow.settimeout(10)
        data, code = pending, None
        while code is None:
            chunk = slow.recv(65536)
            assert chunk, "the connection ended without a close frame"
            data += chunk
            code = next((int.from_bytes(p[:2], "big") for op, p, _ in ws_frames(data)
                         if op == 8), None)
        assert code == 4008
        msgs = [json.loads(p) for op, p, _ in ws_frames(data) if op == 1]
        offs = [m["offset"] for m in msgs if "offset" in m]
        assert offs == list(range(hello["offset"] + 1, hello["offset"] + 1 + len(offs)))
        slow_qty = [m["qty"] for m in msgs if m["type"] == "order"]
        slow.close()
        # it resumes from its last offset: the rest, recovered, nothing twice
        ws = await connect(sc)
        await ws.send(json.dumps({"type": "resume", "stream": sid, "epoch": hello["epoch"],
                                  "offset": offs[-1]}))
        r = await recv(ws)
        assert (r["type"], r["recovered"], r["from"]) == ("resumed", True, offs[-1] + 1), r
        rest = []
        while len(slow_qty) + len(rest) < placed:
            m = await recv(ws)
            if m["type"] == "order":
                rest.append(m["qty"])
        assert slow_qty + rest == every(placed)
        print("cut after %d orders: %d sent before the close, %d on resume"
              % (placed, len(slow_qty), len(rest)))
        # the viewer that read had every order, in order, with no gap in its offsets
        placed += 1
        await asyncio.to_thread(order, sc, sid, "s%d" % placed, qty(placed))
        await read_calm(placed)
        assert [m["qty"] for m in calm_got] == every(placed)
        coffs = [m["offset"] for m in calm_got]
        assert coffs == sorted(coffs) and coffs[0] > hcalm["offset"]
        conn.close()
        await calm.close()
        await ws.close()

    run(go())
