"""PEM files of certificates (made with apps.sandbox.certificates) and an https test server
that records the SNI it got."""

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.support.servers import HostileHandler, QuietServer, Served


def write_pem(
    directory: Path,
    stem: str,
    cert: x509.Certificate,
    key: ec.EllipticCurvePrivateKey | None = None,
) -> Path:
    path = directory / f"{stem}.pem"
    data = cert.public_bytes(serialization.Encoding.PEM)
    if key is not None:
        data += key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    path.write_bytes(data)
    return path


@dataclass
class TLSServed(Served):
    sni: list[str | None] = field(default_factory=list)  # server names the clients asked for

    @property
    def base(self) -> str:
        return f"https://{self.host}:{self.port}"


@contextmanager
def tls_serving(cert_and_key: Path) -> Iterator[TLSServed]:
    """HostileHandler over TLS on 127.0.0.1, with the given certificate; records SNI."""
    sni: list[str | None] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_and_key)
    context.sni_callback = lambda sock, name, ctx: sni.append(name)

    class TLSServer(QuietServer):
        def get_request(self) -> tuple[ssl.SSLSocket, Any]:
            sock, address = super().get_request()
            sock.settimeout(5)
            return context.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            ), address

        def finish_request(self, request: ssl.SSLSocket, client_address: Any) -> None:  # type: ignore[override]
            try:
                request.do_handshake()
            except (ssl.SSLError, OSError):
                return  # the client refused our certificate: nothing more to serve
            super().finish_request(request, client_address)

    server = TLSServer(("127.0.0.1", 0), HostileHandler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield TLSServed(host="127.0.0.1", port=server.server_address[1], server=server, sni=sni)
    finally:
        server.shutdown()
        server.server_close()
