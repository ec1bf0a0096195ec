"""The egress client against real local servers: caps, timeouts, failures as data."""

import socket
from collections.abc import Iterator

import pytest

from apps.egress.client import Limits, send
from apps.egress.policy import AddressPolicy
from apps.egress.types import FailureKind, OutboundRequest
from tests.support.servers import closed_port, hostile_server

LOOPBACK = AddressPolicy.from_allowlist(["127.0.0.1", "::1"])
STRICT = AddressPolicy()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with hostile_server() as base:
        yield base


def get(url: str, **kwargs: object) -> OutboundRequest:
    return OutboundRequest(method="GET", url=url, **kwargs)


def test_it_returns_status_headers_and_body(server: str) -> None:
    exchange = send(
        get(f"{server}/ok", params=[("a", "1")], headers=[("X-Api-Key", "k-123")]),
        policy=LOOPBACK,
    )
    assert exchange.failure is None and exchange.response is not None
    assert exchange.response.status == 200
    assert exchange.response.header("content-type") == "application/json"
    assert b'"echo": "k-123"' in exchange.response.body
    assert exchange.url == f"{server}/ok?a=1"
    assert ("X-Api-Key", "k-123") in exchange.request_headers
    assert exchange.elapsed_ms > 0


def test_it_cuts_a_large_body_at_the_cap(server: str) -> None:
    exchange = send(get(f"{server}/big"), policy=LOOPBACK, limits=Limits(max_body_bytes=1000))
    assert exchange.response is not None
    assert len(exchange.response.body) == 1000
    assert exchange.response.truncated


def test_it_keeps_a_body_under_the_cap_whole(server: str) -> None:
    exchange = send(get(f"{server}/ok"), policy=LOOPBACK, limits=Limits(max_body_bytes=1000))
    assert exchange.response is not None
    assert not exchange.response.truncated


def test_it_caps_the_decoded_size_of_a_compressed_body(server: str) -> None:
    exchange = send(
        get(f"{server}/gzip-bomb"), policy=LOOPBACK, limits=Limits(max_body_bytes=64 * 1024)
    )
    assert exchange.response is not None
    assert len(exchange.response.body) == 64 * 1024
    assert exchange.response.truncated


def test_it_times_out_a_server_that_does_not_answer(server: str) -> None:
    exchange = send(get(f"{server}/slow", timeout=0.5), policy=LOOPBACK)
    assert exchange.failure is not None
    assert exchange.failure.kind == FailureKind.READ_TIMEOUT
    assert exchange.elapsed_ms < 2500


def test_it_stops_a_server_that_drips_past_the_deadline(server: str) -> None:
    exchange = send(get(f"{server}/drip", timeout=1.0), policy=LOOPBACK)
    assert exchange.failure is not None
    assert exchange.failure.kind == FailureKind.READ_TIMEOUT
    assert "still sending" in exchange.failure.message
    assert exchange.elapsed_ms < 3000


def test_it_reports_a_refused_connection() -> None:
    exchange = send(get(f"http://127.0.0.1:{closed_port()}/"), policy=LOOPBACK)
    assert exchange.failure is not None
    assert exchange.failure.kind == FailureKind.CONNECTION_REFUSED


def test_it_reports_a_reset_connection(server: str) -> None:
    exchange = send(get(f"{server}/reset"), policy=LOOPBACK)
    assert exchange.failure is not None
    assert exchange.failure.kind in {FailureKind.CONNECTION_RESET, FailureKind.PROTOCOL}


def test_it_reports_tls_failure_against_a_plain_http_server(server: str) -> None:
    exchange = send(get(server.replace("http://", "https://") + "/ok"), policy=LOOPBACK)
    assert exchange.failure is not None
    assert exchange.failure.kind == FailureKind.TLS


def test_it_reports_a_dns_failure() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    exchange = send(get("https://no-such-host.example/"), policy=STRICT, resolver=resolver)
    assert exchange.failure is not None
    assert exchange.failure.kind == FailureKind.DNS
    assert "no-such-host.example" in exchange.failure.message


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:9/", "http://localhost:9/", "http://10.0.0.1/", "http://169.254.169.254/"],
)
def test_it_refuses_private_addresses_unless_allowlisted(url: str) -> None:
    exchange = send(get(url), policy=STRICT)
    assert exchange.failure is not None
    assert exchange.failure.kind == FailureKind.BLOCKED
    assert "EGRESS_ALLOWLIST" in exchange.failure.message


@pytest.mark.parametrize(
    "url", ["ftp://example.com/", "example.com/path", "http://", "http://a b/", "http://u:p@host/"]
)
def test_it_refuses_invalid_urls(url: str) -> None:
    exchange = send(get(url), policy=STRICT)
    assert exchange.failure is not None
    assert exchange.failure.kind == FailureKind.INVALID_URL


def test_its_failure_messages_never_repeat_the_query_string() -> None:
    url = f"http://127.0.0.1:{closed_port()}/path?api_key=super-secret-value"
    exchange = send(get(url), policy=LOOPBACK)
    assert exchange.failure is not None
    assert "super-secret-value" not in exchange.failure.message


def test_it_does_not_follow_redirects_or_read_proxies_from_the_environment(
    server: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.setenv("NO_PROXY", "")
    exchange = send(get(f"{server}/ok"), policy=LOOPBACK)
    assert exchange.response is not None and exchange.response.status == 200
