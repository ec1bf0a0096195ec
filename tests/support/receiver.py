"""A local webhook receiver (127.0.0.1 only) that records what it is sent and can be told
to fail the next N deliveries with a 500."""

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


@dataclass(frozen=True)
class Received:
    headers: dict[str, str]
    body: bytes
    answered: int


@dataclass
class Receiver:
    url: str = ""
    fail_next: int = 0
    received: list[Received] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def accepted(self) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.answered == 200]

    def wait_for(self, count: int, *, timeout: float = 60, accepted: bool = True) -> None:
        deadline = time.monotonic() + timeout
        while True:
            with self.lock:
                got = len([r for r in self.received if r.answered == 200 or not accepted])
            if got >= count:
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"the receiver got {got} deliveries, not {count}")
            time.sleep(0.1)


class _Handler(BaseHTTPRequestHandler):
    receiver: Receiver
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.receiver.lock:
            status = 500 if self.receiver.fail_next > 0 else 200
            self.receiver.fail_next = max(0, self.receiver.fail_next - 1)
            self.receiver.received.append(Received(dict(self.headers.items()), body, status))
        self.send_response(status)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def webhook_receiver(port: int = 0) -> Iterator[Receiver]:
    """A receiver on `port` (a free one when 0): one that was down comes back at its
    address when given the same port."""
    receiver = Receiver()
    handler = type("Handler", (_Handler,), {"receiver": receiver})
    server = ThreadingHTTPServer(("127.0.0.1", port), handler)
    server.daemon_threads = True
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
