"""The egress client against real local servers: caps, timeouts, failures as data."""

import datetime
import ipaddress
import json
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest

from apps.egress import client
from apps.egress.client import Limits, send
from apps.egress.policy import AddressPolicy
from apps.egress.types import FailureKind, OutboundRequest
from apps.sandbox.certificates import make_ca, make_server_certificate
from tests.support.egress import assert_failed
from tests.support.servers import closed_port, hostile_server
from tests.support.tls import tls_serving, write_pem

LOOPBACK = AddressPolicy.from_allowlist(["127.0.0.1", "::1"])
STRICT = AddressPolicy()


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with hostile_server() as base:
        yield base


def get(url: str, **kwargs: Any) -> OutboundRequest:
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
    assert_failed(exchange, FailureKind.DNS, "no_such_host")
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


def test_it_sends_the_host_name_in_the_host_header_and_records_it(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    exchange = send(
        get(f"http://localhost:{port}/echo"),
        policy=LOOPBACK,
        resolver=lambda host, port: ["127.0.0.1"],
    )
    assert exchange.response is not None
    assert json.loads(exchange.response.body)["headers"]["Host"] == f"localhost:{port}"
    assert ("Host", f"localhost:{port}") in exchange.request_headers


def test_it_tries_the_next_checked_address_when_one_refuses(server: str) -> None:
    port = server.rsplit(":", 1)[1]
    exchange = send(
        get(f"http://two.test:{port}/ok"),
        policy=AddressPolicy.from_allowlist(["127.0.0.0/8"]),
        resolver=lambda host, port: ["127.0.0.2", "127.0.0.1"],  # nothing on 127.0.0.2
    )
    assert exchange.response is not None and exchange.response.status == 200


def test_it_returns_a_redirect_as_the_response_unless_asked_to_follow(server: str) -> None:
    exchange = send(get(f"{server}/redirect?to=/ok"), policy=LOOPBACK)
    assert exchange.response is not None and exchange.response.status == 302
    assert exchange.response.header("Location") == "/ok"
    assert exchange.redirects == []


SECRETS = [
    ("X-Api-Key", "k-123"),
    ("Authorization", "Bearer t-456"),
    ("Cookie", "session=s-789"),
    ("X-Auth-Token", "a-000"),
    ("X-Custom", "kept"),
]


@pytest.mark.parametrize(
    ("next_host", "kept"),
    [
        ("127.0.0.1", {"X-Api-Key", "Authorization", "Cookie", "X-Auth-Token", "X-Custom"}),
        ("localhost", {"X-Custom"}),  # another origin: credentials stay behind
    ],
)
def test_it_drops_credentials_on_a_redirect_to_another_origin(
    server: str, next_host: str, kept: set[str]
) -> None:
    port = server.rsplit(":", 1)[1]
    location = quote(f"http://{next_host}:{port}/echo", safe="")
    exchange = send(
        get(f"{server}/redirect?to={location}", headers=SECRETS, follow_redirects=True),
        policy=LOOPBACK,
        resolver=lambda host, port: ["127.0.0.1"],
    )
    assert exchange.response is not None, exchange.failure
    received = json.loads(exchange.response.body)["headers"]
    assert {name for name, _ in SECRETS if name in received} == kept
    assert exchange.redirects == [(302, f"http://{next_host}:{port}/echo")]


@pytest.mark.parametrize(
    ("method", "status", "then", "body_bytes"),
    [
        ("POST", 303, "GET", 0),
        ("PUT", 303, "GET", 0),
        ("HEAD", 303, "HEAD", 0),
        ("POST", 302, "GET", 0),
        ("POST", 301, "GET", 0),
        ("PUT", 302, "PUT", 7),
        ("POST", 307, "POST", 7),
        ("PUT", 308, "PUT", 7),
        ("DELETE", 301, "DELETE", 7),
    ],
)
def test_it_changes_the_method_on_a_redirect_as_browsers_do(
    server: str, method: str, status: int, then: str, body_bytes: int
) -> None:
    request = OutboundRequest(
        method=method,
        url=f"{server}/redirect?status={status}&to=/echo",
        headers=[("Content-Type", "text/plain")],
        body=b"payload",
        follow_redirects=True,
    )
    exchange = send(request, policy=LOOPBACK)
    assert exchange.response is not None and exchange.response.status == 200
    assert exchange.method == then
    if then != "HEAD":
        echoed = json.loads(exchange.response.body)
        assert (echoed["method"], echoed["body_bytes"]) == (then, body_bytes)
        assert ("Content-Type" in echoed["headers"]) == bool(body_bytes)


@pytest.mark.parametrize(
    ("request_", "kind", "detail"),
    [
        (
            OutboundRequest("POST", "http://127.0.0.1:9/", body=b"x" * 2000),
            FailureKind.OTHER,
            "request_too_large",
        ),
        (
            OutboundRequest("GET", "http://127.0.0.1:9/", headers=[("X-Big", "v" * 2000)]),
            FailureKind.OTHER,
            "request_too_large",
        ),
        (
            OutboundRequest("GET", "http://127.0.0.1:9/?q=" + "v" * 2000),
            FailureKind.OTHER,
            "request_too_large",
        ),
        (
            OutboundRequest("GET", "http://127.0.0.1:9/", headers=[("Host", "evil.test")]),
            FailureKind.INVALID_URL,
            "forbidden_header",
        ),
        (
            OutboundRequest("GET", "http://127.0.0.1:9/", headers=[("Transfer-Encoding", "x")]),
            FailureKind.INVALID_URL,
            "forbidden_header",
        ),
        (
            OutboundRequest("GET", "http://127.0.0.1:9/", headers=[("Proxy-Authorization", "x")]),
            FailureKind.INVALID_URL,
            "forbidden_header",
        ),
        (
            OutboundRequest("GET", "http://127.0.0.1:9/", headers=[("X-A", "1\r\nX-B: 2")]),
            FailureKind.INVALID_URL,
            "invalid_header",
        ),
        # Values HTTP cannot carry (the form refuses them; a request composed elsewhere
        # failed the worker with UnicodeEncodeError).
        (
            OutboundRequest("GET", "http://127.0.0.1:9/", headers=[("X-A", "\U0001f600")]),
            FailureKind.INVALID_URL,
            "invalid_header",
        ),
        (
            OutboundRequest("GET", "http://127.0.0.1:9/", headers=[("X-A", "a\x7fb")]),
            FailureKind.INVALID_URL,
            "invalid_header",
        ),
    ],
)
def test_it_refuses_requests_over_their_caps_before_connecting(
    request_: OutboundRequest, kind: FailureKind, detail: str
) -> None:
    limits = Limits(max_request_body_bytes=1000, max_request_header_bytes=1000)
    exchange = send(request_, policy=LOOPBACK, limits=limits)
    assert exchange.failure is not None
    assert_failed(exchange, kind, detail)


@pytest.fixture(scope="module")
def certificates(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """PEM files (certificate + key) for pinned.test in every state, and the test CA."""
    folder = tmp_path_factory.mktemp("tls")
    now = datetime.datetime.now(datetime.UTC)
    names = ("pinned.test", "other.test")
    issuer = make_ca("Egress Test CA", now, subtrees=names)
    stranger = make_ca("Someone Else's CA", now, subtrees=names)
    files = {"ca": write_pem(folder, "ca", issuer[1])}
    for name, hostname, signer, expired in [
        ("good", "pinned.test", issuer, False),
        ("other_host", "other.test", issuer, False),
        ("expired", "pinned.test", issuer, True),
        ("self_signed", "pinned.test", None, False),
        ("unknown_ca", "pinned.test", stranger, False),
    ]:
        key, cert = make_server_certificate((hostname,), signer, now, expired=expired)
        files[name] = write_pem(folder, name, cert, key)
    return files


@pytest.mark.parametrize(
    ("certificate", "detail"),
    [
        ("other_host", "hostname_mismatch"),
        ("expired", "certificate_expired"),
        ("self_signed", "self_signed"),
        ("unknown_ca", "untrusted_issuer"),
    ],
)
def test_it_says_why_a_certificate_was_refused(
    certificates: dict[str, Path], certificate: str, detail: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, "CA_BUNDLE", str(certificates["ca"]))
    with tls_serving(certificates[certificate]) as served:
        exchange = send(
            get(f"https://pinned.test:{served.port}/ok"),
            policy=LOOPBACK,
            resolver=lambda host, port: ["127.0.0.1"],
        )
    assert exchange.failure is not None
    assert_failed(exchange, FailureKind.TLS, detail)


def test_it_pins_https_to_the_checked_address_with_sni_and_host_on_the_name(
    certificates: dict[str, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(client, "CA_BUNDLE", str(certificates["ca"]))

    real_getaddrinfo = socket.getaddrinfo

    def no_system_dns(host: str, *args: object, **kwargs: object) -> list:
        ipaddress.ip_address(host)  # an IP literal is fine; a name means it resolved itself
        return real_getaddrinfo(host, *args, **kwargs)  # type: ignore[arg-type]

    with tls_serving(certificates["good"]) as served:
        monkeypatch.setattr(socket, "getaddrinfo", no_system_dns)
        exchange = send(
            get(f"https://pinned.test:{served.port}/echo"),
            policy=LOOPBACK,
            resolver=lambda host, port: ["127.0.0.1"],
        )
        monkeypatch.undo()
        assert exchange.response is not None, exchange.failure
        assert served.sni == ["pinned.test"]
        assert served.seen[-1].headers["Host"] == f"pinned.test:{served.port}"


def test_it_reports_a_plain_http_server_on_an_https_url_as_not_tls(
    server: str,
) -> None:
    exchange = send(get(server.replace("http://", "https://") + "/ok"), policy=LOOPBACK)
    assert exchange.failure is not None
    assert_failed(exchange, FailureKind.TLS, "not_tls")
