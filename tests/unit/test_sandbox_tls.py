"""The TLS sandbox: its certificates (made, checked, reused), its servers, and what the
dashboard's egress client makes of each one when it trusts the sandbox CA."""

import datetime
import json
import os
import socket
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from django.conf import settings
from django.core.management import CommandError, call_command

from apps.egress import client
from apps.egress.client import extra_ca_certificates, send
from apps.egress.policy import AddressPolicy
from apps.egress.types import FailureKind, OutboundRequest
from apps.runs.presets import PRESETS_BY_SLUG
from apps.sandbox import certificates
from apps.sandbox.certificates import (
    CASES,
    CASES_BY_NAME,
    ensure_certificates,
    make_ca,
    make_server_certificate,
    problems,
)
from apps.sandbox.management.commands.sandbox_tls import PORTS_TAKEN_EXIT
from apps.sandbox.tls import PortTaken, TLSSandbox
from tests.support.egress import assert_failed
from tests.support.tls import tls_serving, write_pem

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


# --- the servers, through the egress client -----------------------------------------------


@pytest.fixture(scope="module")
def serving(made: certificates.SandboxCertificates) -> Iterator[TLSSandbox]:
    sandbox = TLSSandbox(made, host="127.0.0.1", ports={case.name: 0 for case in CASES})
    sandbox.start()
    yield sandbox
    sandbox.close()


def get(url: str, *, extra_ca: Path | None) -> object:
    request = OutboundRequest(method="GET", url=url, timeout=5)
    return send(request, policy=LOOPBACK, extra_ca_bundle=str(extra_ca) if extra_ca else None)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1"])
@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_it_gives_each_outcome_to_a_client_that_trusts_the_sandbox_ca(
    made: certificates.SandboxCertificates,
    serving: TLSSandbox,
    case: certificates.Case,
    host: str,
) -> None:
    exchange = get(f"https://{host}:{serving.ports[case.name]}/v2/x", extra_ca=made.ca_file)
    if not case.detail:
        assert exchange.response is not None, exchange.failure  # type: ignore[attr-defined]
        assert exchange.response.status == 200  # type: ignore[attr-defined]
        body = json.loads(exchange.response.body)  # type: ignore[attr-defined]
        assert body["result"] == "success"
        assert body["data"][0]["certificate"] == "good"
        assert body["query"]["path"] == "/v2/x"
    else:
        assert_failed(exchange, FailureKind.TLS, case.detail)  # type: ignore[arg-type]


def test_it_trusts_the_sandbox_ca_only_when_asked(serving: TLSSandbox) -> None:
    exchange = get(f"https://localhost:{serving.ports['good']}/", extra_ca=None)
    assert_failed(exchange, FailureKind.TLS, "untrusted_issuer")  # type: ignore[arg-type]


def test_it_keeps_trusting_the_usual_cas_too(
    made: certificates.SandboxCertificates, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    now = datetime.datetime.now(datetime.UTC)
    issuer = make_ca("Stands for certifi", now, subtrees=("pinned.test",))
    monkeypatch.setattr(client, "CA_BUNDLE", str(write_pem(tmp_path, "usual", issuer[1])))
    key, leaf = make_server_certificate(("pinned.test",), issuer, now)
    with tls_serving(write_pem(tmp_path, "leaf", leaf, key)) as served:
        exchange = send(
            OutboundRequest(method="GET", url=f"https://pinned.test:{served.port}/ok", timeout=5),
            policy=LOOPBACK,
            resolver=lambda host, port: ["127.0.0.1"],
            extra_ca_bundle=str(made.ca_file),
        )
    assert exchange.response is not None, exchange.failure
    assert exchange.response.status == 200


def test_it_ignores_a_missing_or_empty_extra_bundle(tmp_path: Path) -> None:
    assert extra_ca_certificates(None) is None
    assert extra_ca_certificates(str(tmp_path / "none.pem")) is None
    junk = tmp_path / "junk.pem"
    junk.write_text("no certificate here\n")
    assert extra_ca_certificates(str(junk)) is None
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n")
    assert extra_ca_certificates(str(broken)) is None


def test_it_reads_the_extra_bundle_again_when_it_changes(
    made: certificates.SandboxCertificates, tmp_path: Path
) -> None:
    bundle = tmp_path / "extra.pem"
    bundle.write_text("nothing yet\n")
    assert extra_ca_certificates(str(bundle)) is None
    bundle.write_text("# the sandbox CA\n" + made.ca_file.read_text())
    found = extra_ca_certificates(str(bundle))
    assert found is not None and found.startswith("-----BEGIN CERTIFICATE-----")


def test_it_binds_every_port_or_none(made: certificates.SandboxCertificates) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        ports = {case.name: 0 for case in CASES} | {"untrusted": port}
        with pytest.raises(PortTaken) as refused:
            TLSSandbox(made, host="127.0.0.1", ports=ports)
    assert (refused.value.case, refused.value.port) == ("untrusted", port)


def test_the_command_says_which_port_is_taken(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(CommandError) as refused:
            call_command("sandbox_tls", "--port", str(port), "--dir", str(tmp_path))
    assert refused.value.returncode == PORTS_TAKEN_EXIT
    assert str(refused.value).count(f"127.0.0.1:{port}") == 1
    assert "SANDBOX_TLS_PORT=" in str(refused.value)
    assert (tmp_path / "ca.pem").is_file()  # made before the ports were tried


# --- presets ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("base", "host"),
    [
        ("http://127.0.0.1:8000/sandbox", "127.0.0.1"),
        ("http://localhost:8000/sandbox", "localhost"),
        ("http://dashboard.example/sandbox", "localhost"),
        ("http://[::1]:8000/sandbox", "localhost"),
    ],
)
def test_the_tls_presets_point_at_their_port(base: str, host: str) -> None:
    for case in CASES:
        preset = PRESETS_BY_SLUG[f"sandbox-tls-{case.name}"]
        port = settings.SANDBOX_TLS_PORTS[case.name]
        assert preset.initial(base)["url"] == f"https://{host}:{port}/"
    assert CASES_BY_NAME["expired"].outcome == "network.tls.certificate_expired"


# --- settings -----------------------------------------------------------------------------


def settings_in(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """Import the settings in a fresh interpreter with `env` (and nothing of ours) set."""
    base = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("EGRESS_", "SANDBOX_TLS", "DEBUG"))
    }
    code = (
        "import json; from dashboard import settings as s; "
        "print(json.dumps([s.EGRESS_EXTRA_CA_BUNDLE, s.SANDBOX_TLS_PORTS]))"
    )
    return subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**base, "VAR_DIR": str(tmp_path), **env},
        capture_output=True,
        text=True,
        check=False,
    )


def test_the_settings_trust_the_sandbox_ca_in_development_only(tmp_path: Path) -> None:
    development = settings_in(tmp_path, SANDBOX_TLS_PORT="9443")
    bundle, ports = json.loads(development.stdout)
    assert bundle == str(tmp_path / "sandbox-tls" / "ca.pem")
    assert ports == {
        "good": 9443,
        "expired": 9444,
        "wrong-host": 9445,
        "self-signed": 9446,
        "untrusted": 9447,
    }
    production = settings_in(
        tmp_path,
        DEBUG="0",
        SECRET_KEY="x" * 50,
        FIELD_ENCRYPTION_KEYS="ZGV2ZWxvcG1lbnQtb25seS1maWVsZC1rZXktMDAwMDA=",
    )
    assert json.loads(production.stdout)[0] == "", production.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("EGRESS_EXTRA_CA_BUNDLE", "/no/such/ca.pem", "EGRESS_EXTRA_CA_BUNDLE must be a PEM file"),
        ("SANDBOX_TLS_PORT", "65533", "SANDBOX_TLS_PORT must be a port number"),
        ("SANDBOX_TLS_PORT", "0", "SANDBOX_TLS_PORT must be a port number"),
    ],
)
def test_the_settings_refuse_bad_values(
    tmp_path: Path, name: str, value: str, message: str
) -> None:
    result = settings_in(tmp_path, **{name: value})
    assert result.returncode != 0
    assert message in result.stderr
