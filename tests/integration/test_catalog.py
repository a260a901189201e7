"""The operator API for the catalog (products, images, the pinned product, flash sales, sales),
against the real binary and a real redis-server; pictures are made with the real ffmpeg CLI.

Refusals are checked against Redis itself: every key under the test's prefix is dumped before
and after a bad request, and nothing may differ. Orders are made with the library's own
shopcast_order, as another system (a shop platform) would call it.
"""
import json
import os
import re
import struct
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from conftest import wait_until
from resp import Resp, keys_under


@pytest.fixture
def redis(redis_url):
    r = Resp(redis_url)
    yield r
    r.close()


@pytest.fixture
def sc(shopcast_factory):
    return shopcast_factory("--ladder", "off")


def call(sc, method, path, body=None, token=True, data=None, ctype=None):
    """(status, headers, body): JSON bodies parsed."""
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        ctype = ctype or "application/json"
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (sc.http_port, path), data=data,
                                 method=method)
    if ctype:
        req.add_header("Content-Type", ctype)
    if token:
        req.add_header("Authorization", "Bearer " + (sc.token if token is True else token))
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            status, headers, raw = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, raw = e.code, e.headers, e.read()
    if raw and "json" in headers.get("content-type", ""):
        raw = json.loads(raw)
    return status, headers, raw


def dump(redis, prefix):
    """Every key under prefix with its serialised value: what Redis holds, byte for byte."""
    keys = keys_under(redis, prefix)
    assert len(keys) > 3, "a stream with a product holds more keys: %r" % keys
    return {k: redis("DUMP", k) for k in keys}


def skey(sc, sid):
    return "%sstream:{%s}" % (sc.prefix, sid)


def new_stream(sc):
    return sc.create_stream("Farm goods")["id"]


def products_path(sid, rest=""):
    return "/api/v1/streams/%s/products%s" % (sid, rest)


HONEY = {"id": "honey", "name": "Wild honey", "price": 1990, "regular_price": 2990,
         "currency": "CNY", "stock": 10}


def add(sc, sid, **kw):
    body = dict(HONEY, **kw)
    status, _, p = call(sc, "POST", products_path(sid), body)
    assert status == 201, p
    return p


def make_picture(tmp_path, name, source, *args):
    path = str(tmp_path / name)
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i", source, "-frames:v", "1"]
                   + list(args) + [path], check=True, timeout=60)
    with open(path, "rb") as f:
        return f.read()


def thumbnail(redis, sc, sid, pid):
    """The stored SCI1 thumbnail as (width, height, RGBA bytes)."""
    t = redis("GET", "%s:image:%s" % (skey(sc, sid), pid))
    assert t is not None and t[:4] == b"SCI1", t[:16] if t else t
    w, h = struct.unpack(">HH", t[4:8])
    assert len(t) == 8 + w * h * 4
    return w, h, t[8:]


def test_products_are_created_listed_changed_and_deleted(sc, redis):
    sid = new_stream(sc)
    p = add(sc, sid)
    assert p == dict(HONEY, sold=0, revenue=0, image="")
    status, _, gen = call(sc, "POST", products_path(sid),
                          {"name": "Dried mushrooms", "price": 3500, "currency": "CNY",
                           "stock": 3})
    assert status == 201, gen
    assert re.fullmatch(r"p[a-z0-9]{12}", gen["id"]), gen
    assert gen["regular_price"] == 3500  # the product's own price: never an invented one
    # The catalog is public, and keeps revenue to the operator.
    status, _, cat = call(sc, "GET", products_path(sid), token=False)
    assert status == 200, cat
    assert [q["id"] for q in cat["products"]] == ["honey", gen["id"]]
    assert all("revenue" not in q for q in cat["products"])
    status, _, one = call(sc, "GET", products_path(sid, "/honey"), token=False)
    assert status == 200 and one["name"] == "Wild honey" and "revenue" not in one, one
    # A change touches only the fields given.
    status, _, changed = call(sc, "PATCH", products_path(sid, "/honey"), {"stock": 4})
    assert status == 200, changed
    assert changed == dict(p, stock=4)
    # While price and regular price are equal, the regular price follows the price.
    status, _, changed = call(sc, "PATCH", products_path(sid, "/" + gen["id"]), {"price": 3000})
    assert status == 200 and changed["regular_price"] == 3000, changed
    status, _, _ = call(sc, "DELETE", products_path(sid, "/honey"))
    assert status == 204
    assert call(sc, "GET", products_path(sid, "/honey"), token=False)[0] == 404
    assert call(sc, "DELETE", products_path(sid, "/honey"))[0] == 404
    assert redis("EXISTS", skey(sc, sid) + ":product:honey") == 0
    assert redis("ZRANGE", skey(sc, sid) + ":products", 0, -1) == [gen["id"].encode()]


def test_a_product_that_exists_is_not_created_again(sc, redis):
    sid = new_stream(sc)
    add(sc, sid)
    before = dump(redis, sc.prefix)
    status, _, err = call(sc, "POST", products_path(sid), dict(HONEY, name="Another"))
    assert status == 409 and "exists" in err["error"], err
    assert dump(redis, sc.prefix) == before


def test_chinese_names_round_trip(sc, redis):
    sid = new_stream(sc)
    name = "柞水木耳 · 东北黑木耳 500克 <b>&amp;</b>"  # markup is only text
    add(sc, sid, id="muer", name=name)
    status, _, p = call(sc, "GET", products_path(sid, "/muer"), token=False)
    assert status == 200 and p["name"] == name, p
    assert redis("HGET", skey(sc, sid) + ":product:muer", "name") == name.encode()
    status, _, p = call(sc, "PATCH", products_path(sid, "/muer"), {"name": "陕西柞水木耳"})
    assert status == 200 and p["name"] == "陕西柞水木耳", p


def test_png_and_jpeg_uploads_become_thumbnails(sc, redis, tmp_path):
    sid = new_stream(sc)
    add(sc, sid)
    png = make_picture(tmp_path, "red.png", "color=red:s=64x48,format=rgb24")
    status, _, r = call(sc, "PUT", products_path(sid, "/honey/image"), data=png,
                        ctype="image/png")
    assert status == 200, r
    assert r["image"] == {"width": 64, "height": 48}, r
    w, h, px = thumbnail(redis, sc, sid, "honey")
    assert (w, h) == (64, 48)
    assert all(abs(a - b) <= 1 for a, b in zip(px[:4], (255, 0, 0, 255))), px[:4]
    version = call(sc, "GET", products_path(sid, "/honey"), token=False)[2]["image"]
    assert version, "the product's image version is set"
    # A JPEG larger than the thumbnail is shrunk to fit, keeping its aspect; the bytes decide
    # the decoder even when the Content-Type names the other kind.
    jpg = make_picture(tmp_path, "blue.jpg", "color=0x2040c0:s=600x400", "-q:v", "2")
    for ctype in ("image/jpeg", "image/png; charset=binary"):
        status, _, r = call(sc, "PUT", products_path(sid, "/honey/image"), data=jpg,
                            ctype=ctype)
        assert status == 200 and r["image"] == {"width": 256, "height": 171}, r
    w, h, px = thumbnail(redis, sc, sid, "honey")
    mid = px[(h // 2 * w + w // 2) * 4:][:4]
    assert all(abs(a - b) <= 6 for a, b in zip(mid, (0x20, 0x40, 0xc0, 255))), mid
    assert call(sc, "GET", products_path(sid, "/honey"), token=False)[2]["image"] != version
    status, _, _ = call(sc, "DELETE", products_path(sid, "/honey/image"))
    assert status == 204
    assert redis("EXISTS", skey(sc, sid) + ":image:honey") == 0
    assert call(sc, "GET", products_path(sid, "/honey"), token=False)[2]["image"] == ""


def test_corrupt_huge_and_non_image_uploads_are_refused(sc, redis, tmp_path):
    sid = new_stream(sc)
    add(sc, sid)
    png = make_picture(tmp_path, "pattern.png", "testsrc=s=320x240")
    huge = make_picture(tmp_path, "wide.png", "color=red:s=5000x16")
    jpg = make_picture(tmp_path, "pattern.jpg", "testsrc=s=320x240")
    cases = [
        (png[:len(png) // 2], "image/png", 400, "corrupt or truncated"),
        (jpg[:-200], "image/jpeg", 400, "truncated JPEG"),
        (png[:8] + b"\0" * 200, "image/png", 400, "corrupt"),
        (huge, "image/png", 413, "image is 5000x16 pixels: at most 4096x4096"),
        (os.urandom(2 * 1024 * 1024 + 1), "image/png", 413, "at most 2097152 bytes"),
        (b"GIF89a" + b"\0" * 64, "image/gif", 415, "Content-Type must be image/png"),
        (b"<svg/>", "image/png", 415, "not a PNG or JPEG"),
        (png, "application/octet-stream", 415, "Content-Type"),
        (png, None, 415, "Content-Type"),
    ]
    before = dump(redis, sc.prefix)
    for data, ctype, want, says in cases:
        status, _, err = call(sc, "PUT", products_path(sid, "/honey/image"), data=data,
                              ctype=ctype)
        assert status == want and says in err["error"], (ctype, len(data), status, err)
    status, _, err = call(sc, "PUT", products_path(sid, "/nothing/image"), data=png,
                          ctype="image/png")
    assert status == 404 and err["error"] == "no such product", err
    assert dump(redis, sc.prefix) == before
    assert "AddressSanitizer" not in sc.read_log()


def test_pin_and_unpin(sc, redis):
    sid = new_stream(sc)
    add(sc, sid)
    status, _, r = call(sc, "PUT", "/api/v1/streams/%s/pinned" % sid, {"product": "honey"})
    assert status == 200 and r["product"] == "honey", r
    assert redis("GET", skey(sc, sid) + ":pinned") == b"honey"
    state = json.loads(redis("FCALL_RO", "shopcast_state", 1, skey(sc, sid)))
    assert state["pinned"] and state["product"]["id"] == "honey" and state["seq"] == r["seq"]
    status, _, err = call(sc, "PUT", "/api/v1/streams/%s/pinned" % sid, {"product": "nothing"})
    assert status == 404 and err["error"] == "no such product", err
    assert redis("GET", skey(sc, sid) + ":pinned") == b"honey"
    assert call(sc, "DELETE", "/api/v1/streams/%s/pinned" % sid)[0] == 204
    assert redis("EXISTS", skey(sc, sid) + ":pinned") == 0


def test_flash_sale_start_and_stop(sc, redis):
    sid = new_stream(sc)
    add(sc, sid)
    path = "/api/v1/streams/%s/flash" % sid
    t0 = int(time.time() * 1000)
    status, _, f = call(sc, "POST", path, {"product": "honey", "price": 990, "duration_s": 120,
                                           "cap": 4, "limit": 2})
    assert status == 201, f
    assert f["product"] == "honey" and f["price"] == 990 and f["cap"] == 4 and f["limit"] == 2
    assert t0 + 110000 < f["ends_ms"] < t0 + 130000, f
    held = dict(zip(*[iter(redis("HGETALL", skey(sc, sid) + ":flash"))] * 2))
    assert held[b"price"] == b"990" and held[b"left"] == b"4" and held[b"id"] == f["id"].encode()
    # A cap over the stock is the stock.
    status, _, f = call(sc, "POST", path, {"product": "honey", "price": 990, "duration_s": 60,
                                           "cap": 1000})
    assert status == 201 and f["cap"] == 10, f
    # A "sale" that charges the price or more is refused, and the running one stays.
    before = dump(redis, sc.prefix)
    status, _, err = call(sc, "POST", path, {"product": "honey", "price": 1990,
                                             "duration_s": 60})
    assert status == 400 and "must be below the product's price (1990)" in err["error"], err
    assert dump(redis, sc.prefix) == before
    assert call(sc, "DELETE", path)[0] == 204
    assert redis("EXISTS", skey(sc, sid) + ":flash") == 0


def order(redis, sc, sid, oid, pid, qty):
    status, body = redis("FCALL", "shopcast_order", 1, skey(sc, sid), oid, pid, qty, "", "",
                         3600, 1000)
    assert status == 201, body
    return json.loads(body)


def test_sales_figures_after_orders(sc, redis):
    sid = new_stream(sc)
    add(sc, sid)
    add(sc, sid, id="muer", name="木耳", price=500, regular_price=500, stock=100)
    for i, (pid, qty) in enumerate([("honey", 2), ("muer", 5), ("honey", 1), ("muer", 1)]):
        order(redis, sc, sid, "o%d" % i, pid, qty)
    status, _, sales = call(sc, "GET", "/api/v1/streams/%s/sales" % sid)
    assert status == 200, sales
    got = {p["id"]: (p["sold"], p["revenue"], p["stock"]) for p in sales["products"]}
    assert got == {"honey": (3, 3 * 1990, 7), "muer": (6, 6 * 500, 94)}, got
    assert sales["orders_per_minute"] == 4, sales
    assert call(sc, "GET", "/api/v1/streams/%s/sales" % sid, token=False)[0] == 401
    assert call(sc, "GET", "/api/v1/streams/nosuchstream/sales")[0] == 404


def test_bad_bodies_are_refused_and_change_nothing(sc, redis):
    sid = new_stream(sc)
    add(sc, sid)
    prods, honey = products_path(sid), products_path(sid, "/honey")
    pinned, flash = "/api/v1/streams/%s/pinned" % sid, "/api/v1/streams/%s/flash" % sid
    whole = {k: v for k, v in HONEY.items() if k != "id"}
    cases = [
        ("POST", prods, b"{\"name\": ", 400, "not JSON"),
        ("POST", prods, b"[1, 2]", 400, "JSON object"),
        ("POST", prods, b"", 400, "not JSON"),
        ("POST", prods, dict(whole, price=0), 400, "price must be an integer from 1"),
        ("POST", prods, dict(whole, price=-5), 400, "price must be"),
        ("POST", prods, dict(whole, price=10 ** 12), 400, "price must be"),
        ("POST", prods, dict(whole, price=19.9), 400, "price must be an integer"),
        ("POST", prods, dict(whole, price="1990"), 400, "price must be an integer"),
        ("POST", prods, dict(whole, stock=-1), 400, "stock must be"),
        ("POST", prods, dict(whole, regular_price=100), 400, "must not be below price"),
        ("POST", prods, dict(whole, currency="yuan"), 400, "three capital letters"),
        ("POST", prods, dict(whole, name="x" * 201), 400, "1 to 200 bytes"),
        ("POST", prods, dict(whole, name="two\nlines"), 400, "without control characters"),
        ("POST", prods, dict(whole, colour="red"), 400, "unknown field \"colour\""),
        ("POST", prods, dict(whole, id="../etc"), 400, "id must be"),
        ("POST", prods, {"name": "x", "price": 1}, 400, "missing field"),
        ("POST", prods, dict(whole, name="y" * 17000), 413, "at most 16384 bytes"),
        ("POST", products_path("nosuchstream"), whole, 404, "no such stream"),
        ("PATCH", honey, {}, 400, "nothing to change"),
        ("PATCH", honey, {"id": "x"}, 400, "id cannot change"),
        ("PATCH", honey, {"price": 5000}, 400, "regular_price (2990) must not be below"),
        ("PATCH", products_path(sid, "/nothing"), {"stock": 1}, 404, "no such product"),
        ("DELETE", products_path(sid, "/nothing"), None, 404, "no such product"),
        ("PUT", pinned, {"product": 7}, 400, "product must be"),
        ("PUT", pinned, {}, 400, "missing field \"product\""),
        ("PUT", pinned, {"product": "nothing"}, 404, "no such product"),
        ("POST", flash, {"product": "honey", "price": 990}, 400, "duration_s"),
        ("POST", flash, {"product": "honey", "price": 990, "duration_s": 0}, 400,
         "duration_s must be"),
        ("POST", flash, {"product": "honey", "price": 990, "duration_s": 60, "limit": -1},
         400, "limit must be"),
        ("POST", flash, {"product": "nothing", "price": 990, "duration_s": 60}, 404,
         "no such product"),
        ("POST", flash, {"product": "honey", "price": 2000, "duration_s": 60}, 400,
         "must be below"),
    ]
    before = dump(redis, sc.prefix)
    for method, path, body, want, says in cases:
        status, _, err = call(sc, method, path, body)
        assert status == want and says in err["error"], (method, path, body, status, err)
    assert dump(redis, sc.prefix) == before


def test_operator_routes_need_the_token(sc, redis):
    sid = new_stream(sc)
    add(sc, sid)
    base = "/api/v1/streams/%s" % sid
    routes = [("POST", base + "/products", dict(HONEY, id="other")),
              ("PATCH", base + "/products/honey", {"stock": 1}),
              ("DELETE", base + "/products/honey", None),
              ("PUT", base + "/products/honey/image", b"\x89PNG"),
              ("DELETE", base + "/products/honey/image", None),
              ("PUT", base + "/pinned", {"product": "honey"}),
              ("DELETE", base + "/pinned", None),
              ("POST", base + "/flash", {"product": "honey", "price": 1, "duration_s": 1}),
              ("DELETE", base + "/flash", None),
              ("GET", base + "/sales", None)]
    before = dump(redis, sc.prefix)
    for method, path, body in routes:
        for token in (False, "not-the-token"):
            status, _, err = call(sc, method, path, body, token=token)
            assert status == 401 and "token" in err["error"], (method, path, token, err)
    assert dump(redis, sc.prefix) == before
    assert call(sc, "GET", base + "/products", token=False)[0] == 200
    assert call(sc, "GET", base + "/products/honey", token=False)[0] == 200


def test_redis_paused_past_the_deadline_gives_503(shopcast_factory, redis, tmp_path):
    sc = shopcast_factory("--ladder", "off", "--redis-timeout-ms", "400")
    sid = new_stream(sc)
    add(sc, sid)
    png = make_picture(tmp_path, "red.png", "color=red:s=64x48,format=rgb24")
    base = "/api/v1/streams/%s" % sid
    requests = [("POST", base + "/products", dict(HONEY, id="late"), None),
                ("GET", base + "/products", None, None),
                ("GET", base + "/sales", None, None),
                ("PUT", base + "/pinned", {"product": "honey"}, None),
                ("PUT", base + "/products/honey/image", png, "image/png")]
    for method, path, body, ctype in requests:
        assert redis("CLIENT", "PAUSE", 1500, "ALL") == "OK"
        status, headers, err = call(sc, method, path, body, ctype=ctype)
        assert status == 503 and int(headers["Retry-After"]) >= 1, (method, path, status, err)
        assert "in time" in err["error"] or "Redis" in err["error"], err
        # back: the relay reconnects if the pause outlasted its heartbeat
        wait_until(lambda: call(sc, "GET", base + "/products", token=False)[0] == 200, 20,
                   "the catalog to answer again")


def test_library_not_loaded_gives_503(sc, redis):
    sid = new_stream(sc)
    add(sc, sid)
    assert redis("FUNCTION", "DELETE", "shopcast") == "OK"
    try:
        status, headers, err = call(sc, "PATCH", products_path(sid, "/honey"), {"stock": 1})
        assert status == 503 and headers["Retry-After"], (status, err)
    finally:
        # every shopcast loads it again on its next connect; this one is told so at once
        with open(os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(
                os.path.abspath(__file__)))), "relay", "commerce", "shopcast.lua"), "rb") as f:
            redis("FUNCTION", "LOAD", "REPLACE", f.read())
    assert call(sc, "PATCH", products_path(sid, "/honey"), {"stock": 1})[0] == 200
