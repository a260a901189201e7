"""One host must not lock sellers out: connections that never publish give way to a real ffmpeg
publisher with a valid key, and one source holds at most rtmp-max-pending-per-ip of them.

The idle timeout is set far beyond the test's length (rtmp-timeout 600), so that nothing here is
closed by it: whatever the server closes, it closes to make room."""
import re
import select
import signal
import socket
import struct

import pytest

from conftest import wait_until
from media import publish
from rtmp_client import chunks

FLOOD = 400
MAX_CONNECTIONS = 256  # the default rtmp-max-connections
PENDING_PER_IP = 8  # the default rtmp-max-pending-per-ip
QUIET = ("--rtmp-timeout", "600")


def metrics(sc):
    """Prometheus samples as {'name{labels}': value}."""
    status, body = sc.request("GET", "/metrics")
    assert status == 200
    return {l.rsplit(" ", 1)[0]: float(l.rsplit(" ", 1)[1])
            for l in body.decode().splitlines() if l and not l.startswith("#")}


def handled(sc):
    """Connections the server has taken from its listen queue: accepted or refused."""
    m = metrics(sc)
    return m["shopcast_rtmp_accepted_total"] + m["shopcast_rtmp_refused_total"]


def connect_from(sc, source, n):
    """n TCP connections from address source to the RTMP port, each sending one byte (the C0 of
    a handshake it never finishes), kept open; returns once the server has taken all of them."""
    before, socks = handled(sc), []
    for _ in range(n):
        s = socket.socket()
        s.bind((source, 0))
        s.connect(("127.0.0.1", sc.rtmp_port))
        try:
            s.sendall(b"\x03")
        except OSError:
            pass  # refused at once by the server
        socks.append(s)
    wait_until(lambda: handled(sc) >= before + n, 30, "the server to take %d connections" % n)
    return socks


def closed_by_server(s):
    try:
        return s.recv(1, socket.MSG_DONTWAIT | socket.MSG_PEEK) == b""
    except BlockingIOError:
        return False  # open, nothing to read: the server is waiting for the rest of C0+C1
    except ConnectionResetError:
        return True


def go_live(sc, title):
    s = sc.create_stream(title)
    p = publish(sc.rtmp_url(s["key"]), seconds=60)

    def live():
        if p.poll() is not None:
            raise AssertionError("ffmpeg exited with %s: %s" % (p.returncode,
                                                                 p.stderr.read().decode()))
        return sc.stream(s["id"])["live"]

    wait_until(live, 30, "stream %s live" % s["id"])
    wait_until(lambda: sc.request("GET", "/hls/%s/master.m3u8" % s["id"])[0] == 200, 30,
               "master playlist of %s" % s["id"])
    return s, p


def stop(publishers):
    for p in publishers:
        p.kill()
        p.wait()


def logged_evictions(sc, reason):
    return sum(int(n) for n in re.findall(r"event=rtmp_evicted reason=%s count=(\d+)" % reason,
                                          sc.read_log()))


@pytest.mark.parametrize("per_ip", [None, "0"], ids=["per_ip_cap", "no_per_ip_cap"])
def test_flood_from_one_host_never_keeps_a_seller_out(shopcast_factory, per_ip):
    """With the default per-source cap the flood evicts its own connections; without it the flood
    fills the table, and the oldest connection that has not published gives way."""
    extra = QUIET + (("--rtmp-max-pending-per-ip", per_ip) if per_ip else ())
    sc = shopcast_factory(*extra)
    flood, publishers = [], []
    try:
        flood += connect_from(sc, "127.0.0.2", FLOOD)
        a, pa = go_live(sc, "Wild mountain honey")
        publishers.append(pa)
        flood += connect_from(sc, "127.0.0.2", FLOOD)  # again, at once
        b, pb = go_live(sc, "Roast chicken")
        publishers.append(pb)
        assert sc.stream(a["id"])["live"]  # a publisher is never evicted

        m = metrics(sc)
        reason = "per_ip" if per_ip is None else "table_full"
        other = "table_full" if per_ip is None else "per_ip"
        evicted = m['shopcast_rtmp_evicted_total{reason="%s"}' % reason]
        # all but the cap (or all but what fits in the table) of the two floods were evicted
        kept = PENDING_PER_IP if per_ip is None else MAX_CONNECTIONS
        assert evicted >= 2 * FLOOD - kept, m
        assert m['shopcast_rtmp_evicted_total{reason="%s"}' % other] == 0, m
        assert m["shopcast_rtmp_refused_total"] == 0, m
        # one summary line a second, not one line per connection
        wait_until(lambda: logged_evictions(sc, reason) == evicted, 10, "evictions logged")
        lines = re.findall(r"event=rtmp_evicted", sc.read_log())
        assert len(lines) < evicted / 10, len(lines)
        assert "evicted:" not in sc.read_log()  # the closes themselves are debug lines
    finally:
        stop(publishers)
        for s in flood:
            s.close()


def test_one_source_keeps_at_most_its_cap_of_unpublished_connections(shopcast_factory):
    sc = shopcast_factory(*QUIET)
    other = connect_from(sc, "127.0.0.4", PENDING_PER_IP)
    socks = connect_from(sc, "127.0.0.3", 3 * PENDING_PER_IP)
    try:
        n = len(socks) - PENDING_PER_IP
        wait_until(lambda: sum(map(closed_by_server, socks)) >= n, 30,
                   "the server to close %d connections" % n)
        # the oldest gave way, the newest are kept, and another source lost nothing
        assert [closed_by_server(s) for s in socks] == [True] * n + [False] * PENDING_PER_IP
        assert not any(map(closed_by_server, other))
        m = metrics(sc)
        assert m['shopcast_rtmp_evicted_total{reason="per_ip"}'] == n, m
        assert m['shopcast_rtmp_evicted_total{reason="table_full"}'] == 0, m
        wait_until(lambda: metrics(sc)["shopcast_rtmp_connections"] == 2 * PENDING_PER_IP, 10,
                   "evicted connections closed")
    finally:
        for s in socks + other:
            s.close()


def test_seller_behind_the_flooders_address_gets_in(shopcast_factory):
    """A seller behind the same NAT as a flooder: its new connection evicts the flooder's oldest
    one, and then it is no longer the one that gives way (it got further than the flood)."""
    sc = shopcast_factory(*QUIET)
    flood = connect_from(sc, "127.0.0.1", FLOOD)
    try:
        _, p = go_live(sc, "Lychee")
        stop([p])
    finally:
        for s in flood:
            s.close()


def test_when_every_connection_publishes_a_new_one_is_refused(shopcast_factory):
    sc = shopcast_factory("--rtmp-max-connections", "1")
    s, p = go_live(sc, "Tea")
    try:
        (late,) = connect_from(sc, "127.0.0.5", 1)
        wait_until(lambda: closed_by_server(late), 10, "the new connection refused")
        late.close()
        assert metrics(sc)["shopcast_rtmp_refused_total"] == 1
        assert sc.stream(s["id"])["live"]
        wait_until(lambda: "event=rtmp_refused" in sc.read_log(), 10, "refusal logged")
    finally:
        stop([p])


PING = chunks(2, 4, struct.pack(">HI", 6, 0))  # user control: ping request (RTMP spec 7.1.7)


def stuck_pinger(sc, source):
    """A connection past the handshake that never reads, with a receive buffer as small as the
    kernel allows, and pings until the server has replies it cannot send: the server then stops
    reading from it too. Returns the socket once its sends have stalled for 2 s."""
    for _ in range(5):
        s = socket.socket()
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1024)
        s.bind((source, 0))
        s.connect(("127.0.0.1", sc.rtmp_port))
        s.sendall(b"\x03" + bytes(2 * 1536))  # C0 C1 C2 (simple handshake)
        s.setblocking(False)
        try:
            while True:
                try:
                    s.send(PING * 100)
                except BlockingIOError:
                    if not select.select([], [s], [], 2)[1]:
                        return s
        except OSError:  # closed for its reply backlog before the server stopped reading: again
            s.close()
    raise AssertionError("could not make a connection the server cannot drain")


def test_evicted_connection_that_never_drains_is_closed_at_once(shopcast_factory):
    """An evicted connection owes its peer nothing: even with replies the peer never read, it is
    closed at once, not after the flush timeout of a connection closing in good order."""
    sc = shopcast_factory("--rtmp-max-pending-per-ip", "1", *QUIET)
    stuck = stuck_pinger(sc, "127.0.0.6")
    (newer,) = connect_from(sc, "127.0.0.6", 1)  # over the cap of 1: the stuck one gives way
    try:
        wait_until(lambda: metrics(sc)["shopcast_rtmp_connections"] == 1, 10, "it closed")
        m = metrics(sc)
        assert m['shopcast_rtmp_evicted_total{reason="per_ip"}'] == 1, m
        assert m["shopcast_rtmp_hung_up_total"] == 0, m  # closed, not left to the flush timeout
        assert not closed_by_server(newer)
    finally:
        stuck.close()
        newer.close()


def test_closing_connection_that_never_drains_is_hung_up(shopcast_factory):
    """A connection closed for a timeout first sends what it owes; a peer that does not read never
    lets that finish. The server hangs such a connection up itself, so it frees its descriptor."""
    sc = shopcast_factory("--rtmp-timeout", "8")  # time enough for stuck_pinger to stall
    stuck = stuck_pinger(sc, "127.0.0.7")  # never publishes: closed for the publish timeout
    try:
        wait_until(lambda: metrics(sc)["shopcast_rtmp_hung_up_total"] == 1, 30,
                   "the stuck connection hung up")
        wait_until(lambda: metrics(sc)["shopcast_rtmp_connections"] == 0, 10, "it closed")
        assert "publish timeout" in sc.read_log()
    finally:
        stuck.close()


def stopped(pid):
    with open("/proc/%d/stat" % pid) as f:
        return f.read().rsplit(")", 1)[1].split()[0] in ("T", "t")


def test_connection_closed_for_its_bytes_is_not_evicted_too(shopcast_factory):
    """A connection being closed holds no slot: a newer one from its source, accepted in the same
    turn of the server's loop, must not evict it as well (it would be counted twice, and while it
    held a slot it could cost another connection its own). The server is stopped while the bad
    bytes and the new connection arrive, so that one wake-up brings both, the bytes first."""
    sc = shopcast_factory("--rtmp-max-pending-per-ip", "1", *QUIET)
    before = handled(sc)
    bad = socket.socket()
    bad.bind(("127.0.0.8", 0))
    bad.connect(("127.0.0.1", sc.rtmp_port))
    wait_until(lambda: handled(sc) == before + 1, 10, "the server to take the connection")
    newer = socket.socket()
    newer.bind(("127.0.0.8", 0))
    sc.proc.send_signal(signal.SIGSTOP)
    try:
        wait_until(lambda: stopped(sc.proc.pid), 10, "the server to stop")
        bad.sendall(b"\x00")  # C0 with an RTMP version that does not exist
        newer.connect(("127.0.0.1", sc.rtmp_port))  # the kernel completes it meanwhile
    finally:
        sc.proc.send_signal(signal.SIGCONT)
    try:
        wait_until(lambda: closed_by_server(bad), 10, "the bad connection closed")
        wait_until(lambda: handled(sc) == before + 2, 10, "the server to take the new one")
        m = metrics(sc)
        assert m["shopcast_rtmp_protocol_errors_total"] == 1, m
        assert m['shopcast_rtmp_evicted_total{reason="per_ip"}'] == 0, m
        assert not closed_by_server(newer)
    finally:
        bad.close()
        newer.close()
