"""The TLS sandbox's servers: one small https server per certificate, on loopback ports.

Each answers any path with a small Kaiko-like JSON 200 that names its certificate, so a
client that accepts the certificate sees at once that the connection is fine; a client
that refuses it (the dashboard, for every case but ``good``) never gets that far. The TLS
handshake happens in the connection's own thread, so a client that stalls or hangs up
holds up no one else.
"""

import json
import socket
import socketserver
import ssl
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from cryptography import x509

from apps.sandbox.certificates import CASES, Case, SandboxCertificates

HANDSHAKE_TIMEOUT = 5.0  # seconds a client has to complete the handshake and its request


class PortTaken(OSError):
    """A port of the TLS sandbox is already in use."""

    def __init__(self, case: str, host: str, port: int, reason: str) -> None:
        super().__init__(f"{host}:{port} ({case}): {reason}")
        self.case = case
        self.host = host
        self.port = port
        self.reason = reason


def answer_body(case: Case, cert: x509.Certificate, path: str, now: datetime) -> dict[str, Any]:
    """What a client that completed the handshake gets, in Kaiko's success envelope."""
    return {
        "result": "success",
        "time": now.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "timestamp": int(now.timestamp() * 1000),
        "query": {"path": path, "certificate": case.name},
        "data": [
            {
                "certificate": case.name,
                "summary": case.summary,
                "subject": cert.subject.rfc4514_string(),
                "issuer": cert.issuer.rfc4514_string(),
                "not_valid_before": cert.not_valid_before_utc.isoformat(),
                "not_valid_after": cert.not_valid_after_utc.isoformat(),
                "dashboard_outcome": case.outcome,
            }
        ],
    }


class _Handler(BaseHTTPRequestHandler):
    server: "SandboxTLSServer"
    protocol_version = "HTTP/1.1"
    server_version = "sandbox-tls"
    sys_version = ""

    def _answer(self, *, with_body: bool) -> None:
        body = json.dumps(
            answer_body(self.server.case, self.server.cert, self.path, datetime.now(tz=UTC)),
            indent=2,
        ).encode()
        # The request body, if any, is not read: the connection closes after the answer.
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        if with_body:
            self.wfile.write(body)
        self.close_connection = True

    def do_GET(self) -> None:
        self._answer(with_body=True)

    def do_HEAD(self) -> None:
        self._answer(with_body=False)

    do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = do_GET

    def log_message(self, format: str, *args: Any) -> None:
        self.server.log(f"{self.server.case.name}: {self.address_string()} {format % args}")


class SandboxTLSServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_port = False  # a second sandbox on the same port must fail, not share it

    def __init__(
        self,
        address: tuple[str, int],
        *,
        case: Case,
        certificates: SandboxCertificates,
        log: Callable[[str], None],
    ) -> None:
        self.case = case
        self.log = log
        cert_file = certificates.cert_file(case.name)
        self.cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        self.context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        # The leaf alone, as a misconfigured server sends it: with an untrusted chain the
        # client says the issuer is unknown (not "self-signed certificate in the chain").
        self.context.load_cert_chain(cert_file, certificates.key_file(case.name))
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        # HTTPServer's would look up the host's FQDN (DNS); the name is not needed here.
        socketserver.TCPServer.server_bind(self)
        host, self.server_port = self.server_address[:2]
        self.server_name = str(host)

    def get_request(self) -> tuple[socket.socket, Any]:
        sock, client = super().get_request()
        sock.settimeout(HANDSHAKE_TIMEOUT)
        wrapped = self.context.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return wrapped, client

    def finish_request(self, request: Any, client_address: Any) -> None:
        try:
            request.do_handshake()
        except (ssl.SSLError, OSError) as exc:
            # The expected end for every case but "good": the client refused the certificate.
            self.log(f"{self.case.name}: {client_address[0]} handshake ended: {exc}")
            return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        self.log(f"{self.case.name}: {client_address[0]} connection ended early")


class TLSSandbox:
    """The five servers; binds every port or none."""

    def __init__(
        self,
        certificates: SandboxCertificates,
        *,
        host: str,
        ports: dict[str, int],
        log: Callable[[str], None] = lambda line: None,
    ) -> None:
        self.servers: list[SandboxTLSServer] = []
        self._threads: list[threading.Thread] = []
        try:
            for case in CASES:
                port = ports[case.name]
                try:
                    server = SandboxTLSServer(
                        (host, port), case=case, certificates=certificates, log=log
                    )
                except OSError as exc:
                    raise PortTaken(case.name, host, port, exc.strerror or str(exc)) from exc
                self.servers.append(server)
        except BaseException:
            self.close()
            raise

    @property
    def ports(self) -> dict[str, int]:
        """The ports actually bound (as asked, or chosen by the system for port 0)."""
        return {server.case.name: server.server_address[1] for server in self.servers}

    def start(self) -> None:
        for server in self.servers:
            thread = threading.Thread(
                target=server.serve_forever,
                kwargs={"poll_interval": 0.2},
                name=f"sandbox-tls-{server.case.name}",
                daemon=True,
            )
            thread.start()
            self._threads.append(thread)

    def close(self) -> None:
        for server, _ in zip(self.servers, self._threads, strict=False):
            server.shutdown()
        for server in self.servers:
            server.server_close()
        self.servers = []
        self._threads = []
