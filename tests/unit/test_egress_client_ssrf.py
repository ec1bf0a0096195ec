"""SSRF bypass vectors against the real client: each one is refused and nothing connects.

Local servers listen on 127.0.0.1 and ::1; the vectors aim at them (and at the metadata
service) in every spelling. A vector passes only if the client answers with a refusal
and the listening sockets accepted no connection at all.
"""

import ipaddress
import socket
from collections.abc import Iterator
from urllib.parse import quote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.egress.client import send
from apps.egress.policy import AddressPolicy, parse_target
from apps.egress.types import FailureKind, OutboundRequest
from tests.support.addresses import REFUSED_V4, disguised_refused_addresses, ipv4_spellings
from tests.support.egress import assert_failed
from tests.support.servers import Served, serving

NO_OWN = frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]()
STRICT = AddressPolicy(worker_addresses=NO_OWN)
BLOCKED, INVALID = FailureKind.BLOCKED, FailureKind.INVALID_URL

# What the stub DNS answers; anything else does not exist.
DNS = {
    "localhost": ["127.0.0.1", "::1"],
    "origin.test": ["127.0.0.1"],
    "metadata.google.internal": ["169.254.169.254"],
    "aws-v6.test": ["fd00:ec2::254"],
    "mapped.test": ["::ffff:127.0.0.1"],
    "half-private.test": ["93.184.215.14", "127.0.0.1"],
}


def stub_resolver(host: str, port: int) -> list[str]:
    if host not in DNS:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
    return DNS[host]


@pytest.fixture(scope="module")
def v4() -> Iterator[Served]:
    with serving("127.0.0.1") as served:
        yield served


@pytest.fixture(scope="module")
def v6() -> Iterator[Served]:
    with serving("::1") as served:
        yield served


@pytest.fixture
def untouched(v4: Served, v6: Served) -> Iterator[None]:
    """Fails the test if either loopback server accepted a connection during it."""
    before = (v4.connections, v6.connections)
    yield
    assert (v4.connections, v6.connections) == before, "a refused target was connected to"


# (URL with {p4}/{p6} for the local servers' ports, kind, detail)
SPELLINGS = [
    ("http://127.0.0.1:{p4}/ok", BLOCKED, "private_address"),
    ("http://127.1:{p4}/ok", BLOCKED, "private_address"),
    ("http://0:{p4}/ok", BLOCKED, "private_address"),
    ("http://0.0.0.0:{p4}/ok", BLOCKED, "private_address"),
    ("http://2130706433:{p4}/ok", BLOCKED, "private_address"),
    ("http://0177.0.0.1:{p4}/ok", BLOCKED, "private_address"),
    ("http://0x7f.1:{p4}/ok", BLOCKED, "private_address"),
    ("http://0x7f000001:{p4}/ok", BLOCKED, "private_address"),
    ("http://127.0.0.1.:{p4}/ok", BLOCKED, "private_address"),
    ("http://127.000.000.001:{p4}/ok", BLOCKED, "private_address"),
    ("http://127\u30020\u30020\u30021:{p4}/ok", BLOCKED, "private_address"),
    (
        "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3:{p4}/ok",
        BLOCKED,
        "private_address",
    ),
    ("http://LOCALHOST:{p4}/ok", BLOCKED, "private_address"),
    ("http://localhost.:{p4}/ok", BLOCKED, "private_address"),
    ("http://mapped.test:{p4}/ok", BLOCKED, "private_address"),
    ("http://half-private.test:{p4}/ok", BLOCKED, "private_address"),
    ("http://[::1]:{p6}/ok", BLOCKED, "private_address"),
    ("http://[::]:{p6}/ok", BLOCKED, "private_address"),
    ("http://[0:0:0:0:0:0:0:1]:{p6}/ok", BLOCKED, "private_address"),
    ("http://[::ffff:127.0.0.1]:{p4}/ok", BLOCKED, "private_address"),
    ("http://[::ffff:7f00:1]:{p4}/ok", BLOCKED, "private_address"),
    ("http://[::127.0.0.1]:{p4}/ok", BLOCKED, "private_address"),
    ("http://[64:ff9b::127.0.0.1]:{p4}/ok", BLOCKED, "private_address"),
    ("http://[2002:7f00:1::]:{p4}/ok", BLOCKED, "private_address"),
    ("http://[fe80::1%25lo]:{p6}/ok", INVALID, "percent_encoded_host"),
    ("http://%31%32%37.0.0.1:{p4}/ok", INVALID, "percent_encoded_host"),
    ("http://a@127.0.0.1:{p4}/ok", INVALID, "userinfo"),
    ("http://example.com@127.0.0.1:{p4}/ok", INVALID, "userinfo"),
    ("http://example.com:80@127.0.0.1:{p4}/ok", INVALID, "userinfo"),
    ("http://127.0.0.1:{p4}\\@example.com/ok", INVALID, "characters"),
    ("http:\\\\127.0.0.1:{p4}/ok", INVALID, "characters"),
    ("http://127.0.0.1:{p4}:80/ok", INVALID, "syntax"),
    ("gopher://127.0.0.1:{p4}/_GET%20/ok", INVALID, "scheme"),
    ("file:///etc/passwd", INVALID, "scheme"),
    ("http://169.254.169.254/latest/meta-data/", BLOCKED, "private_address"),
    ("http://0xa9.0xfe.0xa9.0xfe/latest/meta-data/", BLOCKED, "private_address"),
    ("http://2852039166/latest/meta-data/", BLOCKED, "private_address"),
    ("http://[::ffff:169.254.169.254]/latest/meta-data/", BLOCKED, "private_address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", BLOCKED, "private_address"),
    ("http://metadata.google.internal/computeMetadata/v1/", BLOCKED, "private_address"),
    ("http://aws-v6.test/latest/meta-data/", BLOCKED, "private_address"),
    ("http://10.0.0.1/", BLOCKED, "private_address"),
    ("http://100.64.0.1/", BLOCKED, "private_address"),
    ("http://198.18.0.1/", BLOCKED, "private_address"),
    ("http://192.0.2.1/", BLOCKED, "private_address"),
    ("http://224.0.0.1/", BLOCKED, "private_address"),
    ("http://255.255.255.255/", BLOCKED, "private_address"),
    ("http://1.2.3.999/", INVALID, "ambiguous_host"),
]


@pytest.mark.parametrize(("template", "kind", "detail"), SPELLINGS)
@pytest.mark.usefixtures("untouched")
def test_it_refuses_every_spelling_of_a_private_target(
    template: str, kind: FailureKind, detail: str, v4: Served, v6: Served
) -> None:
    url = template.format(p4=v4.port, p6=v6.port)
    exchange = send(OutboundRequest("GET", url), policy=STRICT, resolver=stub_resolver)
    assert exchange.failure is not None, url
    assert_failed(exchange, kind, detail)


# Redirect targets, reached from an allowlisted origin that really answers.
REDIRECT_TARGETS = [
    ("http://127.0.0.1:{p4}/ok", BLOCKED, "private_address"),
    ("http://0x7f.1:{p4}/ok", BLOCKED, "private_address"),
    ("http://2130706433:{p4}/ok", BLOCKED, "private_address"),
    ("http://[::ffff:127.0.0.1]:{p4}/ok", BLOCKED, "private_address"),
    ("http://localhost:{p4}/ok", BLOCKED, "private_address"),
    ("http://[::1]:{p6}/ok", BLOCKED, "private_address"),
    ("http://169.254.169.254/latest/meta-data/", BLOCKED, "private_address"),
    ("http://[fd00:ec2::254]/latest/meta-data/", BLOCKED, "private_address"),
    ("http://metadata.google.internal/computeMetadata/v1/", BLOCKED, "private_address"),
    ("file:///etc/passwd", BLOCKED, "scheme"),
    ("gopher://127.0.0.1:{p4}/", BLOCKED, "scheme"),
    ("http://user@127.0.0.1:{p4}/ok", INVALID, "userinfo"),
    ("http:\\\\127.0.0.1:{p4}/ok", INVALID, "characters"),
]


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
@pytest.mark.parametrize(("template", "kind", "detail"), REDIRECT_TARGETS)
def test_it_refuses_a_redirect_to_a_private_target(
    template: str, kind: FailureKind, detail: str, status: int, v4: Served, v6: Served
) -> None:
    location = template.format(p4=v4.port, p6=v6.port)
    url = f"http://origin.test:{v4.port}/redirect?status={status}&to={quote(location, safe='')}"
    seen_before, v6_before = len(v4.seen), v6.connections
    exchange = send(
        OutboundRequest("GET", url, follow_redirects=True),
        policy=AddressPolicy.from_allowlist(["origin.test"]),
        resolver=stub_resolver,
    )
    assert exchange.failure is not None
    assert_failed(exchange, kind, detail)
    assert exchange.redirects == [(status, location)]
    # The origin answered the redirect; nothing else was asked of either server.
    assert [seen.path.split("?")[0] for seen in v4.seen[seen_before:]] == ["/redirect"]
    assert v6.connections == v6_before


class Rebinding:
    """A DNS that answers `first` once and `then` ever after, counting its answers."""

    def __init__(self, first: str, then: str) -> None:
        self.answers = [first, then]
        self.calls = 0

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls += 1
        return [self.answers[min(self.calls, 2) - 1]]


@pytest.fixture
def system_dns_points_at_the_server(monkeypatch: pytest.MonkeyPatch) -> None:
    """If the client ever resolved `rebind.test` by itself, it would reach 127.0.0.1."""
    real = socket.getaddrinfo

    def getaddrinfo(host: object, port: object, *args: object, **kwargs: object) -> list:
        if host == "rebind.test":
            return real("127.0.0.1", port, *args, **kwargs)  # type: ignore[arg-type]
        return real(host, port, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)


@pytest.mark.usefixtures("system_dns_points_at_the_server")
def test_it_connects_to_the_checked_address_when_dns_changes_to_a_private_one(
    v4: Served,
) -> None:
    # Checked: 127.0.0.2 (allowlisted; nothing listens there). The second answer, and the
    # system's, would be the server on 127.0.0.1, which the policy refuses.
    dns = Rebinding(first="127.0.0.2", then="127.0.0.1")
    policy = AddressPolicy.from_allowlist(["127.0.0.2"])
    connections = v4.connections
    exchange = send(
        OutboundRequest("GET", f"http://rebind.test:{v4.port}/ok"), policy=policy, resolver=dns
    )
    assert exchange.failure is not None
    assert exchange.failure.kind == FailureKind.CONNECTION_REFUSED
    assert dns.calls == 1
    assert v4.connections == connections


@pytest.mark.usefixtures("system_dns_points_at_the_server")
def test_it_keeps_the_checked_address_when_dns_changes_after_the_check(v4: Served) -> None:
    # Checked: 127.0.0.1, where the server is. Any later answer (10.255.255.1) is unused:
    # the request reaches the server, with the name in the Host header.
    dns = Rebinding(first="127.0.0.1", then="10.255.255.1")
    policy = AddressPolicy.from_allowlist(["127.0.0.1"])
    exchange = send(
        OutboundRequest("GET", f"http://rebind.test:{v4.port}/echo"), policy=policy, resolver=dns
    )
    assert exchange.response is not None and exchange.response.status == 200
    assert dns.calls == 1
    assert v4.seen[-1].headers["Host"] == f"rebind.test:{v4.port}"


def test_it_refuses_a_name_that_resolves_public_then_private() -> None:
    # Whichever answer the check sees decides: public then private across two requests.
    dns = Rebinding(first="93.184.215.14", then="127.0.0.1")
    target = "http://rebind.test/"
    policy = AddressPolicy(worker_addresses=NO_OWN)
    assert policy.check(parse_target(target), dns) == ["93.184.215.14"]
    second = send(OutboundRequest("GET", target), policy=policy, resolver=dns)
    assert second.failure is not None and second.failure.detail == "private_address"


@settings(max_examples=150)
@given(address=disguised_refused_addresses(), as_literal=st.booleans())
def test_it_never_connects_to_a_refused_address_in_any_disguise(
    address: str, as_literal: bool, v4: Served, v6: Served
) -> None:
    before = (v4.connections, v6.connections)
    shown = f"[{address}]" if ":" in address else address
    url = f"http://{shown}:{v4.port}/ok" if as_literal else f"http://disguised.test:{v4.port}/ok"
    exchange = send(
        OutboundRequest("GET", url), policy=STRICT, resolver=lambda host, port: [address]
    )
    assert exchange.failure is not None
    assert_failed(exchange, BLOCKED, "private_address")
    assert (v4.connections, v6.connections) == before


@settings(max_examples=150)
@given(network=st.sampled_from(REFUSED_V4), data=st.data())
def test_it_never_connects_to_a_refused_address_in_any_spelling(
    network: str, data: st.DataObject, v4: Served
) -> None:
    net = ipaddress.IPv4Network(network)
    address = net.network_address + data.draw(st.integers(0, net.num_addresses - 1))
    spelling = data.draw(st.sampled_from(ipv4_spellings(address)))
    before = v4.connections
    exchange = send(OutboundRequest("GET", f"http://{spelling}:{v4.port}/ok"), policy=STRICT)
    assert exchange.failure is not None
    assert_failed(exchange, BLOCKED, "private_address")
    assert v4.connections == before
