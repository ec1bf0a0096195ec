"""Which targets a worker may connect to.

Every URL is parsed strictly and its host resolved; every resolved address must be publicly
routable unless the operator allowlisted the host or a network containing the address.
"""

import ipaddress
import socket
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

from apps.egress.types import FailureKind

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = ("http", "https")


class TargetRefused(Exception):
    """The target may not be contacted. `kind` says why, the message says it to a person."""

    def __init__(self, kind: FailureKind, message: str) -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case, without brackets or trailing dot
    port: int


def parse_target(url: str) -> Target:
    """Parse and normalise an absolute http(s) URL, refusing what is ambiguous."""
    if any(ch in url for ch in "\\\r\n\t\x00 "):
        raise TargetRefused(
            FailureKind.INVALID_URL, "The URL contains spaces, backslashes or control characters."
        )
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise TargetRefused(FailureKind.INVALID_URL, f"The URL cannot be parsed: {exc}.") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"'{scheme}'" if scheme else "none"
        raise TargetRefused(
            FailureKind.INVALID_URL,
            f"Only http and https URLs can be requested (the scheme was {shown}).",
        )
    if "@" in parts.netloc:
        raise TargetRefused(
            FailureKind.INVALID_URL,
            "URLs with a user name or password before the host ('user@host') are not accepted; "
            "send credentials in a header instead.",
        )
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise TargetRefused(FailureKind.INVALID_URL, "The URL has no host name.")
    return Target(scheme=scheme, host=host, port=port or (443 if scheme == "https" else 80))


def system_resolver(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


def _unwrap(address: IPAddress) -> IPAddress:
    """The IPv4 address hidden in an IPv6 form, if any (mapped, 6to4, Teredo, NAT64)."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.sixtofour is not None:
            return address.sixtofour
        if address.teredo is not None:
            return address.teredo[1]
        if address in ipaddress.IPv6Network("64:ff9b::/96"):
            return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: IPAddress) -> bool:
    inner = _unwrap(address)
    if inner is not address and not is_public(inner):
        return False
    return address.is_global and not address.is_multicast


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses only, plus the hosts and networks an operator allowlisted."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()

    @classmethod
    def from_allowlist(cls, entries: Iterable[str]) -> "AddressPolicy":
        hosts: set[str] = set()
        networks = []
        for entry in entries:
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
            except ValueError:
                hosts.add(entry.rstrip(".").lower())
        return cls(allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks))

    def allows_address(self, address: IPAddress) -> bool:
        if is_public(address):
            return True
        return any(address in network for network in self.allowed_networks)

    def check(self, target: Target, resolver: Resolver = system_resolver) -> list[str]:
        """The addresses the target resolves to, all permitted, or TargetRefused."""
        try:
            addresses = resolver(target.host, target.port)
        except (socket.gaierror, UnicodeError) as exc:
            reason = exc.strerror if isinstance(exc, socket.gaierror) else str(exc)
            raise TargetRefused(
                FailureKind.DNS, f"The host name {target.host} could not be resolved ({reason})."
            ) from None
        if not addresses:
            raise TargetRefused(FailureKind.DNS, f"The host name {target.host} has no address.")
        if target.host in self.allowed_hosts:
            return addresses
        for text in addresses:
            address = ipaddress.ip_address(text.split("%")[0])
            if not self.allows_address(address):
                raise TargetRefused(
                    FailureKind.BLOCKED,
                    f"{target.host} resolves to {address}, which is not a public address. "
                    "Requests to private, loopback, link-local and reserved addresses are "
                    "refused unless an operator adds the host or network to EGRESS_ALLOWLIST.",
                )
        return addresses
