"""A local upstream that counts the requests it receives, by path: the proof of how many
times a run's request was really sent. `?slow=N` answers after N seconds."""

import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit


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
        body = json.dumps({"path": parts.path, "method": self.command}).encode()
        try:
            self.send_response(200)
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
