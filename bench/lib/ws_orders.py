#!/usr/bin/python3
"""The publisher of bench/ws_fanout.sh: COUNT orders at RATE a second on a fixed schedule, order i
(from 1) with qty i, so that bench/ws_client.c matches each `order` message by its qty. Writes
"qty confirm_us" lines (Unix µs: CLOCK_REALTIME, the load client's clock).

  ws_orders.py redis PORT STREAM_KEY PRODUCT COUNT RATE OUT.tsv
      FCALL shopcast_order straight to Redis (as a shop platform would); confirm_us is when
      Redis's reply arrived: the order is counted, and its event is on its way to shopcast.
  ws_orders.py line PORT COUNT RATE OUT.tsv
      the peer (bench/lib/ws_peer.py): one line "qty" per order on a TCP connection; confirm_us
      is just before the line is sent (earlier than any acknowledgement: the peer's figure
      includes everything after the publish)."""
import os
import socket
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from order_probe import read_reply, resp  # noqa: E402


def paced(count, rate):
    t0 = time.monotonic() + 0.2
    for i in range(1, count + 1):
        delay = t0 + (i - 1) / rate - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        yield i


def redis(port, key, product, count, rate, out):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    f = s.makefile("rb")
    tag = "%x" % int(time.time() * 1000)
    with open(out, "w") as o:
        for i in paced(int(count), float(rate)):
            s.sendall(resp(["FCALL", "shopcast_order", 1, key, "w%s-%d" % (tag, i), product, i,
                            "", "", 86400, 100000]))
            status, body = read_reply(f)
            confirmed = time.time_ns() // 1000
            if status != 201:
                raise SystemExit("order %d: %s %s" % (i, status, body))
            o.write("%d %d\n" % (i, confirmed))


def line(port, count, rate, out):
    s = socket.create_connection(("127.0.0.1", int(port)))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    with open(out, "w") as o:
        for i in paced(int(count), float(rate)):
            o.write("%d %d\n" % (i, time.time_ns() // 1000))
            s.sendall(b"%d\n" % i)


if __name__ == "__main__":
    {"redis": redis, "line": line}[sys.argv[1]](*sys.argv[2:])
