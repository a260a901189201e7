"""Media bodies offered in one send (relay/http/http.c; lws keeps what the socket refuses and
sends it as the socket drains): a viewer whose socket takes a body a little at a time gets all of
it, byte for byte, and its connection goes on to the next request; one who hangs up halfway costs
nothing; and the server answers everyone else meanwhile."""
import socket
import struct
import time

from conftest import wait_until
from test_hls import get, hls_server, live_stream, parse_media  # noqa: F401 (fixture)


def read_response(sock, pause=0.0):
    """(status, headers, body) of one HTTP/1.1 response with a Content-Length; pause: seconds
    between reads of the body, 4 KB each (a slow reader)."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(1)
        assert chunk, "connection closed inside the headers: %r" % head
        head += chunk
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:] if ":" in l)}
    want, body = int(headers["content-length"]), b""
    while len(body) < want:
        chunk = sock.recv(min(4096, want - len(body)))
        assert chunk, "connection closed after %d of %d body bytes" % (len(body), want)
        body += chunk
        time.sleep(pause)
    return status, headers, body


def slow_socket(sc):
    """A keep-alive connection with a small receive window, so the server's socket fills."""
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    s.connect(("127.0.0.1", sc.http_port))
    s.settimeout(30)
    return s


def ask(s, path):
    s.sendall(("GET %s HTTP/1.1\r\nHost: x\r\n\r\n" % path).encode())


def test_slow_and_vanishing_readers_of_media(hls_server):
    sc = hls_server
    _, pub, base = live_stream(sc, seconds=20)
    media = base + "/720p/media.m3u8"
    wait_until(lambda: len([x for x in parse_media(get(sc, media)[1].decode())[0]
                            if x["parts"]]) >= 2, 20, "segments with parts")
    segs = [x for x in parse_media(get(sc, media)[1].decode())[0] if x["parts"]]
    seg = segs[0]
    seg_url = base + "/720p/" + seg["uri"]
    part_urls = [base + "/720p/" + p[0] for p in seg["parts"]]
    whole = get(sc, seg_url)[1]
    assert len(whole) > 200000, "a segment larger than the socket takes at once"
    assert whole == b"".join(get(sc, u)[1] for u in part_urls)

    # A slow reader: the server's socket fills long before the segment is out. Meanwhile, with
    # the segment's rest still waiting for that reader, the server answers another request.
    slow = slow_socket(sc)
    ask(slow, seg_url)
    time.sleep(1)
    assert get(sc, media)[0] == 200
    status, _, body = read_response(slow, pause=0.001)
    assert status == 200 and body == whole
    # the same connection carries the next request: the transaction ended properly
    for u in part_urls:
        ask(slow, u)
        status, _, part = read_response(slow)
        assert status == 200 and part == get(sc, u)[1]
    slow.close()

    # Readers who hang up with most of a body still queued, abruptly (RST) or not.
    for abrupt in (True, False):
        for _ in range(5):
            s = slow_socket(sc)
            if abrupt:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            ask(s, seg_url)
            s.recv(1000)
            s.close()
    assert get(sc, seg_url)[1] == whole
    assert pub.wait(timeout=40) == 0  # the teardown checks the exit and the sanitizers' log
