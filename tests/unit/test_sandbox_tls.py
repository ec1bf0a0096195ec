"""The TLS sandbox's servers (apps.sandbox.tls) and what the dashboard's egress client
makes of each one when it trusts the sandbox CA."""

import datetime
import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from apps.egress import client
from apps.egress.client import extra_ca_certificates, send
from apps.egress.policy import AddressPolicy
from apps.egress.types import FailureKind, OutboundRequest
from apps.sandbox import certificates
from apps.sandbox.certificates import (
    CASES,
    ensure_certificates,
    make_ca,
    make_server_certificate,
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
