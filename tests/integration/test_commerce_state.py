"""The card's state follows Redis: every change made through the shopcast FUNCTION library reaches
the stream's card, an event lost while the subscriber was away is recovered by the reload after
it resubscribes, a Redis kill -9 leaves the last confirmed card in place, and a flash sale that
ends by its clock ends on the card too.

The card's state is read from GET /api/v1/streams/<id> ("card"), which reports the state the
relay last handed to the stream's worker. Each test has a redis-server of its own (it kills it).
"""
import shutil
import struct
import subprocess
import time

import pytest

from conftest import wait_until
from resp import Resp
from test_redis_faults import RedisServer


@pytest.fixture
def own_redis(tmp_path):
    r = RedisServer(str(tmp_path / "redis")).start(persist=True)
    yield r
    r.stop()
    shutil.rmtree(r.dir, ignore_errors=True)


@pytest.fixture
def redis_url(own_redis):
    return own_redis.url


class Shop:
    """Calls the library directly, as a shop platform or a POS would."""

    def __init__(self, redis, sc, sid):
        self.redis = redis
        self.key = "%sstream:{%s}" % (sc.prefix, sid)

    def call(self, fn, *args):
        return self.redis.cli("FCALL", fn, "1", self.key, *[str(a) for a in args])

    def order(self, oid, pid, qty, shown=""):
        return self.call("shopcast_order", oid, pid, qty, "", shown, 86400, 1000)


def card(sc, sid):
    return sc.stream(sid)["card"]


def card_is(sc, sid, **want):
    c = card(sc, sid)
    return c is not None and all(c.get(k) == v for k, v in want.items())


@pytest.fixture
def live_shop(own_redis, shopcast):
    sid = shopcast.create_stream()["id"]
    shop = Shop(own_redis, shopcast, sid)
    shop.call("shopcast_product_put", "honey", "name", "柞水木耳", "price", 1280, "currency", "CNY",
              "stock", 50)
    shop.call("shopcast_pin", "honey")
    wait_until(lambda: card_is(shopcast, sid, pinned=True, product="honey"), 10, "card pinned")
    return shopcast, sid, shop


def test_every_change_reaches_the_card(live_shop):
    sc, sid, shop = live_shop
    c = card(sc, sid)
    assert (c["name"], c["price"], c["sold"], c["stock"]) == ("柞水木耳", 1280, 0, 50)
    assert shop.order("o1", "honey", 3).splitlines()[0] == "201"
    wait_until(lambda: card_is(sc, sid, sold=3, stock=47), 10, "order on the card")
    shop.call("shopcast_flash_start", "honey", 990, 600000, 10, 0)
    wait_until(lambda: card_is(sc, sid, price=990) and card(sc, sid)["flash"], 10, "flash sale")
    assert card(sc, sid)["regular_price"] == 1280
    shop.call("shopcast_pin", "")
    wait_until(lambda: card_is(sc, sid, pinned=False), 10, "unpinned")


def test_a_change_right_behind_the_pin_leaves_the_picture_on_the_card(own_redis, shopcast):
    # Pinning a product with a picture makes the relay fetch the picture from Redis before the
    # card shows the product. A flash sale started in the same breath (one write to Redis: both
    # events reach the relay before the picture does) must not leave the card without it.
    r = Resp(own_redis.url)
    thumb = b"SCI1" + struct.pack(">HH", 8, 8) + bytes.fromhex("ff00ffff") * 64
    for i in range(5):
        sid = shopcast.create_stream()["id"]  # a stream of its own: its relay has no picture yet
        key = "%sstream:{%s}" % (shopcast.prefix, sid)
        r("FCALL", "shopcast_product_put", 1, key, "honey", "name", "Honey", "price", 1280,
          "currency", "CNY", "stock", 50)
        r("FCALL", "shopcast_product_image", 1, key, "honey", thumb)
        r.pipeline(("FCALL", "shopcast_pin", 1, key, "honey"),
                   ("FCALL", "shopcast_flash_start", 1, key, "honey", 990, 600000, 0, 0))
        wait_until(lambda: card_is(shopcast, sid, pinned=True, price=990, image=True), 10,
                   "the card %d with its flash price and its picture" % i)
    r.close()


def test_a_lost_event_is_recovered_on_resubscribe(live_shop, own_redis):
    sc, sid, shop = live_shop
    # The subscriber is cut off and the order published before it is back: that event is lost,
    # and only the reload after the resubscription can bring the card up to date.
    # (one redis-cli connection, both commands sent at once: the order runs microseconds after
    # the kill, long before the relay's reconnect backoff of at least 50 ms)
    out = subprocess.run(["redis-cli", "-p", str(own_redis.port)], capture_output=True,
                         text=True, timeout=30,
                         input="CLIENT KILL TYPE pubsub\nFCALL shopcast_order 1 %s lost1 honey 2 "
                               "'' '' 86400 1000\n" % shop.key).stdout.split()
    assert out[:2] == ["1", "201"], out
    wait_until(lambda: card_is(sc, sid, sold=2), 15, "the lost order on the card")
    assert "redis_ready" in sc.read_log()


def test_the_card_keeps_confirmed_values_through_a_kill9(live_shop, own_redis):
    sc, sid, shop = live_shop
    assert shop.order("k1", "honey", 4).splitlines()[0] == "201"
    wait_until(lambda: card_is(sc, sid, sold=4), 10, "order on the card")
    before = card(sc, sid)
    own_redis.kill9()
    time.sleep(1.5)  # the relay notices and keeps retrying meanwhile
    assert card(sc, sid) == before  # nothing Redis did not confirm, nothing lost either
    own_redis.start()
    assert shop.order("k2", "honey", 1).splitlines()[0] == "201"  # the AOF kept k1's count
    wait_until(lambda: card_is(sc, sid, sold=5, stock=45), 20, "order after the restart")


def test_a_flash_sale_ending_by_its_clock_ends_on_the_card(live_shop):
    sc, sid, shop = live_shop
    shop.call("shopcast_flash_start", "honey", 990, 2000, 0, 0)
    wait_until(lambda: card_is(sc, sid, price=990), 10, "flash sale on the card")
    ends = card(sc, sid)["flash"]["ends_ms"]
    wait_until(lambda: card_is(sc, sid, price=1280, flash=None), 10, "the sale over")
    assert time.time() * 1000 >= ends
    # and Redis agrees: the price shown is the price charged
    assert shop.order("f1", "honey", 1, shown=1280).splitlines()[0] == "201"


def test_a_deleted_product_leaves_the_card(live_shop):
    sc, sid, shop = live_shop
    shop.call("shopcast_product_del", "honey")
    wait_until(lambda: card_is(sc, sid, pinned=False), 10, "card cleared")


def test_a_flash_sale_sold_to_its_cap_ends_on_the_card(live_shop):
    sc, sid, shop = live_shop
    shop.call("shopcast_flash_start", "honey", 990, 600000, 2, 0)
    wait_until(lambda: card_is(sc, sid, price=990), 10, "flash sale on the card")
    assert shop.order("c1", "honey", 1, shown=990).splitlines()[0] == "201"
    wait_until(lambda: card_is(sc, sid, sold=1) and card(sc, sid)["flash"] is not None, 10,
               "one sold at the flash price")
    assert card(sc, sid)["flash"]["left"] == 1
    assert shop.order("c2", "honey", 1, shown=990).splitlines()[0] == "201"
    wait_until(lambda: card_is(sc, sid, sold=2, price=1280, flash=None), 10, "the sale sold out")


def test_a_burst_of_orders_ends_with_the_card_equal_to_redis(live_shop, own_redis):
    sc, sid, shop = live_shop
    lines = "".join("FCALL shopcast_order 1 %s b%d honey 1 '' '' 86400 1000\n" % (shop.key, i)
                    for i in range(40))
    out = subprocess.run(["redis-cli", "-p", str(own_redis.port)], input=lines,
                         capture_output=True, text=True, timeout=30).stdout
    assert out.split().count("201") == 40
    sold = int(own_redis.cli("HGET", shop.key + ":product:honey", "sold"))
    stock = int(own_redis.cli("HGET", shop.key + ":product:honey", "stock"))
    assert (sold, stock) == (40, 10)
    wait_until(lambda: card_is(sc, sid, sold=sold, stock=stock), 10, "the card equal to Redis")
