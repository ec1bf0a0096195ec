"""Small local HTTP servers that misbehave on purpose, for the egress tests."""

import gzip
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class HostileHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        path = self.path.split("?")[0]
        if path == "/ok":
            echo = self.headers.get("X-Api-Key", "")
            body = f'{{"result": "success", "echo": "{echo}", "path": "{self.path}"}}'.encode()
            self._send(200, body, {"Content-Type": "application/json", "Set-Cookie": "s=1"})
        elif path == "/big":
            self._send(200, b"x" * (3 * 1024 * 1024), {"Content-Type": "text/plain"})
        elif path == "/gzip-bomb":
            payload = gzip.compress(b"\0" * (20 * 1024 * 1024))
            self._send(200, payload, {"Content-Type": "text/plain", "Content-Encoding": "gzip"})
        elif path == "/slow":
            time.sleep(3)
            self._send(200, b"late")
        elif path == "/drip":
            self.send_response(200)
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.1)
            except OSError:
                pass
        elif path == "/reset":
            self.connection.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00"
            )
            # Close every reference to the socket so that the linger setting sends a RST.
            self.rfile.close()
            self.wfile.close()
            self.connection.close()
        else:
            self._send(404, b'{"result": "error", "message": "Not Found"}')


class QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # the hostile handlers break their own connections on purpose


@contextmanager
def hostile_server() -> Iterator[str]:
    """Serve HostileHandler on 127.0.0.1; yields the base URL."""
    server = QuietServer(("127.0.0.1", 0), HostileHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def closed_port() -> int:
    """A loopback port on which nothing listens."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
