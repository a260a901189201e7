"""Listen addresses are bound as configured: shopcast told to listen on 127.0.0.1 (as behind the
nginx edge, deploy/nginx-edge.conf) must not answer on any other address of the host."""
import socket


def reachable(family, addr, port):
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        try:
            s.connect((addr, port))
            return True
        except OSError:  # refused, or (for ::1) no IPv6 on this host
            return False


def test_loopback_listeners_are_bound_to_loopback_only(shopcast):
    sc = shopcast  # the fixture listens on 127.0.0.1 for HTTP and RTMP
    for port in (sc.http_port, sc.rtmp_port):
        assert reachable(socket.AF_INET, "127.0.0.1", port)
        # 127.0.0.2 and ::1 are the same loopback interface: only a wildcard socket accepts them
        assert not reachable(socket.AF_INET, "127.0.0.2", port), port
        assert not reachable(socket.AF_INET6, "::1", port), port
