#!/usr/bin/python3
"""The peer of bench/ws_fanout.sh: a trivial WebSocket fan-out with Debian's python3-websockets
(10.x, asyncio): subprotocol shopcast.v1, a `hello` for each `subscribe`, and each line "qty"
read on a control port sent to every subscribed client with websockets.broadcast (one write per
client, no copies of the message). No history, no offsets kept, no limits: the least a
fan-out server does.

  ws_peer.py WS_PORT CONTROL_PORT"""
import asyncio
import json
import sys

import websockets

subscribed = set()


async def client(ws, path=None):
    try:
        async for m in ws:
            if json.loads(m).get("type") == "subscribe":
                subscribed.add(ws)
                await ws.send(json.dumps({"type": "hello", "stream": "bench", "epoch": "e",
                                          "offset": 0}, separators=(",", ":")))
    except websockets.ConnectionClosed:
        pass
    finally:
        subscribed.discard(ws)


async def control(reader, writer):
    offset = 0
    while (line := await reader.readline()):
        offset += 1
        qty = int(line)
        websockets.broadcast(subscribed, json.dumps(
            {"type": "order", "stream": "bench", "epoch": "e", "offset": offset,
             "product": "honey", "name": "honey", "qty": qty}, separators=(",", ":")))


async def main(ws_port, control_port):
    await asyncio.start_server(control, "127.0.0.1", int(control_port))
    async with websockets.serve(client, "127.0.0.1", int(ws_port), subprotocols=["shopcast.v1"],
                                backlog=4096, max_queue=4, compression=None):
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(*sys.argv[1:3]))
