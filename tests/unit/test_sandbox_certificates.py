"""The TLS sandbox's certificates (apps.sandbox.certificates): made, checked, reused."""

import datetime
import stat
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from django.conf import settings

from apps.egress.policy import AddressPolicy
from apps.sandbox import certificates
from apps.sandbox.certificates import (
    CASES,
    ensure_certificates,
    problems,
)

ROOT = Path(__file__).resolve().parents[2]
NOW = datetime.datetime(2025, 6, 1, 12, 0, tzinfo=datetime.UTC)
LOOPBACK = AddressPolicy.from_allowlist(["127.0.0.1", "::1", "localhost"])


@pytest.fixture(scope="module")
def made(tmp_path_factory: pytest.TempPathFactory) -> certificates.SandboxCertificates:
    return ensure_certificates(tmp_path_factory.mktemp("sandbox-tls"))


def cert(made: certificates.SandboxCertificates, stem: str) -> x509.Certificate:
    return x509.load_pem_x509_certificate((made.directory / f"{stem}.pem").read_bytes())


def names(certificate: x509.Certificate) -> set[str]:
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    return {str(name.value) for name in san}


# --- certificates -------------------------------------------------------------------------


def test_it_makes_a_ca_and_a_certificate_per_case(made: certificates.SandboxCertificates) -> None:
    assert made.made
    ca = cert(made, "ca")
    assert ca.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
    ca.verify_directly_issued_by(ca)
    for case in CASES:
        assert made.cert_file(case.name).is_file()
        assert stat.S_IMODE(made.key_file(case.name).stat().st_mode) == 0o600
    assert stat.S_IMODE((made.directory / "ca.key").stat().st_mode) == 0o600
    assert {case.name for case in CASES} == set(settings.SANDBOX_TLS_PORTS)


def test_it_name_constrains_the_ca_to_the_sandbox(made: certificates.SandboxCertificates) -> None:
    constraints = cert(made, "ca").extensions.get_extension_for_class(x509.NameConstraints)
    assert constraints.critical
    permitted = {str(name.value) for name in constraints.value.permitted_subtrees or []}
    assert permitted == {"localhost", "wrong.example", "127.0.0.0/8", "::1/128"}


def test_it_makes_a_good_certificate_for_localhost(made: certificates.SandboxCertificates) -> None:
    good = cert(made, "good")
    good.verify_directly_issued_by(cert(made, "ca"))
    assert names(good) == {"localhost", "127.0.0.1"}
    now = datetime.datetime.now(datetime.UTC)
    assert good.not_valid_before_utc < now < good.not_valid_after_utc


def test_it_makes_the_expired_one_expired(made: certificates.SandboxCertificates) -> None:
    expired = cert(made, "expired")
    expired.verify_directly_issued_by(cert(made, "ca"))  # so expiry is its only fault
    assert names(expired) == {"localhost", "127.0.0.1"}
    assert expired.not_valid_after_utc < datetime.datetime.now(datetime.UTC)


def test_it_makes_the_wrong_host_one_for_another_name(
    made: certificates.SandboxCertificates,
) -> None:
    wrong = cert(made, "wrong-host")
    wrong.verify_directly_issued_by(cert(made, "ca"))
    assert names(wrong) == {"wrong.example"}
    assert wrong.not_valid_after_utc > datetime.datetime.now(datetime.UTC)


def test_it_makes_the_self_signed_one_sign_itself(made: certificates.SandboxCertificates) -> None:
    self_signed = cert(made, "self-signed")
    self_signed.verify_directly_issued_by(self_signed)
    assert self_signed.issuer == self_signed.subject
    with pytest.raises(ValueError):  # not the CA's
        self_signed.verify_directly_issued_by(cert(made, "ca"))


def test_it_signs_the_untrusted_one_with_the_other_ca(
    made: certificates.SandboxCertificates,
) -> None:
    untrusted = cert(made, "untrusted")
    untrusted.verify_directly_issued_by(cert(made, "untrusted-ca"))
    assert names(untrusted) == {"localhost", "127.0.0.1"}
    with pytest.raises((ValueError, InvalidSignature)):
        untrusted.verify_directly_issued_by(cert(made, "ca"))


def test_it_reuses_valid_files(tmp_path: Path) -> None:
    first = ensure_certificates(tmp_path, now=NOW)
    before = {path.name: path.read_bytes() for path in tmp_path.iterdir()}
    again = ensure_certificates(tmp_path, now=NOW + datetime.timedelta(days=30))
    assert first.made and not again.made
    assert {path.name: path.read_bytes() for path in tmp_path.iterdir()} == before


@pytest.mark.parametrize(
    "damage",
    [
        lambda folder: (folder / "expired.pem").unlink(),
        lambda folder: (folder / "ca.key").write_bytes(b"not a key"),
        lambda folder: (folder / "good.key").write_bytes((folder / "expired.key").read_bytes()),
        lambda folder: (folder / "good.pem").write_bytes((folder / "untrusted.pem").read_bytes()),
    ],
    ids=["missing", "garbled", "key-of-another", "wrong-issuer"],
)
def test_it_makes_them_again_when_one_is_wrong(tmp_path: Path, damage: object) -> None:
    ensure_certificates(tmp_path, now=NOW)
    damage(tmp_path)  # type: ignore[operator]
    assert problems(tmp_path, NOW)
    assert ensure_certificates(tmp_path, now=NOW).made
    assert problems(tmp_path, NOW) == []


def test_it_makes_them_again_before_they_expire(tmp_path: Path) -> None:
    ensure_certificates(tmp_path, now=NOW)
    later = NOW + certificates.LEAF_LIFETIME - datetime.timedelta(days=10)
    assert any("expires soon" in problem for problem in problems(tmp_path, later))
    assert ensure_certificates(tmp_path, now=later).made
