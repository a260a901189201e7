"""A node started from a shell or a systemd unit gets a soft limit of 1024 open files; shopcast
raises it to the hard limit itself, so that more than a thousand viewers can be connected at once
(relay/main.c)."""
import resource
import socket

import pytest

VIEWERS = 1500


def soft_limit(pid):
    with open("/proc/%d/limits" % pid) as f:
        for line in f:
            if line.startswith("Max open files"):
                return int(line.split()[3])
    raise AssertionError("no open-files line in /proc/%d/limits" % pid)


def test_more_viewers_than_a_1024_soft_limit(shopcast_factory):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY and hard < 2 * VIEWERS + 200:
        pytest.skip("the hard limit (%d) leaves no room for %d viewers" % (hard, VIEWERS))
    resource.setrlimit(resource.RLIMIT_NOFILE, (1024, hard))  # as a shell gives it
    try:
        sc = shopcast_factory()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))  # this test's own sockets
    assert soft_limit(sc.proc.pid) > VIEWERS
    socks = []
    try:
        for _ in range(VIEWERS):  # all open at once, each with a request answered
            s = socket.create_connection(("127.0.0.1", sc.http_port), timeout=10)
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            socks.append(s)
        answered = 0
        for s in socks:
            head = b""
            while b"\r\n\r\n" not in head:
                chunk = s.recv(4096)
                assert chunk, "viewer %d of %d: closed unanswered" % (answered + 1, VIEWERS)
                head += chunk
            assert head.startswith(b"HTTP/1.1 200"), head[:80]
            answered += 1
        assert answered == VIEWERS
        assert sc.request("GET", "/healthz")[0] == 200  # and one more
    finally:
        for s in socks:
            s.close()
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
