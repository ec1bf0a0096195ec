"""Certificates made on the fly and an https test server that records the SNI it got."""

import datetime
import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.servers import HostileHandler, QuietServer, Served

_DAY = datetime.timedelta(days=1)


@dataclass(frozen=True)
class Issuer:
    name: x509.Name
    key: ec.EllipticCurvePrivateKey


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(common_name: str = "Egress Test CA") -> tuple[Issuer, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _DAY)
        .not_valid_after(now + 30 * _DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .sign(key, hashes.SHA256())
    )
    return Issuer(name=cert.subject, key=key), cert


def make_leaf(
    hostname: str, issuer: Issuer | None, *, expired: bool = False
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for `hostname`, signed by `issuer` or by itself when None."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.UTC)
    start, end = (now - 10 * _DAY, now - 2 * _DAY) if expired else (now - _DAY, now + 30 * _DAY)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(hostname))
        .issuer_name(issuer.name if issuer else _name(hostname))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .add_extension(
            x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer.key.public_key() if issuer else key.public_key()
            ),
            critical=False,
        )
    )
    return key, builder.sign(issuer.key if issuer else key, hashes.SHA256())


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
    context.sni_callback = lambda sock, name, ctx: sni.append(name)  # type: ignore[assignment]

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
