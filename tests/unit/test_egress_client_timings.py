"""The egress client's hop facts against real local servers: a fresh and a reused
connection, a redirect chain, a refused certificate looked at again without a request."""

import datetime
from collections.abc import Iterator
from pathlib import Path

import pytest

from apps.egress import client
from apps.egress.client import send
from apps.egress.policy import AddressPolicy
from apps.egress.types import PHASES, FailureKind, OutboundRequest
from apps.sandbox.certificates import make_ca, make_server_certificate
from tests.support.servers import closed_port, serving
from tests.support.tls import tls_serving, write_pem

LOOPBACK = AddressPolicy.from_allowlist(["127.0.0.1", "::1", "localhost"])
TOLERANCE_MS = 0.01


@pytest.fixture(autouse=True)
def no_kept_connections() -> Iterator[None]:
    client.POOLS.clear()
    yield
    client.POOLS.clear()


def adds_up(hop: object) -> bool:
    timings = hop.timings  # type: ignore[attr-defined]
    known = [timings.phase(name) for name in PHASES]
    return abs(sum(v for v in known if v is not None) - timings.total) <= TOLERANCE_MS


def test_a_fresh_connection_is_timed_and_the_next_request_reuses_it() -> None:
    with serving() as served:
        url = f"http://localhost:{served.port}/ok"
        first = send(OutboundRequest("GET", url), policy=LOOPBACK)
        second = send(OutboundRequest("GET", url), policy=LOOPBACK)
    fresh, reused = first.hops[-1], second.hops[-1]
    assert fresh.timings.dns is not None and fresh.timings.dns > 0
    assert fresh.timings.connect is not None and fresh.timings.connect > 0
    assert fresh.timings.tls is None and not fresh.timings.reused
    assert reused.timings.reused
    assert (reused.timings.dns, reused.timings.connect, reused.timings.tls) == (None, None, None)
    assert fresh.connection is not None and reused.connection is not None
    assert reused.connection.local_port == fresh.connection.local_port != 0
    assert fresh.connection.bytes_sent > 0 and fresh.connection.body_decoded_bytes > 0
    assert all(adds_up(hop) for hop in (fresh, reused))
    assert served.connections == 1


def test_every_hop_of_a_redirect_chain_has_its_facts() -> None:
    with serving() as served:
        exchange = send(
            OutboundRequest("GET", f"{served.base}/chain?n=2", follow_redirects=True),
            policy=LOOPBACK,
        )
    assert [hop.status for hop in exchange.hops] == [302, 302, 200]
    assert all(adds_up(hop) for hop in exchange.hops)
    assert sum(hop.timings.total for hop in exchange.hops) <= exchange.elapsed_ms
    assert exchange.hops[0].timings.dns is None  # an IP address: nothing to resolve


def test_a_refused_connection_fails_in_connect() -> None:
    exchange = send(OutboundRequest("GET", f"http://127.0.0.1:{closed_port()}/"), policy=LOOPBACK)
    assert exchange.failure is not None
    assert exchange.failure.kind == FailureKind.CONNECTION_REFUSED
    timings = exchange.hops[-1].timings
    assert timings.failed_in == "connect" and timings.send is None
    assert adds_up(exchange.hops[-1])


@pytest.fixture(scope="module")
def expired(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls-timings")
    now = datetime.datetime.now(datetime.UTC)
    issuer = make_ca("Egress Test CA", now, subtrees=("pinned.test",))
    key, cert = make_server_certificate(("pinned.test",), issuer, now, expired=True)
    return write_pem(folder, "ca", issuer[1]), write_pem(folder, "expired", cert, key)


def test_a_refused_certificate_is_described_and_no_request_is_sent(
    expired: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    ca, certificate = expired
    monkeypatch.setattr(client, "CA_BUNDLE", str(ca))
    with tls_serving(certificate) as served:
        exchange = send(
            OutboundRequest("GET", f"https://pinned.test:{served.port}/ok"),
            policy=LOOPBACK,
            resolver=lambda host, port: ["127.0.0.1"],
        )
        assert served.seen == []  # neither handshake carried a request
        assert served.sni == ["pinned.test", "pinned.test"]
    assert exchange.failure is not None and exchange.failure.detail == "certificate_expired"
    hop = exchange.hops[-1]
    assert hop.timings.failed_in == "tls"
    assert hop.tls is not None and not hop.tls.verified and hop.tls.leaf is not None
    assert hop.tls.leaf.names == ["pinned.test"] and hop.tls.leaf.days_left < 0
    assert hop.tls.protocol.startswith("TLSv1")
