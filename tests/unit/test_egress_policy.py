"""The address policy on its own: URL spellings, address ranges, allowlist, own addresses."""

import ipaddress

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.egress.policy import (
    AddressPolicy,
    Resolver,
    TargetRefused,
    is_public,
    own_addresses,
    parse_target,
    refused_range,
)
from apps.egress.types import FailureKind
from tests.support.addresses import (
    PUBLIC_ADDRESSES,
    REFUSED_V4,
    REFUSED_V6,
    disguised_refused_addresses,
    ipv4_spellings,
)

NO_OWN = frozenset[ipaddress.IPv4Address | ipaddress.IPv6Address]()


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",  # noqa: S104 - an address under test, not a bind
        "0.1.2.3",
        "224.0.0.1",
        "239.255.255.250",
        "255.255.255.255",
        "240.0.0.1",
        "192.0.0.9",
        "192.0.2.1",
        "198.51.100.7",
        "203.0.113.9",
        "198.18.0.1",
        "198.19.255.254",
        "192.88.99.1",
        "::1",
        "::",
        "fe80::1",
        "fec0::1",
        "fd00:ec2::254",
        "fc00::1",
        "ff02::1",
        "ff0e::1",
        "100::1",
        "2001:db8::1",
        "3fff::1",
        "5f00::1",
        "2001::1",
        "64:ff9b:1::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::ffff:169.254.169.254",
        "::ffff:0:7f00:1",
        "::127.0.0.1",
        "::8.8.8.8",  # IPv4-compatible: deprecated, never routed, whatever is inside
        "2002:7f00:1::",
        "2002:a9fe:a9fe::1",
        "2001:0:4136:e378:8000:63bf:80ff:fffe",  # Teredo, client 127.0.0.1
        "64:ff9b::a00:1",
        "64:ff9b::7f00:1",
        "64:ff9b::a9fe:a9fe",
        "2001:db8::1",
    ],
)
def test_it_refuses_addresses_that_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_it_accepts_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize(
    ("address", "named"),
    [
        ("169.254.169.254", "link-local"),
        ("127.0.0.2", "loopback"),
        ("100.64.1.1", "carrier-grade NAT"),
        ("198.18.5.5", "benchmarking"),
        ("::ffff:127.0.0.1", "IPv6 form of 127.0.0.1"),
        ("fd00:ec2::254", "unique local"),
    ],
)
def test_it_names_the_range_an_address_is_refused_for(address: str, named: str) -> None:
    assert named in (refused_range(ipaddress.ip_address(address)) or "")


@given(disguised_refused_addresses())
def test_it_refuses_every_refused_range_in_every_ipv6_disguise(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@given(st.sampled_from(REFUSED_V4 + REFUSED_V6), st.data())
def test_it_refuses_every_address_of_every_refused_range(network: str, data: st.DataObject) -> None:
    net = ipaddress.ip_network(network)
    offset = data.draw(st.integers(min_value=0, max_value=net.num_addresses - 1))
    assert not is_public(net.network_address + offset)


@pytest.mark.parametrize(
    ("url", "host"),
    [
        ("http://127.1/", "127.0.0.1"),
        ("http://0/", "0.0.0.0"),  # noqa: S104
        ("http://2130706433/", "127.0.0.1"),
        ("http://0177.0.0.1/", "127.0.0.1"),
        ("http://0x7f.1/", "127.0.0.1"),
        ("http://0x7F000001/", "127.0.0.1"),
        ("http://017700000001/", "127.0.0.1"),
        ("http://127.0.0.1./", "127.0.0.1"),
        ("http://0xa9.0xfe.0xa9.0xfe/", "169.254.169.254"),
        ("http://2852039166/", "169.254.169.254"),
        ("http://169.254.43518/", "169.254.169.254"),
        ("http://[::]/", "::"),
        ("http://[0:0:0:0:0:0:0:1]/", "::1"),
        ("http://[::FFFF:7F00:1]/", "::ffff:127.0.0.1"),
        ("http://127\u30020\u30020\u30021/", "127.0.0.1"),  # ideographic full stops
        (
            "http://\u24db\u24de\u24d2\u24d0\u24db\u24d7\u24de\u24e2\u24e3/",
            "localhost",
        ),  # ⓛⓞⓒⓐⓛⓗⓞⓢⓣ
        ("http://B\u00fccher.example/", "xn--bcher-kva.example"),
        ("HTTPS://Example.COM./x", "example.com"),
    ],
)
def test_it_normalises_odd_spellings_of_hosts(url: str, host: str) -> None:
    assert parse_target(url).host == host


@pytest.mark.parametrize(
    ("url", "detail"),
    [
        ("http://a@b/", "userinfo"),
        ("http://example.com@127.0.0.1/", "userinfo"),
        ("http://user:pass@example.com/", "userinfo"),
        ("http://127.0.0.1\\@example.com/", "characters"),
        ("http:\\\\127.0.0.1/", "characters"),
        ("http://exa mple.com/", "characters"),
        ("http://example.com/\r\nX-Injected: 1", "characters"),
        ("http://%31%32%37.0.0.1/", "percent_encoded_host"),
        ("http://127.0.0.%31/", "percent_encoded_host"),
        ("http://[fe80::1%25eth0]/", "percent_encoded_host"),
        ("http://1.2.3.999/", "ambiguous_host"),
        ("http://1.2.3.4.5/", "ambiguous_host"),
        ("http://0x7g.1/", "ambiguous_host"),
        ("http://08.0.0.1/", "ambiguous_host"),
        ("http://4294967296/", "ambiguous_host"),
        ("http://exa;mple.com/", "host_characters"),
        ("http://a..b/", "host_characters"),
        ("http://xn--zz.example/", "idna"),
        ("ftp://example.com/", "scheme"),
        ("file:///etc/passwd", "scheme"),
        ("gopher://127.0.0.1:70/", "scheme"),
        ("//example.com/", "scheme"),
        ("example.com/path", "scheme"),
        ("http:///path", "no_host"),
        ("http://example.com:0/", "port"),
        ("http://example.com:99999/", "syntax"),
        ("http://[::1/", "syntax"),
    ],
)
def test_it_refuses_ambiguous_urls(url: str, detail: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        parse_target(url)
    assert refused.value.kind == FailureKind.INVALID_URL
    assert refused.value.detail == detail


@given(st.sampled_from(REFUSED_V4), st.data())
def test_it_reads_every_ipv4_spelling_as_the_address_it_means(
    network: str, data: st.DataObject
) -> None:
    net = ipaddress.IPv4Network(network)
    address = net.network_address + data.draw(st.integers(0, net.num_addresses - 1))
    spelling = data.draw(st.sampled_from(ipv4_spellings(address)))
    assert parse_target(f"http://{spelling}/").host == str(address)


def test_it_keeps_the_path_and_query_and_drops_the_fragment() -> None:
    target = parse_target("http://0x7f.1:8080/a/b?c=d#frag")
    assert target.url == "http://127.0.0.1:8080/a/b?c=d"
    assert target.host_header == "127.0.0.1:8080"
    assert parse_target("https://[::1]/").host_header == "[::1]"


def test_it_accepts_allowlisted_hosts_and_networks() -> None:
    policy = AddressPolicy.from_allowlist(["sandbox.internal", "10.0.0.0/8"])
    target = parse_target("http://sandbox.internal/")
    assert policy.check(target, lambda host, port: ["192.168.0.5"]) == ["192.168.0.5"]
    other = parse_target("http://api.internal/")
    assert policy.check(other, lambda host, port: ["10.9.9.9"]) == ["10.9.9.9"]
    with pytest.raises(TargetRefused) as refused:
        policy.check(other, lambda host, port: ["10.9.9.9", "192.168.0.1"])
    assert refused.value.kind == FailureKind.BLOCKED
    assert refused.value.detail == "private_address"


def test_it_normalises_allowlist_entries_like_urls() -> None:
    policy = AddressPolicy.from_allowlist(["127.1", "[::1]", "Sandbox.Internal.", " "])
    assert ipaddress.ip_network("127.0.0.1/32") in policy.allowed_networks
    assert ipaddress.ip_network("::1/128") in policy.allowed_networks
    assert policy.allowed_hosts == frozenset({"sandbox.internal"})


def test_it_does_not_resolve_ip_literals() -> None:
    def resolver(host: str, port: int) -> list[str]:
        raise AssertionError("an IP literal must not be resolved")

    policy = AddressPolicy(worker_addresses=NO_OWN)
    assert policy.check(parse_target("http://93.184.215.14/"), resolver) == ["93.184.215.14"]


def test_it_refuses_when_any_resolved_address_is_private() -> None:
    target = parse_target("https://rebind.example/")
    with pytest.raises(TargetRefused) as refused:
        AddressPolicy().check(target, lambda host, port: ["93.184.215.14", "127.0.0.1"])
    assert refused.value.detail == "private_address"
    assert "127.0.0.1" in refused.value.message


@pytest.mark.parametrize("answer", ["::ffff:127.0.0.1", "fe80::1%eth0", "64:ff9b::a9fe:a9fe"])
def test_it_refuses_resolved_ipv6_disguises(answer: str) -> None:
    with pytest.raises(TargetRefused) as refused:
        AddressPolicy().check(parse_target("https://x.example/"), lambda host, port: [answer])
    assert refused.value.kind == FailureKind.BLOCKED


def answering(addresses: list[str]) -> Resolver:
    """A resolver that answers `addresses` for any name."""
    return lambda host, port: addresses


def test_it_refuses_the_workers_own_public_address() -> None:
    own = ipaddress.ip_address("93.184.215.14")
    policy = AddressPolicy(worker_addresses=frozenset({own}))
    for answer in ["93.184.215.14", "::ffff:93.184.215.14"]:
        with pytest.raises(TargetRefused) as refused:
            policy.check(parse_target("https://me.example/"), answering([answer]))
        assert refused.value.detail == "own_address"


def test_it_learns_the_workers_own_addresses_from_the_machine() -> None:
    assert ipaddress.ip_address("127.0.0.1") in own_addresses()


def test_it_reports_a_resolver_that_answers_nothing_or_garbage() -> None:
    target = parse_target("https://x.example/")
    for answer, detail in [([], "no_address"), (["not-an-ip"], "resolution_failed")]:
        with pytest.raises(TargetRefused) as refused:
            AddressPolicy().check(target, answering(answer))
        assert (refused.value.kind, refused.value.detail) == (FailureKind.DNS, detail)


def test_it_normalises_host_case_trailing_dots_and_default_ports() -> None:
    assert parse_target("HTTPS://Example.COM./x").host == "example.com"
    assert parse_target("https://example.com/").port == 443
    assert parse_target("http://example.com:8080/").port == 8080
