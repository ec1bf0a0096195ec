"""Small local HTTP servers that misbehave on purpose, for the egress tests.

They listen on loopback only, in daemon threads of the test process. Large answers are
generated lazily from one small buffer and stop as soon as the client hangs up, so the
servers add nothing to the memory the tests measure; compressed bombs are built once.
"""

import functools
import gzip
import json
import socket
import struct
import threading
import time
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

MIB = 1024 * 1024
GIB = 1024 * MIB
_ZEROS = b"\0" * (64 * 1024)


@functools.cache
def gzip_bomb(decoded_mib: int = 1024) -> bytes:
    """A valid gzip stream of `decoded_mib` MiB of zeros, about 1 KB per MiB, built fast.

    After a full flush the compressor starts afresh, so compressing the same MiB again
    gives the same bytes: the middle of the stream is one block repeated.
    """
    block = b"\0" * MIB
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    ending = compressor.flush()
    crc = 0
    for _ in range(decoded_mib):
        crc = zlib.crc32(block, crc)
    trailer = struct.pack("<II", crc, (decoded_mib * MIB) & 0xFFFFFFFF)
    return first + again * (decoded_mib - 1) + ending[:-8] + trailer


@functools.cache
def layered_gzip_bomb() -> bytes:
    """The 1 GiB bomb gzipped once more: a few KB that decode twice ("gzip, gzip")."""
    return gzip.compress(gzip_bomb(1024), compresslevel=9)


EMPTY_GZIP_MEMBER = gzip.compress(b"")


@functools.cache
def layered_empty_members(count: int) -> bytes:
    """Gzip of `count` empty gzip members: the inner layer grows, the output stays empty."""
    return gzip.compress(EMPTY_GZIP_MEMBER * count, compresslevel=9)


def gzip_layers(payload: bytes, layers: int) -> bytes:
    for _ in range(layers):
        payload = gzip.compress(payload)
    return payload


@dataclass
class Seen:
    """A request as the server received it."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes


class HostileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: "QuietServer"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _stream(self, total: int, piece: bytes, pause: float = 0.0) -> None:
        """Write `total` bytes made of `piece`, until done or the client hangs up."""
        sent = 0
        try:
            while sent < total:
                data = piece[: total - sent]
                self.wfile.write(data)
                sent += len(data)
                if pause:
                    self.wfile.flush()
                    time.sleep(pause)
        except OSError:
            pass

    def _query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.path).query).items()}

    def _handle(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(length, 4 * MIB)) if length else b""
        self.server.seen.append(
            Seen(self.command, self.path, {k: v for k, v in self.headers.items()}, body)
        )
        path = urlsplit(self.path).path
        query = self._query()
        route = getattr(self, "route_" + path.strip("/").replace("-", "_"), None)
        if route is None:
            self._send(404, b'{"result": "error", "message": "Not Found"}')
        else:
            route(query, body)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = _handle

    def route_ok(self, query: dict[str, str], body: bytes) -> None:
        echo = self.headers.get("X-Api-Key", "")
        payload = f'{{"result": "success", "echo": "{echo}", "path": "{self.path}"}}'.encode()
        self._send(200, payload, {"Content-Type": "application/json", "Set-Cookie": "s=1"})

    def route_echo(self, query: dict[str, str], body: bytes) -> None:
        payload = {
            "method": self.command,
            "path": self.path,
            "headers": dict(self.headers.items()),
            "body_bytes": len(body),
        }
        self._send(200, json.dumps(payload).encode(), {"Content-Type": "application/json"})

    def route_big(self, query: dict[str, str], body: bytes) -> None:
        self._send(200, b"x" * (3 * MIB), {"Content-Type": "text/plain"})

    def route_huge(self, query: dict[str, str], body: bytes) -> None:
        """1 GiB announced and streamed, generated from one 64 KiB buffer."""
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(GIB))
        self.end_headers()
        self._stream(GIB, _ZEROS)

    def route_gzip_bomb(self, query: dict[str, str], body: bytes) -> None:
        headers = {"Content-Type": "text/plain", "Content-Encoding": "gzip"}
        self._send(200, gzip_bomb(int(query.get("mib", "1024"))), headers)

    def route_layered_bomb(self, query: dict[str, str], body: bytes) -> None:
        headers = {"Content-Type": "text/plain", "Content-Encoding": "gzip, gzip"}
        self._send(200, layered_gzip_bomb(), headers)

    def route_empty_members(self, query: dict[str, str], body: bytes) -> None:
        """A gzip body of empty members that goes on and on, decoding to nothing."""
        count = int(query.get("count", "1000000"))
        self.send_response(200)
        self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(count * len(EMPTY_GZIP_MEMBER)))
        self.end_headers()
        self._stream(count * len(EMPTY_GZIP_MEMBER), EMPTY_GZIP_MEMBER * 3000)

    def route_layered_empty(self, query: dict[str, str], body: bytes) -> None:
        payload = layered_empty_members(int(query.get("count", "200000")))
        self._send(200, payload, {"Content-Encoding": "gzip, gzip"})

    def route_layers(self, query: dict[str, str], body: bytes) -> None:
        """A small JSON body gzipped `n` times, each layer named in Content-Encoding."""
        layers = int(query.get("n", "3"))
        payload = gzip_layers(b'{"layers": "all decoded"}', layers)
        encoding = query.get("encoding") or ", ".join(["gzip"] * layers)
        self._send(200, payload, {"Content-Type": "application/json", "Content-Encoding": encoding})

    def route_bad_gzip(self, query: dict[str, str], body: bytes) -> None:
        self._send(200, b"this is not gzip at all", {"Content-Encoding": "gzip"})

    def route_slow(self, query: dict[str, str], body: bytes) -> None:
        time.sleep(float(query.get("seconds", "3")))
        self._send(200, b"late")

    def route_drip(self, query: dict[str, str], body: bytes) -> None:
        """1000 bytes announced, one byte per `interval` seconds."""
        self.send_response(200)
        self.send_header("Content-Length", "1000")
        self.end_headers()
        self._stream(1000, b"x", pause=float(query.get("interval", "0.1")))

    def route_drip_head(self, query: dict[str, str], body: bytes) -> None:
        """A status line, then a header one byte per `interval` seconds, never finished."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Slow: ")
        self._stream(1000, b"s", pause=float(query.get("interval", "0.1")))

    def route_many_headers(self, query: dict[str, str], body: bytes) -> None:
        """10,000 small headers, written lazily."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\n")
        line = b"X-Filler: aaaaaaaaaaaaaaaaaaaaaaaa\r\n"
        self._stream(len(line) * int(query.get("count", "10000")), line * 100)
        self._stream(2, b"\r\n")
        self.close_connection = True  # no Content-Length: the body ends when we close

    def route_long_header(self, query: dict[str, str], body: bytes) -> None:
        """One header whose value is 16 MiB, written lazily."""
        self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Long: ")
        self._stream(16 * MIB, b"a" * (64 * 1024))
        self._stream(4, b"\r\n\r\n")
        self.close_connection = True

    def route_redirect(self, query: dict[str, str], body: bytes) -> None:
        status = int(query.get("status", "302"))
        self._send(status, b"", {"Location": query["to"]})

    def route_loop(self, query: dict[str, str], body: bytes) -> None:
        self._send(302, b"", {"Location": "/loop"})

    def route_chain(self, query: dict[str, str], body: bytes) -> None:
        left = int(query.get("n", "10"))
        if left <= 0:
            self._send(200, b'{"result": "end of the chain"}')
        else:
            self._send(302, b"", {"Location": f"/chain?n={left - 1}"})

    def route_reset(self, query: dict[str, str], body: bytes) -> None:
        self.connection.setsockopt(
            socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
        )
        # Close every reference to the socket so that the linger setting sends a RST.
        self.rfile.close()
        self.wfile.close()
        self.connection.close()


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], handler: type[BaseHTTPRequestHandler]) -> None:
        self.seen: list[Seen] = []
        self.connections = 0
        super().__init__(address, handler)

    def verify_request(self, request: object, client_address: object) -> bool:
        self.connections += 1
        return True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the hostile handlers break their own connections on purpose


class QuietServerV6(QuietServer):
    address_family = socket.AF_INET6


@dataclass
class Served:
    """A running server: where it listens and what it has seen."""

    host: str
    port: int
    server: QuietServer = field(repr=False)

    @property
    def base(self) -> str:
        shown = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{shown}:{self.port}"

    @property
    def seen(self) -> list[Seen]:
        return self.server.seen

    @property
    def connections(self) -> int:
        return self.server.connections


@contextmanager
def serving(
    host: str = "127.0.0.1", handler: type[BaseHTTPRequestHandler] = HostileHandler
) -> Iterator[Served]:
    """Serve `handler` on a loopback address; yields a Served."""
    cls = QuietServerV6 if ":" in host else QuietServer
    server = cls((host, 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield Served(host=host, port=server.server_address[1], server=server)
    finally:
        server.shutdown()
        server.server_close()


@contextmanager
def hostile_server() -> Iterator[str]:
    """Serve HostileHandler on 127.0.0.1; yields the base URL."""
    with serving() as served:
        yield served.base


def closed_port() -> int:
    """A loopback port on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
