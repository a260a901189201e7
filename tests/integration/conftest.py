"""Fixtures for integration tests: a real redis-server and the real shopcast binary on free ports.

Redis: SHOPCAST_TEST_REDIS (a redis:// URL, as .ci/run provides) is used when set; otherwise one
redis-server is started for the session. Every test gets its own key prefix, so tests never see
each other's streams.
"""
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.environ.get("SHOPCAST_BIN", os.path.join(ROOT, "build", "relay", "shopcast"))


_given = set()


def free_port():
    """A port to listen on, from below the kernel's ephemeral range (32768-60999 by default): a
    port the kernel hands out for bind(0) may still be the local end of an outgoing connection in
    TIME-WAIT, and then a listener without SO_REUSEPORT cannot take it (EADDRINUSE), which a
    busy machine hits often."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            if port in _given:  # free now, but handed to another listener of this run
                continue
            _given.add(port)
            return port
    raise AssertionError("no free port in 20000-32000")


def wait_until(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        v = pred()
        if v:
            return v
        time.sleep(0.1)
    raise AssertionError("timed out waiting for " + what)


@pytest.fixture(scope="session")
def redis_url():
    url = os.environ.get("SHOPCAST_TEST_REDIS")
    if url:
        yield url
        return
    port = free_port()
    d = tempfile.mkdtemp(prefix="shopcast-redis-")
    p = subprocess.Popen(["redis-server", "--port", str(port), "--bind", "127.0.0.1",
                          "--save", "", "--appendonly", "no", "--dir", d],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(lambda: _can_connect(port), 10, "redis-server")
        yield "redis://127.0.0.1:%d" % port
    finally:
        p.terminate()
        p.wait()
        shutil.rmtree(d, ignore_errors=True)


def _can_connect(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5):
            return True
    except OSError:
        return False


class Shopcast:
    """One running shopcast process and helpers to talk to it."""

    def __init__(self, redis_url, tmp, extra=()):
        self.http_port = free_port()
        self.rtmp_port = free_port()
        self.data_dir = os.path.join(tmp, "data")
        self.prefix = "test-%s:" % uuid.uuid4().hex[:8]
        self.log_path = os.path.join(tmp, "shopcast.log")
        self.args = [BIN, "--http-listen", "127.0.0.1:%d" % self.http_port,
                     "--rtmp-listen", "127.0.0.1:%d" % self.rtmp_port,
                     "--redis", redis_url, "--redis-prefix", self.prefix,
                     "--data-dir", self.data_dir, "--record", "on",
                     "--web-dir", os.path.join(ROOT, "web")] + list(extra)
        self.proc = None

    def start(self, healthy=True):
        """Starts shopcast and waits for /healthz to say 200, or, with healthy=False (Redis not
        up on purpose), only for the HTTP port to answer."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(self.args, stdout=self.log, stderr=self.log)
        wait_until(lambda: self._healthy(healthy), 15, "shopcast /healthz")
        with open(os.path.join(self.data_dir, "operator-token")) as f:
            self.token = f.read().strip()
        return self

    def _healthy(self, need_ok=True):
        if self.proc.poll() is not None:
            raise AssertionError("shopcast exited with %s:\n%s" % (self.proc.returncode,
                                                                    self.read_log()))
        try:
            status = self.request("GET", "/healthz")[0]
        except OSError:
            return False
        return status == 200 or not need_ok

    def stop(self):
        """SIGTERM, as systemd would; returns the exit status."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                raise AssertionError("shopcast did not stop on SIGTERM")
        self.log.close()
        return self.proc.returncode

    def read_log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def request(self, method, path, body=None, token=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.http_port, path),
                                     data=data, method=method)
        if token:
            req.add_header("Authorization", "Bearer " + token)
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                raw = r.read()
                return r.status, json.loads(raw) if raw and "json" in r.headers.get(
                    "content-type", "") else raw
        except urllib.error.HTTPError as e:
            raw = e.read()
            return e.code, json.loads(raw) if raw else None

    def create_stream(self, title="Wild mountain honey"):
        status, body = self.request("POST", "/api/v1/streams", {"title": title}, self.token)
        assert status == 201, body
        return body

    def stream(self, sid):
        status, body = self.request("GET", "/api/v1/streams/" + sid)
        assert status == 200, body
        return body

    def rtmp_url(self, key, scheme="rtmp", port=None):
        return "%s://127.0.0.1:%d/live/%s" % (scheme, port or self.rtmp_port, key)

    def recordings(self, sid):
        d = os.path.join(self.data_dir, "recordings", sid)
        if not os.path.isdir(d):
            return []
        # the MP4 files; each has its VOD HLS folder beside it
        return sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".mp4"))


@pytest.fixture
def shopcast_factory(redis_url, tmp_path):
    started = []

    def make(*extra, start=True, healthy=True):
        sc = Shopcast(redis_url, str(tmp_path / ("sc%d" % len(started))), extra)
        os.makedirs(os.path.dirname(sc.log_path), exist_ok=True)
        started.append(sc)
        return sc.start(healthy) if start else sc

    yield make
    for sc in started:
        if sc.proc and sc.proc.poll() is None:
            rc = sc.stop()
            assert rc == 0, "shopcast exited with %d on SIGTERM:\n%s" % (rc, sc.read_log())
        assert "AddressSanitizer" not in sc.read_log(), sc.read_log()


@pytest.fixture
def shopcast(shopcast_factory):
    return shopcast_factory()
