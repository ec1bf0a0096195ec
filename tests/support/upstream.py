"""Local upstreams for system tests: one counts the requests it receives, by path (the proof
of how many times a run's request was really sent; `?slow=N` answers after N seconds;
`/nested` answers 400 with JSON nested 1,000 levels deep); one
echoes a key back in every encoding (the proof that none of them is kept)."""

import base64
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, urlsplit


@dataclass
class CountingUpstream:
    url: str  # http://127.0.0.1:<port>
    received: Counter[str] = field(default_factory=Counter)  # path -> requests
    lock: threading.Lock = field(default_factory=threading.Lock)

    def count(self, path: str) -> int:
        with self.lock:
            return self.received[path]

    def wait_for(self, path: str, count: int = 1, timeout: float = 30) -> None:
        deadline = time.monotonic() + timeout
        while self.count(path) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{path} received {self.count(path)} requests, not {count}")
            time.sleep(0.05)


class _Handler(BaseHTTPRequestHandler):
    upstream: CountingUpstream
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        parts = urlsplit(self.path)
        with self.upstream.lock:
            self.upstream.received[parts.path] += 1
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        slow = float(parse_qs(parts.query).get("slow", ["0"])[0])
        if slow:
            time.sleep(slow)
        status, body = 200, json.dumps({"path": parts.path, "method": self.command}).encode()
        if parts.path == "/nested":  # a 400 whose JSON nests deeper than any parser takes
            status, body = 400, b"[" * 1000 + b"]" * 1000
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        except OSError:
            pass  # the client (a killed worker) is gone

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def counting_upstream() -> Iterator[CountingUpstream]:
    upstream = CountingUpstream(url="")
    handler = type("Handler", (_Handler,), {"upstream": upstream})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.server_close()


def key_encodings(key: str) -> dict[str, str]:
    """The forms an upstream may echo a key in: what the redaction policy must find."""
    data = key.encode()
    b32 = base64.b32encode(data).decode()
    return {
        "plain": key,
        "hex": data.hex(),
        "HEX": data.hex().upper(),
        "base64": base64.b64encode(data).decode(),
        "base64_unpadded": base64.b64encode(data).decode().rstrip("="),
        "base64url": base64.urlsafe_b64encode(data).decode().rstrip("="),
        "base32": b32,
        "base32_lower": b32.rstrip("=").lower(),
        "url": quote(key, safe=""),
        "every_byte": "".join(f"%{byte:02X}" for byte in data),
        "html_entities": "".join(f"&#{ord(char)};" for char in key),
        "html_hex_entities": "".join(f"&#x{ord(char):x};" for char in key),
        "basic": base64.b64encode(f"alice:{key}".encode()).decode(),
    }


@dataclass
class EchoingUpstream:
    """An upstream that echoes `key` back in every encoding of `key_encodings` (in its body,
    as JSON `\\u` escapes too, and in its headers), and keeps each raw request it got."""

    url: str
    key: str
    requests: list[bytes] = field(default_factory=list)  # request line, headers and body


class _EchoHandler(BaseHTTPRequestHandler):
    upstream: EchoingUpstream
    protocol_version = "HTTP/1.1"

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        head = f"{self.requestline}\r\n{str(self.headers).strip()}".encode("latin-1", "replace")
        self.upstream.requests.append(head + b"\r\n\r\n" + body)
        key = self.upstream.key
        fields = key_encodings(key)
        # Written by hand: a JSON serialiser would not escape every character.
        escaped = "".join(f"\\u{ord(char):04x}" for char in key)
        text = ", ".join(f'"{name}": {json.dumps(value)}' for name, value in fields.items())
        echoed = json.dumps(body.decode(errors="replace"))
        payload = f'{{{text}, "json_escapes": "{escaped}", "request_body": {echoed}}}'.encode()
        try:
            self.send_response(401, f"Key {key} refused")
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("X-Echo-Key", key)
            self.send_header("X-Echo-Hex", fields["hex"])
            self.send_header("Set-Cookie", f"session={key}; Path=/")
            self.send_header("Content-Location", f"/echo?token={key}&page=2")
            self.send_header("WWW-Authenticate", f'Basic realm="{fields["basic"]}"')
            self.end_headers()
            self.wfile.write(payload)
        except OSError:
            pass

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _answer

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def echoing_upstream(key: str) -> Iterator[EchoingUpstream]:
    upstream = EchoingUpstream(url="", key=key)
    handler = type("EchoHandler", (_EchoHandler,), {"upstream": upstream})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    upstream.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield upstream
    finally:
        server.shutdown()
        server.server_close()
