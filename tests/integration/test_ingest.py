"""RTMP ingest end to end: the real ffmpeg CLI publishes into the real shopcast binary."""
import os
import socket
import struct
import subprocess
import time

import pytest

from conftest import wait_until
from media import probe, publish
from rtmp_client import amf, chunks, handshake

SECONDS = 10
FPS = 30


def finish(proc, timeout=60):
    out, err = proc.communicate(timeout=timeout)
    return proc.returncode, err.decode(errors="replace")


def assert_recording(path, seconds=SECONDS, fps=FPS, width=640, height=360, rate=48000,
                     channels=2):
    streams, fmt = probe(path)
    v, a = streams["video"], streams["audio"]
    assert v["codec_name"] == "h264"
    assert (v["width"], v["height"]) == (width, height)
    # Every frame the publisher sent is in the file, none duplicated.
    assert int(v["nb_read_packets"]) == seconds * fps
    assert abs(float(fmt["duration"]) - seconds) < 0.25, fmt["duration"]
    assert a["codec_name"] == "aac"
    assert int(a["sample_rate"]) == rate
    assert int(a["channels"]) == channels


def test_publish_is_recorded_and_reported_live_then_offline(shopcast):
    s = shopcast.create_stream()
    assert "key" in s and s["rtmp_url"].endswith("/live/" + s["key"])
    p = publish(shopcast.rtmp_url(s["key"]), seconds=SECONDS, size="640x360", fps=FPS)

    def live_with_rates():
        st = shopcast.stream(s["id"])
        return st if st["live"] and st["video"] and st["video"]["keyframe_interval_s"] else None

    st = wait_until(live_with_rates, 15, "stream live with a measured keyframe interval")
    assert st["video"]["codec"] == "h264"
    assert (st["video"]["width"], st["video"]["height"]) == (640, 360)
    assert st["audio"] == {"codec": "aac", "sample_rate": 48000, "channels": 2}
    assert st["video"]["keyframe_interval_s"] == pytest.approx(2.0, abs=0.05)
    time.sleep(2)  # let the rate window fill
    st = shopcast.stream(s["id"])
    assert st["video"]["fps"] == pytest.approx(FPS, rel=0.2)
    assert st["video"]["bitrate_kbps"] > 0
    assert st["uptime_s"] > 0
    assert s["key"] not in str(shopcast.request("GET", "/api/v1/streams"))

    rc, err = finish(p)
    assert rc == 0, err
    wait_until(lambda: not shopcast.stream(s["id"])["live"], 10, "stream offline")
    files = shopcast.recordings(s["id"])
    assert len(files) == 1
    wait_until(lambda: "record_end" in shopcast.read_log(), 10, "recording closed")
    assert_recording(files[0])


def test_two_publishers_at_once(shopcast):
    a, b = shopcast.create_stream("Apples"), shopcast.create_stream("Roast chicken")
    pa = publish(shopcast.rtmp_url(a["key"]), size="640x360")
    pb = publish(shopcast.rtmp_url(b["key"]), size="320x240", rate=44100, channels=1)
    assert finish(pa)[0] == 0 and finish(pb)[0] == 0
    wait_until(lambda: shopcast.read_log().count("record_end") == 2, 10, "both recordings")
    assert_recording(shopcast.recordings(a["id"])[0])
    assert_recording(shopcast.recordings(b["id"])[0], width=320, height=240, rate=44100,
                     channels=1)


def test_bad_key_is_rejected_and_never_recorded(shopcast):
    s = shopcast.create_stream()
    p = publish(shopcast.rtmp_url("not-" + s["key"]), seconds=3)
    rc, err = finish(p)
    assert rc != 0
    assert "publish_rejected" in shopcast.read_log()
    assert not os.path.exists(os.path.join(shopcast.data_dir, "recordings"))
    assert not shopcast.stream(s["id"])["live"]


def test_deleted_stream_key_is_revoked(shopcast):
    s = shopcast.create_stream()
    status, _ = shopcast.request("DELETE", "/api/v1/streams/" + s["id"], token=shopcast.token)
    assert status == 204
    assert shopcast.request("GET", "/api/v1/streams/" + s["id"])[0] == 404
    rc, _ = finish(publish(shopcast.rtmp_url(s["key"]), seconds=3))
    assert rc != 0
    assert "unknown or revoked stream key" in shopcast.read_log()


def test_reconnect_on_same_key_is_accepted(shopcast):
    s = shopcast.create_stream()
    first = publish(shopcast.rtmp_url(s["key"]), seconds=30)
    wait_until(lambda: shopcast.stream(s["id"])["live"], 15, "first publisher live")
    # The same encoder comes back on a new connection while the old one is still open, as OBS
    # does after a network hiccup: the new session takes over instead of being refused as busy.
    second = publish(shopcast.rtmp_url(s["key"]), seconds=4)
    rc, err = finish(second)
    assert rc == 0, err
    assert "publish_replaced" in shopcast.read_log()
    assert shopcast.stream(s["id"])["sessions"] == 2
    first.wait(timeout=15)  # the replaced connection was closed by the server
    assert first.returncode != 0
    # And after a clean stop, publishing again on the same key works too.
    rc, err = finish(publish(shopcast.rtmp_url(s["key"]), seconds=3))
    assert rc == 0, err
    assert shopcast.stream(s["id"])["sessions"] == 3


def closed_by_server(sock, timeout=20):
    sock.settimeout(timeout)
    try:
        while sock.recv(65536):
            pass
        return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def publish_raw(sock, name):
    """connect, createStream and publish, as an encoder would, without waiting for replies."""
    handshake(sock)
    sock.sendall(chunks(3, 20, amf("connect", 1.0, {"app": "live", "tcUrl": "rtmp://x/live"})) +
                 chunks(3, 20, amf("createStream", 2.0, None)) +
                 chunks(8, 20, amf("publish", 3.0, None, name, "live"), stream_id=1))


# Each hostile input, and the reason the server must give in the log line that closes it.
HOSTILE = {
    "garbage handshake": (lambda s: s.sendall(b"\x07" + os.urandom(4000)),
                          "unsupported RTMP version"),
    "chunk size 0": (lambda s: (handshake(s), s.sendall(chunks(2, 1, bytes(4)))),
                     "chunk size out of range"),
    "chunk size 2^31": (lambda s: (handshake(s),
                                   s.sendall(chunks(2, 1, struct.pack(">I", 2 ** 31)))),
                        "chunk size out of range"),
    "message length overflow": (lambda s: (handshake(s), s.sendall(
        b"\x03\x00\x00\x00\xff\xff\xff\x14" + bytes(4))), "message too large"),
    "unknown message types": (lambda s: (handshake(s), s.sendall(
        b"".join(chunks(3, t, bytes(7)) for t in (0, 7, 10, 11, 21, 23, 99, 255)) +
        os.urandom(3000))), None),
    "bad amf": (lambda s: (handshake(s), s.sendall(chunks(3, 20, b"\x02\x00\x07connect\x11"))),
                "malformed AMF"),
    "truncated amf": (lambda s: (handshake(s), s.sendall(chunks(3, 20, b"\x02\x00\x09conn"))),
                      "truncated AMF"),
    "deep amf": (lambda s: (handshake(s),
                            s.sendall(chunks(3, 20, b"\x02\x00\x07connect\x00" + bytes(8) +
                                             b"\x03" + b"\x00\x01a\x03" * 500))),
                 "AMF nesting too deep"),
    "stream name over the limit": (lambda s: publish_raw(s, "k" * 300), "stream name too long"),
    # With 4-byte chunks, each message below stays partial after its first chunk, so every
    # chunk stream id holds state at once.
    "too many chunk streams": (lambda s: (handshake(s), s.sendall(
        chunks(2, 1, struct.pack(">I", 4)) +
        b"".join(chunks(c, 8, bytes(100))[:16] for c in range(4, 60)))),
        "too many chunk streams"),
    "fmt1 on unknown stream": (lambda s: (handshake(s), s.sendall(b"\x45" + bytes(7))),
                               "fmt 1 on unknown chunk stream"),
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_input_closes_only_that_connection(shopcast, name):
    s = shopcast.create_stream()
    good = publish(shopcast.rtmp_url(s["key"]), seconds=6)
    wait_until(lambda: shopcast.stream(s["id"])["live"], 15, "good publisher live")
    with socket.create_connection(("127.0.0.1", shopcast.rtmp_port)) as sock:
        send, reason = HOSTILE[name]
        send(sock)
        assert closed_by_server(sock), "server kept a hostile connection open"
    rc, err = finish(good)
    assert rc == 0, err
    wait_until(lambda: "record_end" in shopcast.read_log(), 10, "recording closed")
    assert_recording(shopcast.recordings(s["id"])[0], seconds=6)
    closes = [l for l in shopcast.read_log().splitlines() if "level=warn event=rtmp_close" in l]
    assert len(closes) == 1, closes
    if reason:
        assert 'reason="%s"' % reason in closes[0], closes[0]


def test_burst_of_garbage_then_good_publisher(shopcast):
    for _ in range(20):
        with socket.create_connection(("127.0.0.1", shopcast.rtmp_port)) as sock:
            try:
                sock.sendall(os.urandom(20000))
            except OSError:
                pass
    s = shopcast.create_stream()
    rc, err = finish(publish(shopcast.rtmp_url(s["key"]), seconds=4))
    assert rc == 0, err
    wait_until(lambda: "record_end" in shopcast.read_log(), 10, "recording closed")
    assert_recording(shopcast.recordings(s["id"])[0], seconds=4)
    _, metrics = shopcast.request("GET", "/metrics")
    samples = dict(l.rsplit(" ", 1) for l in metrics.decode().splitlines() if l[:1] != "#")
    # Each garbage connection was closed for its bytes, or, when more than
    # rtmp-max-pending-per-ip of them from this one host were waiting at once, evicted before
    # the server read them.
    assert int(samples["shopcast_rtmp_protocol_errors_total"]) + int(
        samples['shopcast_rtmp_evicted_total{reason="per_ip"}']) == 20, samples


def test_dribbling_connection_is_closed(shopcast_factory):
    sc = shopcast_factory("--rtmp-timeout", "2")
    with socket.create_connection(("127.0.0.1", sc.rtmp_port)) as sock:
        sock.settimeout(1)
        closed = False
        for i in range(30):  # one byte a second would take 25 minutes to finish the handshake
            try:
                sock.sendall(b"\x03" if i == 0 else b"\x00")
                if sock.recv(1) == b"":
                    closed = True
                    break
            except socket.timeout:
                continue
            except (ConnectionResetError, BrokenPipeError):
                closed = True
                break
        assert closed
    assert "handshake timeout" in sc.read_log()


def test_sigterm_during_publish_finalises_recording(shopcast_factory):
    sc = shopcast_factory()
    s = sc.create_stream()
    p = publish(sc.rtmp_url(s["key"]), seconds=30)
    wait_until(lambda: sc.stream(s["id"])["live"], 15, "live")
    time.sleep(3)
    assert sc.stop() == 0
    p.wait(timeout=15)
    streams, fmt = probe(sc.recordings(s["id"])[0])
    assert streams["video"]["codec_name"] == "h264"
    assert float(fmt["duration"]) > 2


def test_rtmps_publish(shopcast_factory, tmp_path):
    cert, key = str(tmp_path / "cert.pem"), str(tmp_path / "key.pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True)
    tls_port = __import__("conftest").free_port()
    sc = shopcast_factory("--tls-cert", cert, "--tls-key", key,
                          "--rtmps-listen", "127.0.0.1:%d" % tls_port)
    s = sc.create_stream()
    rc, err = finish(publish(sc.rtmp_url(s["key"], "rtmps", tls_port), seconds=4))
    assert rc == 0, err
    wait_until(lambda: "record_end" in sc.read_log(), 10, "recording closed")
    assert_recording(sc.recordings(s["id"])[0], seconds=4)


def test_stream_keys_survive_a_restart(shopcast_factory):
    sc = shopcast_factory()
    s = sc.create_stream("Apples from the orchard")
    assert sc.stop() == 0
    sc.start()
    listed = wait_until(lambda: [x for x in sc.request("GET", "/api/v1/streams")[1]["streams"]
                                 if x["id"] == s["id"]], 10, "stream loaded from Redis")
    assert listed[0]["title"] == "Apples from the orchard"
    rc, err = finish(publish(sc.rtmp_url(s["key"]), seconds=3))
    assert rc == 0, err
    assert sc.stream(s["id"])["sessions"] == 1
