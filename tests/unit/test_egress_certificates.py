"""apps/egress/certificates.py: the summary of the certificate a server presented, as the
egress client stores it for every hop."""

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from apps.egress.certificates import summarise
from apps.sandbox.certificates import make_ca, make_server_certificate

NOW = datetime.datetime(2026, 12, 5, tzinfo=datetime.UTC)


def test_it_summarises_a_certificate() -> None:
    issuer = make_ca("Summary CA", NOW, subtrees=("api.example.test",))
    _, cert = make_server_certificate(("api.example.test",), issuer, NOW)
    facts = summarise(cert.public_bytes(serialization.Encoding.DER), now=NOW)
    assert facts is not None
    # The sandbox's certificate builder names its organisation in every subject.
    assert facts.subject == "CN=api.example.test,O=API diagnostics dashboard sandbox"
    assert facts.common_name == "api.example.test"
    assert facts.names == ["api.example.test"]
    assert facts.issuer_common_name == "Summary CA" and not facts.self_issued
    assert (facts.key_type, facts.key_bits) == ("EC (secp256r1)", 256)
    assert facts.not_after == cert.not_valid_after_utc.isoformat()
    assert facts.days_left == (cert.not_valid_after_utc - NOW).days
    assert facts.sha256 == cert.fingerprint(hashes.SHA256()).hex()
    assert summarise(b"not a certificate", now=NOW) is None


def test_it_summarises_an_rsa_self_signed_certificate_with_an_ip_name() -> None:
    # Built here, not with apps.sandbox.certificates: the sandbox makes EC certificates
    # for DNS names only, and the summary must read an RSA key and an IP address name too.
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "self")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(255)
        .not_valid_before(NOW - datetime.timedelta(days=30))
        .not_valid_after(NOW - datetime.timedelta(days=3))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("192.0.2.7"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    facts = summarise(cert.public_bytes(serialization.Encoding.DER), now=NOW)
    assert facts is not None
    assert (facts.key_type, facts.key_bits, facts.serial) == ("RSA", 2048, "ff")
    assert facts.names == ["192.0.2.7"] and facts.self_issued
    assert facts.days_left == -3 and facts.days_expired == 3
