"""A small RTMP publisher for what FFmpeg 5.1's CLI cannot send: Enhanced RTMP HEVC, as newer OBS
versions do, and the legacy codec-id-12 HEVC of Chinese CDNs.

Media comes from a real encoder: the ffmpeg CLI encodes an MP4, and ffprobe hands over its
packets (length-prefixed NAL units) and decoder configurations byte for byte.
"""
import json
import os
import socket
import struct
import subprocess
import time

CHUNK = 4096


def amf(*values):
    """AMF0: str, float, bool, None and dict (as an object)."""
    out = b""
    for v in values:
        if isinstance(v, bool):
            out += b"\x01" + bytes([v])
        elif isinstance(v, str):
            out += b"\x02" + struct.pack(">H", len(v)) + v.encode()
        elif isinstance(v, (int, float)):
            out += b"\x00" + struct.pack(">d", float(v))
        elif v is None:
            out += b"\x05"
        else:
            out += b"\x03" + b"".join(struct.pack(">H", len(k)) + k.encode() + amf(x)
                                       for k, x in v.items()) + b"\x00\x00\x09"
    return out


def chunks(csid, msg_type, payload, stream_id=0, ts=0, size=128):
    """One message as a type-0 chunk and type-3 continuations (RTMP spec 1.0 section 5.3)."""
    ext = ts >= 0xFFFFFF
    hdr = bytes([csid]) + (0xFFFFFF if ext else ts).to_bytes(3, "big")
    hdr += len(payload).to_bytes(3, "big") + bytes([msg_type]) + struct.pack("<I", stream_id)
    tsx = struct.pack(">I", ts) if ext else b""
    out = hdr + tsx + payload[:size]
    for i in range(size, len(payload), size):
        out += bytes([0xC0 | csid]) + tsx + payload[i:i + size]
    return out


def extract(path):
    """Decoder configuration and packets of each stream of a media file, through ffprobe."""
    info = json.loads(subprocess.run(
        ["ffprobe", "-v", "error", "-show_streams", "-show_packets", "-show_data", "-of", "json",
         path], check=True, capture_output=True, text=True).stdout)

    def unhex(dump):
        return bytes.fromhex("".join(line[10:50].replace(" ", "") for line in dump.splitlines()))

    streams = {s["index"]: dict(s, config=unhex(s.get("extradata", "")), packets=[])
               for s in info["streams"]}
    for p in info["packets"]:
        tb = streams[p["stream_index"]]["time_base"].split("/")
        ms = lambda v: int(int(v) * 1000 * int(tb[0]) / int(tb[1]))
        streams[p["stream_index"]]["packets"].append(
            (ms(p["dts"]), ms(p["pts"]) - ms(p["dts"]), "K" in p["flags"], unhex(p["data"])))
    return {s["codec_type"]: s for s in streams.values()}


def video_tag(style, kind, key=False, cts=0, data=b""):
    """FLV video tag body. style "ertmp": IsExHeader + FourCC hvc1; "id12": HEVC in the legacy
    layout; "avc": plain H.264 (codec id 7)."""
    if style == "ertmp":
        ptype = {"config": 0, "frame": 1, "end": 2}[kind]
        body = bytes([0x80 | ((1 if key or kind == "config" else 2) << 4) | ptype]) + b"hvc1"
        return body + (cts.to_bytes(3, "big", signed=True) if kind == "frame" else b"") + data
    ptype = {"config": 0, "frame": 1, "end": 2}[kind]
    codec_id = 7 if style == "avc" else 12
    return bytes([((1 if key or kind == "config" else 2) << 4) | codec_id, ptype]) + \
        cts.to_bytes(3, "big", signed=True) + data


def handshake(sock):
    """Client side of the simple handshake (section 5.2); checks that S2 echoes C1.
    Returns whatever arrived after S2."""
    c1 = bytes(8) + os.urandom(1528)
    sock.sendall(b"\x03" + c1)
    got = b""
    while len(got) < 3073:
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed during handshake")
        got += data
    assert got[0] == 3 and got[1 + 1536 + 8:3073] == c1[8:], "S2 must echo C1"
    sock.sendall(got[1:1537])
    return got[3073:]


class Publisher:
    def __init__(self, host, port):
        self.sock = socket.create_connection((host, port), timeout=10)
        self.received = b""

    def handshake(self):
        self.received = handshake(self.sock)

    def read_for(self, seconds):
        self.sock.settimeout(0.1)
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            try:
                data = self.sock.recv(65536)
                if not data:
                    break
                self.received += data
            except socket.timeout:
                pass
        self.sock.settimeout(10)
        return self.received

    def publish(self, key, app="live"):
        """The publish command flow OBS uses; returns True on NetStream.Publish.Start."""
        self.handshake()
        self.sock.sendall(
            chunks(2, 1, struct.pack(">I", CHUNK)) +
            chunks(3, 20, amf("connect", 1, {"app": app, "type": "nonprivate",
                                             "flashVer": "FMLE/3.0 (compatible; FMSc/1.0)",
                                             "tcUrl": "rtmp://127.0.0.1/" + app,
                                             "fourCcList": "hvc1"}), size=CHUNK) +
            chunks(3, 20, amf("releaseStream", 2, None, key), size=CHUNK) +
            chunks(3, 20, amf("FCPublish", 3, None, key), size=CHUNK) +
            chunks(3, 20, amf("createStream", 4, None), size=CHUNK) +
            chunks(4, 20, amf("publish", 5, None, key, "live"), stream_id=1, size=CHUNK))
        return b"NetStream.Publish.Start" in self.read_for(1.5)

    def send(self, msg_type, ts, body):
        csid = 6 if msg_type == 9 else 4
        self.sock.sendall(chunks(csid, msg_type, body, stream_id=1, ts=ts, size=CHUNK))

    def send_media(self, media, style, offset=0, mangle=None, pace=False, config=True):
        """Video in the given style and AAC audio, interleaved by timestamp, starting at offset
        ms. mangle(ts, kind, body) may return a changed body (or None to drop the message).
        With pace, messages go out in real time, as an encoder sends them. config=False leaves
        out the video sequence header (no SPS/PPS), as a broken encoder might."""
        v, a = media["video"], media["audio"]
        if config:
            self.send(9, offset, video_tag(style, "config", data=v["config"]))
        self.send(8, offset, b"\xaf\x00" + a["config"])
        # RTMP timestamps are unsigned: start at 0 as encoders do, B-frame delay or not.
        base = offset - min(0, v["packets"][0][0], a["packets"][0][0])
        items = [(d + base, 9, video_tag(style, "frame", k, c, data))
                 for d, c, k, data in v["packets"]]
        items += [(d + base, 8, b"\xaf\x01" + data) for d, _, _, data in a["packets"]]
        start = time.monotonic()
        for ts, t, body in sorted(items, key=lambda x: (x[0], x[1])):
            if pace:
                time.sleep(max(0, (ts - base) / 1000 - (time.monotonic() - start)))
            if mangle:
                body = mangle(ts, t, body)
            if body is not None:
                self.send(t, ts, body)
        return items[-1][0]

    def unpublish(self, key):
        self.sock.sendall(chunks(3, 20, amf("FCUnpublish", 6, None, key), size=CHUNK) +
                          chunks(3, 20, amf("deleteStream", 7, None, 1.0), size=CHUNK))
        self.read_for(0.5)
        self.sock.close()
