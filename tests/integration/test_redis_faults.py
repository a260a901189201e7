"""Redis faults: the real redis-server shut down, killed with -9, paused, stopped (hung) and started
late, under the real shopcast binary with real ffmpeg publishers.

Each test has a redis-server of its own on a fixed port, so it can stop it and start it again on
that same port; the shared session Redis is never touched. No timing is asserted: a generous
client timeout only tells a hang from an answer.
"""
import json
import os
import re
import shutil
import signal
import subprocess
import urllib.error
import urllib.request
import uuid

import pytest

from conftest import free_port, wait_until
from media import publish


class RedisServer:
    """A redis-server on one port for the whole test, to shut down, kill and start again."""

    def __init__(self, workdir):
        self.port = free_port()
        self.dir = workdir
        self.url = "redis://127.0.0.1:%d" % self.port
        self.proc = None
        self.persist = False

    def start(self, persist=None):
        """persist: an append-only file written before each reply (so kill -9 loses nothing);
        otherwise the data lives in memory only and a restart comes back empty."""
        if persist is not None:
            self.persist = persist
        os.makedirs(self.dir, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "yes" if self.persist else "no", "--appendfsync", "always",
             "--dir", self.dir], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        wait_until(lambda: self.running() and self.cli("PING") == "PONG", 10, "redis-server")
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def cli(self, *args):
        out = subprocess.run(["redis-cli", "-p", str(self.port)] + list(args),
                             capture_output=True, text=True, timeout=30)
        return out.stdout.strip()

    def shutdown_nosave(self):
        self.cli("SHUTDOWN", "NOSAVE")
        self.proc.wait(timeout=10)

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self):
        if self.running():
            self.proc.send_signal(signal.SIGCONT)  # in case a test left it stopped
            self.proc.terminate()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path):
    r = RedisServer(str(tmp_path / "redis"))
    yield r
    r.stop()
    shutil.rmtree(r.dir, ignore_errors=True)


@pytest.fixture
def redis_url(own_redis):
    """Overrides conftest's session Redis: shopcast_factory connects to this test's own."""
    return own_redis.url


def call(sc, method, path, body=None, token=None):
    """(status, headers, parsed body) of one request; the timeout only detects a hang."""
    req = urllib.request.Request("http://127.0.0.1:%d%s" % (sc.http_port, path),
                                 data=json.dumps(body).encode() if body is not None else None,
                                 method=method)
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            return r.status, r.headers, json.loads(r.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, e.headers, json.loads(e.read() or b"null")


def health(sc):
    return sc.request("GET", "/healthz")[0]


def assert_unavailable(sc):
    """Creating a stream is refused at once with 503 and a Retry-After, never left hanging."""
    status, headers, body = call(sc, "POST", "/api/v1/streams", {"title": "Refused"}, sc.token)
    assert status == 503, body
    assert "key store" in body["error"], body
    assert int(headers["Retry-After"]) >= 1, dict(headers)


def metric(sc, name):
    text = sc.request("GET", "/metrics")[1].decode()
    m = re.search(r"^%s (\S+)$" % re.escape(name), text, re.M)
    assert m, "%s not in /metrics:\n%s" % (name, text)
    return float(m.group(1))


def last_msn(sc, sid):
    """Media sequence number of the newest segment of the first rendition, or None."""
    def get(path):
        try:
            with urllib.request.urlopen("http://127.0.0.1:%d/hls/%s/%s" % (sc.http_port, sid, path),
                                        timeout=15) as r:
                return r.read().decode()
        except urllib.error.HTTPError:
            return None
    master = get("master.m3u8")
    if not master:
        return None
    rung = [l for l in master.splitlines() if l and not l.startswith("#")][0]
    media = get(rung)
    segs = [l for l in (media or "").splitlines() if l and not l.startswith("#")]
    if not segs:
        return None
    return int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", media).group(1)) + len(segs) - 1


def goes_live(sc, key, seconds=3):
    """Publishes with ffmpeg; True when shopcast took the whole stream."""
    p = publish(sc.rtmp_url(key), seconds=seconds)
    _, err = p.communicate(timeout=90)
    return p.returncode == 0


def log_lines(sc, event):
    return [l for l in sc.read_log().splitlines() if "event=%s " % event in l]


@pytest.mark.parametrize("how", ["shutdown_nosave", "kill9"])
def test_live_stream_survives_a_redis_restart(own_redis, shopcast_factory, how):
    # SHUTDOWN NOSAVE of an in-memory Redis: it comes back empty. kill -9 of one that writes its
    # append-only file before each reply: it comes back with everything.
    persist = how == "kill9"
    own_redis.start(persist=persist)
    sc = shopcast_factory("--ladder", "360p:500k", "--grace", "5")
    live, idle = sc.create_stream("Live honey"), sc.create_stream("Idle jam")
    pub = publish(sc.rtmp_url(live["key"]), seconds=120)
    try:
        wait_until(lambda: last_msn(sc, live["id"]) is not None, 40, "live playlist")
        getattr(own_redis, how)()
        wait_until(lambda: health(sc) == 503, 15, "/healthz to say Redis is down")
        assert_unavailable(sc)
        before = last_msn(sc, live["id"])
        wait_until(lambda: last_msn(sc, live["id"]) >= before + 3, 30,
                   "the live stream to go on while Redis is down")
        assert metric(sc, "shopcast_redis_up") == 0
        own_redis.start()
        wait_until(lambda: health(sc) == 200, 20, "/healthz to recover")
        assert pub.poll() is None, "the publisher was cut off"
        assert sc.stream(live["id"])["live"]
        made = sc.create_stream("After the restart")
        assert goes_live(sc, made["key"]), sc.read_log()
        if persist:
            assert goes_live(sc, idle["key"]), sc.read_log()
        else:
            # Redis lost it: the idle stream is forgotten on reload; the live one plays on.
            wait_until(lambda: sc.request("GET", "/api/v1/streams/" + idle["id"])[0] == 404, 10,
                       "the stream Redis lost to be forgotten")
            assert sc.stream(live["id"])["live"]
        before = last_msn(sc, live["id"])
        wait_until(lambda: last_msn(sc, live["id"]) > before, 20, "the live stream to go on")
    finally:
        pub.kill()
        pub.wait()
    # One line when it went down, one when it came back with the outage and the attempts.
    assert len(log_lines(sc, "redis_down")) == 1, sc.read_log()
    back = [l for l in log_lines(sc, "redis_ready") if "outage_s=" in l]
    assert len(back) == 1 and re.search(r"attempts=\d+", back[0]), sc.read_log()
    assert metric(sc, "shopcast_redis_up") == 1
    assert metric(sc, "shopcast_redis_reconnects_total") == 1
    assert metric(sc, "shopcast_redis_outage_seconds_total") > 0
    # Each refused attempt was seen as refused, not left to time out.
    assert metric(sc, 'shopcast_redis_timeouts_total{what="connection"}') == 0


@pytest.mark.parametrize("mode,ms", [("ALL", 5000), ("WRITE", 2500)])
def test_client_pause_gives_503_with_retry_after(own_redis, shopcast_factory, mode, ms):
    # ALL: nothing answers, not even the heartbeat. WRITE: reads and PING are answered, but the
    # creation's transaction waits (and so does whatever is sent after it on the connection),
    # and it goes through once the pause is over: after its client was answered 503.
    own_redis.start()
    sc = shopcast_factory("--ladder", "off")
    assert own_redis.cli("CLIENT", "PAUSE", str(ms), mode) == "OK"
    assert_unavailable(sc)
    wait_until(lambda: call(sc, "POST", "/api/v1/streams", {"title": "After the pause"},
                            sc.token)[0] == 201, 30, "a stream to be created after the pause")
    # Late replies to the requests that already got their 503 did no harm: what this node lists
    # is what Redis holds, and no stream whose key nobody was given is left behind.
    def same():
        listed = {s["id"]: s["title"] for s in sc.request("GET", "/api/v1/streams")[1]["streams"]}
        return (set(listed) == set(own_redis.cli("SMEMBERS", sc.prefix + "streams").split())
                and "Refused" not in listed.values())
    wait_until(same, 15, "the registry to match Redis")
    timeouts = {w: metric(sc, 'shopcast_redis_timeouts_total{what="%s"}' % w)
                for w in ("request", "connection")}
    if mode == "WRITE":  # the request's deadline (redis-timeout-ms) comes before the connection's
        assert timeouts["request"] >= 1, timeouts
    else:
        assert timeouts["request"] + timeouts["connection"] >= 1, timeouts


def test_shopcast_started_before_redis(own_redis, shopcast_factory):
    sc = shopcast_factory("--ladder", "off", healthy=False)
    assert health(sc) == 503
    assert_unavailable(sc)
    own_redis.start()
    wait_until(lambda: health(sc) == 200, 20, "/healthz once Redis is up")
    s = sc.create_stream()
    assert goes_live(sc, s["key"]), sc.read_log()
    assert metric(sc, "shopcast_redis_reconnects_total") == 1
    # The refusal reached shopcast as such: no attempt was left hanging until its deadline.
    down = log_lines(sc, "redis_down")
    assert len(down) == 1 and "Connection refused" in down[0], sc.read_log()
    assert metric(sc, 'shopcast_redis_timeouts_total{what="connection"}') == 0


def test_known_key_goes_live_while_redis_is_down(own_redis, shopcast_factory):
    own_redis.start()
    sc = shopcast_factory("--ladder", "off")
    loaded = sc.create_stream("Learned when loaded")
    assert sc.stop() == 0
    sc.start()  # learns that key from Redis as it loads its streams
    wait_until(lambda: sc.request("GET", "/api/v1/streams/" + loaded["id"])[0] == 200, 10,
               "streams loaded")
    made = sc.create_stream("Learned when created")
    own_redis.kill9()
    wait_until(lambda: health(sc) == 503, 15, "/healthz to say Redis is down")
    for s in (loaded, made):
        assert goes_live(sc, s["key"]), sc.read_log()
        line = [l for l in log_lines(sc, "publish_accepted_offline") if "stream=%s " % s["id"] in l]
        assert line and 'key known to this node' in line[0], sc.read_log()
    # A key this node never learned is refused, and the log says why.
    assert not goes_live(sc, uuid.uuid4().hex)
    assert any("key not known to this node" in l for l in log_lines(sc, "publish_rejected"))
    assert metric(sc, 'shopcast_publish_total{result="accepted_offline"}') == 2


def test_hung_redis_is_dropped_and_remade(own_redis, shopcast_factory):
    own_redis.start()
    sc = shopcast_factory("--ladder", "off")
    s = sc.create_stream()
    own_redis.proc.send_signal(signal.SIGSTOP)  # the TCP connection stays up, nothing answers
    try:
        wait_until(lambda: health(sc) == 503, 20, "the heartbeat to find Redis hung")
        assert_unavailable(sc)
        assert goes_live(sc, s["key"]), sc.read_log()
    finally:
        own_redis.proc.send_signal(signal.SIGCONT)
    wait_until(lambda: health(sc) == 200, 30, "/healthz once Redis answers again")
    assert "heartbeat" in log_lines(sc, "redis_down")[0], sc.read_log()
    assert metric(sc, 'shopcast_redis_timeouts_total{what="connection"}') >= 1
    assert sc.create_stream()["id"]
