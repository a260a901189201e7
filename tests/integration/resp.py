"""The least Redis client the integration tests need: binary safe (RESP2), one connection, one
command at a time, so a test can read and compare Redis's own bytes (DUMP, GET, FCALL)."""
import socket
import urllib.parse


class RedisError(Exception):
    pass


class Resp:
    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port or 6379), timeout=30)
        self.f = self.sock.makefile("rb")

    @staticmethod
    def _encode(args):
        args = [a if isinstance(a, bytes) else str(a).encode() for a in args]
        return b"*%d\r\n" % len(args) + b"".join(b"$%d\r\n%s\r\n" % (len(a), a) for a in args)

    def __call__(self, *args):
        self.sock.sendall(self._encode(args))
        return self._read()

    def pipeline(self, *commands):
        """Several commands in one write, so Redis runs them back to back; their replies."""
        self.sock.sendall(b"".join(self._encode(c) for c in commands))
        return [self._read() for _ in commands]

    def _read(self):
        line = self.f.readline()[:-2]
        kind, rest = line[:1], line[1:]
        if kind == b"+":
            return rest.decode()
        if kind == b"-":
            raise RedisError(rest.decode())
        if kind == b":":
            return int(rest)
        if kind == b"$":
            n = int(rest)
            return None if n < 0 else self.f.read(n + 2)[:-2]
        if kind == b"*":
            n = int(rest)
            return None if n < 0 else [self._read() for _ in range(n)]
        raise RedisError("bad reply %r" % line)

    def close(self):
        self.sock.close()


def keys_under(r, prefix):
    """Every key whose name starts with prefix (SCAN, so a big database is not blocked)."""
    keys, cursor = [], b"0"
    while True:
        cursor, batch = r("SCAN", cursor, "MATCH", prefix + "*", "COUNT", 1000)
        keys += batch
        if cursor == b"0":
            return sorted(keys)
