import ipaddress

import pytest

from apps.egress.policy import AddressPolicy, TargetRefused, is_public, parse_target
from apps.egress.types import FailureKind


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
        "224.0.0.1",
        "255.255.255.255",
        "192.0.2.1",
        "::1",
        "::",
        "fe80::1",
        "fd00:ec2::254",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "2002:7f00:1::",
        "64:ff9b::a00:1",
        "2001:db8::1",
    ],
)
def test_it_refuses_addresses_that_are_not_public(address: str) -> None:
    assert not is_public(ipaddress.ip_address(address))


@pytest.mark.parametrize("address", ["93.184.215.14", "2606:4700::1111", "8.8.8.8"])
def test_it_accepts_public_addresses(address: str) -> None:
    assert is_public(ipaddress.ip_address(address))


def test_it_accepts_allowlisted_hosts_and_networks() -> None:
    policy = AddressPolicy.from_allowlist(["sandbox.internal", "10.0.0.0/8"])
    target = parse_target("http://sandbox.internal/")
    assert policy.check(target, lambda host, port: ["192.168.0.5"]) == ["192.168.0.5"]
    other = parse_target("http://api.internal/")
    assert policy.check(other, lambda host, port: ["10.9.9.9"]) == ["10.9.9.9"]
    with pytest.raises(TargetRefused) as refused:
        policy.check(other, lambda host, port: ["10.9.9.9", "192.168.0.1"])
    assert refused.value.kind == FailureKind.BLOCKED


def test_it_refuses_when_any_resolved_address_is_private() -> None:
    target = parse_target("https://rebind.example/")
    with pytest.raises(TargetRefused):
        AddressPolicy().check(target, lambda host, port: ["93.184.215.14", "127.0.0.1"])


def test_it_normalises_host_case_trailing_dots_and_default_ports() -> None:
    assert parse_target("HTTPS://Example.COM./x").host == "example.com"
    assert parse_target("https://example.com/").port == 443
    assert parse_target("http://example.com:8080/").port == 8080
