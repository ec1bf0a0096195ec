"""The TLS sandbox's certificates: a sandbox CA, and one server certificate per outcome.

Made with `cryptography` into one folder (``VAR_DIR/sandbox-tls/`` by default) and reused
while every file is still what it should be; otherwise the whole set is made again. The
dashboard trusts ``ca.pem`` in development only (``EGRESS_EXTRA_CA_BUNDLE``). The CA is
name-constrained to the loopback names it signs for, so its key can vouch for nothing else.

| file | what it is |
| --- | --- |
| ``ca.pem`` / ``ca.key`` | the sandbox CA, the one the dashboard trusts in development |
| ``untrusted-ca.pem`` / ``.key`` | a second CA that nothing trusts |
| ``<case>.pem`` / ``<case>.key`` | the server certificate of each case in ``CASES`` |
"""

import datetime
import ipaddress
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CA_NAME = "API diagnostics sandbox CA (development only)"
UNTRUSTED_CA_NAME = "Untrusted sandbox CA (trusted by nobody)"
LOOPBACK_NAMES = ("localhost", "127.0.0.1")
WRONG_HOST = "wrong.example"
DAY = datetime.timedelta(days=1)
CA_LIFETIME = 365 * DAY
LEAF_LIFETIME = 90 * DAY
RENEW_BEFORE = 14 * DAY  # a certificate with less left than this is made again
EXPIRED_SINCE = 30 * DAY  # the expired certificate ended this long before it was made
BACKDATE = DAY  # how far before "now" validity starts, against clock skew
SANDBOX_CA = "sandbox"
UNTRUSTED_CA = "untrusted"
SELF = "self"
# What the sandbox CA may sign for: the names and networks of the cases.
SANDBOX_SUBTREES = ("localhost", WRONG_HOST, "127.0.0.0/8", "::1/128")


@dataclass(frozen=True)
class Case:
    name: str  # file stem, and the key of settings.SANDBOX_TLS_PORTS
    hostnames: tuple[str, ...]  # DNS names and IP addresses in its subjectAltName
    issuer: str  # SANDBOX_CA, UNTRUSTED_CA or SELF
    expired: bool
    title: str  # the outcome, in a few words
    summary: str  # what the certificate is, for people
    detail: str  # the egress TLS failure detail it causes; "" when the handshake succeeds

    @property
    def outcome(self) -> str:
        """What the dashboard makes of it (the diagnosis code, or the status)."""
        return f"network.tls.{self.detail}" if self.detail else "200"


CASES = (
    Case(
        "good",
        LOOPBACK_NAMES,
        SANDBOX_CA,
        False,
        "Valid certificate",
        "valid for localhost and 127.0.0.1, signed by the sandbox CA",
        "",
    ),
    Case(
        "expired",
        LOOPBACK_NAMES,
        SANDBOX_CA,
        True,
        "Expired certificate",
        f"for localhost and 127.0.0.1, signed by the sandbox CA, expired "
        f"{EXPIRED_SINCE.days} days before it was made",
        "certificate_expired",
    ),
    Case(
        "wrong-host",
        (WRONG_HOST,),
        SANDBOX_CA,
        False,
        "Wrong host name",
        f"signed by the sandbox CA, valid only for {WRONG_HOST}",
        "hostname_mismatch",
    ),
    Case(
        "self-signed",
        LOOPBACK_NAMES,
        SELF,
        False,
        "Self-signed certificate",
        "for localhost and 127.0.0.1, signed by its own key (no CA)",
        "self_signed",
    ),
    Case(
        "untrusted",
        LOOPBACK_NAMES,
        UNTRUSTED_CA,
        False,
        "Unknown issuer",
        "for localhost and 127.0.0.1, signed by a second CA that nothing trusts",
        "untrusted_issuer",
    ),
)
CASES_BY_NAME = {case.name: case for case in CASES}


@dataclass(frozen=True)
class SandboxCertificates:
    directory: Path
    made: bool  # False when the files found were reused

    @property
    def ca_file(self) -> Path:
        return self.directory / "ca.pem"

    def cert_file(self, name: str) -> Path:
        return self.directory / f"{name}.pem"

    def key_file(self, name: str) -> Path:
        return self.directory / f"{name}.key"


def _name(common_name: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "API diagnostics dashboard sandbox"),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _general_names(hostnames: tuple[str, ...]) -> list[x509.GeneralName]:
    names: list[x509.GeneralName] = []
    for hostname in hostnames:
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(hostname)))
        except ValueError:
            names.append(x509.DNSName(hostname))
    return names


def _key_usage(*, ca: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=ca,
        crl_sign=ca,
        encipher_only=False,
        decipher_only=False,
    )


def _subtree(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_network(name))
    except ValueError:
        return x509.DNSName(name)


def make_ca(
    common_name: str, now: datetime.datetime, *, subtrees: tuple[str, ...] = SANDBOX_SUBTREES
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A CA that may sign only for `subtrees`, host names and networks (RFC 5280 name
    constraints): the sandbox's unless told otherwise."""
    key = ec.generate_private_key(ec.SECP256R1())
    permitted = [_subtree(name) for name in subtrees]
    cert = (
        x509.CertificateBuilder()
        .subject_name(_name(common_name))
        .issuer_name(_name(common_name))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - EXPIRED_SINCE - LEAF_LIFETIME)  # covers the expired leaf
        .not_valid_after(now + CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(_key_usage(ca=True), critical=True)
        .add_extension(
            x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    return key, cert


def make_leaf(
    case: Case,
    issuer: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None,
    now: datetime.datetime,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """The server certificate of `case`, signed by `issuer` (by itself when None)."""
    return make_server_certificate(case.hostnames, issuer, now, expired=case.expired)


def make_server_certificate(
    hostnames: tuple[str, ...],
    issuer: tuple[ec.EllipticCurvePrivateKey, x509.Certificate] | None,
    now: datetime.datetime,
    *,
    expired: bool = False,
) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    """A server certificate for `hostnames`, signed by `issuer` (by itself when None),
    valid from now on, or expired since EXPIRED_SINCE."""
    key = ec.generate_private_key(ec.SECP256R1())
    if expired:
        start, end = now - EXPIRED_SINCE - LEAF_LIFETIME, now - EXPIRED_SINCE
    else:
        start, end = now - BACKDATE, now + LEAF_LIFETIME
    subject = _name(hostnames[0])
    signer_key, issuer_name = (issuer[0], issuer[1].subject) if issuer else (key, subject)
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_key_usage(ca=False), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectAlternativeName(_general_names(hostnames)), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_key.public_key()),
            critical=False,
        )
        .sign(signer_key, hashes.SHA256())
    )
    return key, cert


def _write(path: Path, data: bytes, *, private: bool) -> None:
    """Atomically: a reader (the worker) never sees half a file."""
    descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(descriptor, "wb") as file:
            file.write(data)
        os.chmod(temporary, 0o600 if private else 0o644)
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def _save(
    directory: Path, stem: str, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate
) -> None:
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    _write(directory / f"{stem}.key", key_pem, private=True)
    _write(directory / f"{stem}.pem", cert.public_bytes(serialization.Encoding.PEM), private=False)


def make_certificates(directory: Path, now: datetime.datetime) -> None:
    """Make the whole set, the trusted CA last (the worker reads it while we write)."""
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    sandbox_ca = make_ca(CA_NAME, now)
    untrusted_ca = make_ca(UNTRUSTED_CA_NAME, now)
    issuers = {SANDBOX_CA: sandbox_ca, UNTRUSTED_CA: untrusted_ca, SELF: None}
    for case in CASES:
        key, cert = make_leaf(case, issuers[case.issuer], now)
        _save(directory, case.name, key, cert)
    _save(directory, "untrusted-ca", *untrusted_ca)
    _save(directory, "ca", *sandbox_ca)


def _load(directory: Path, stem: str) -> tuple[ec.EllipticCurvePrivateKey, x509.Certificate]:
    cert = x509.load_pem_x509_certificate((directory / f"{stem}.pem").read_bytes())
    key = serialization.load_pem_private_key(
        (directory / f"{stem}.key").read_bytes(), password=None
    )
    if not isinstance(key, ec.EllipticCurvePrivateKey):
        raise ValueError("not an EC key")
    if _spki(key.public_key()) != _spki(cert.public_key()):
        raise ValueError("the key does not match the certificate")
    return key, cert


def _spki(public_key: object) -> bytes:
    return public_key.public_bytes(  # type: ignore[attr-defined]
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _san(cert: x509.Certificate) -> set[str]:
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in names}


def _fresh(cert: x509.Certificate, now: datetime.datetime) -> bool:
    return cert.not_valid_before_utc <= now and now + RENEW_BEFORE < cert.not_valid_after_utc


def problems(directory: Path, now: datetime.datetime) -> list[str]:
    """Why the files in `directory` cannot be reused as they are; [] when they can."""
    found: list[str] = []
    cas: dict[str, x509.Certificate] = {}
    for issuer, stem in ((SANDBOX_CA, "ca"), (UNTRUSTED_CA, "untrusted-ca")):
        try:
            _, cert = _load(directory, stem)
            cert.verify_directly_issued_by(cert)
        except (OSError, ValueError, TypeError, InvalidSignature) as exc:
            found.append(f"{stem}: {exc}")
            continue
        if not _fresh(cert, now):
            found.append(f"{stem}: expires soon or is not valid yet")
        cas[issuer] = cert
    if len(cas) < 2:
        return found
    for case in CASES:
        try:
            _, cert = _load(directory, case.name)
            cert.verify_directly_issued_by(cas[case.issuer] if case.issuer != SELF else cert)
            san = _san(cert)
        except (OSError, ValueError, TypeError, InvalidSignature, x509.ExtensionNotFound) as exc:
            found.append(f"{case.name}: {exc}")
            continue
        if san != set(case.hostnames):
            found.append(f"{case.name}: made for {sorted(san)}")
        if case.expired and not cert.not_valid_after_utc < now:
            found.append(f"{case.name}: not expired")
        if not case.expired and not _fresh(cert, now):
            found.append(f"{case.name}: expires soon or is not valid yet")
    return found


def ensure_certificates(
    directory: Path, *, now: datetime.datetime | None = None
) -> SandboxCertificates:
    """The certificates in `directory`: the files found if they are all valid, else new ones."""
    now = now or datetime.datetime.now(datetime.UTC)
    if not problems(directory, now):
        return SandboxCertificates(directory=directory, made=False)
    make_certificates(directory, now)
    return SandboxCertificates(directory=directory, made=True)
