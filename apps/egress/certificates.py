"""What the server presented in a TLS handshake, summarised with `cryptography`."""

import contextlib
import socket
import ssl
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import NameOID

from apps.egress.types import Certificate, TlsFacts

# How many certificates of a presented chain are summarised (a chain is 2-4 long).
MAX_CHAIN = 6


def _common_name(name: x509.Name) -> str:
    values = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


def _names(cert: x509.Certificate) -> list[str]:
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except (x509.ExtensionNotFound, ValueError):
        return []
    names = [str(name) for name in san.get_values_for_type(x509.DNSName)]
    names += [str(address) for address in san.get_values_for_type(x509.IPAddress)]
    return names


def _key(cert: x509.Certificate) -> tuple[str, int | None]:
    try:
        key = cert.public_key()
    except (ValueError, TypeError):  # an algorithm cryptography does not know
        return "unknown", None
    if isinstance(key, rsa.RSAPublicKey):
        return "RSA", key.key_size
    if isinstance(key, ec.EllipticCurvePublicKey):
        return f"EC ({key.curve.name})", key.key_size
    if isinstance(key, ed25519.Ed25519PublicKey):
        return "Ed25519", 256
    if isinstance(key, ed448.Ed448PublicKey):
        return "Ed448", 456
    if isinstance(key, dsa.DSAPublicKey):
        return "DSA", key.key_size
    return type(key).__name__, None


def summarise(der: bytes, *, now: datetime) -> Certificate | None:
    """The facts of one DER certificate, `days_left` counted from `now` (aware, UTC).
    None if it cannot be parsed."""
    try:
        cert = x509.load_der_x509_certificate(der)
        subject, issuer = cert.subject, cert.issuer
        subject_text, issuer_text = subject.rfc4514_string(), issuer.rfc4514_string()
    except ValueError:
        return None
    key_type, key_bits = _key(cert)
    not_after = cert.not_valid_after_utc
    return Certificate(
        subject=subject_text,
        common_name=_common_name(subject),
        names=_names(cert),
        issuer=issuer_text,
        issuer_common_name=_common_name(issuer),
        not_before=cert.not_valid_before_utc.isoformat(),
        not_after=not_after.isoformat(),
        days_left=(not_after - now).days,
        key_type=key_type,
        key_bits=key_bits,
        serial=format(cert.serial_number, "x"),
        sha256=cert.fingerprint(hashes.SHA256()).hex(),
        self_issued=subject == issuer,
    )


def chain_of(ders: list[bytes], *, now: datetime) -> list[Certificate]:
    return [c for c in (summarise(der, now=now) for der in ders[:MAX_CHAIN]) if c is not None]


def facts_of(sock: ssl.SSLSocket | ssl.SSLObject, *, verified: bool, now: datetime) -> TlsFacts:
    """The facts of an established TLS connection, its chain as the server presented it."""
    ders: list[bytes] = []
    with contextlib.suppress(AttributeError, ValueError, ssl.SSLError):
        # New in Python 3.13 (mypy checks against 3.12); older ones raise AttributeError.
        ders = list(sock.get_unverified_chain() or [])  # type: ignore[union-attr]
    if not ders:
        with contextlib.suppress(AttributeError, ValueError, ssl.SSLError):
            leaf = sock.getpeercert(binary_form=True)
            ders = [leaf] if leaf else []
    cipher = sock.cipher()
    return TlsFacts(
        protocol=sock.version() or "",
        cipher=cipher[0] if cipher else "",
        alpn=sock.selected_alpn_protocol() or "",
        verified=verified,
        chain=chain_of(ders, now=now),
    )


def look_without_verifying(
    *, address: str, port: int, hostname: str, timeout: float, now: datetime
) -> TlsFacts | None:
    """A second handshake with the pinned `address`, certificate not verified, to see what
    a server whose certificate failed verification presents. No request is sent over it:
    it is closed as soon as the handshake is done. None if that handshake fails too."""
    if timeout <= 0:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    context.set_alpn_protocols(["http/1.1"])
    try:
        with (
            socket.create_connection((address, port), timeout=timeout) as raw,
            context.wrap_socket(raw, server_hostname=hostname) as tls,
        ):
            return facts_of(tls, verified=False, now=now)
    except (OSError, ssl.SSLError, ValueError):
        return None
