"""Which targets a worker may connect to.

Every URL is parsed strictly and its host normalised (odd IPv4 spellings, IDNA, trailing
dots) or refused; the host is resolved once and every resolved address must be publicly
routable, and not one of the worker's own, unless the operator allowlisted the host or a
network containing the address. The client then connects to a checked address (pinned).
"""

import contextlib
import fcntl
import ipaddress
import re
import socket
import struct
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from urllib.parse import urlsplit

import idna

from apps.egress.types import FailureKind

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], list[str]]

ALLOWED_SCHEMES = ("http", "https")

# Refused IPv4 ranges, with what they are, for the message. Written out rather than taken
# from `ipaddress.is_private`/`is_global`, whose lists change between Python versions and
# miss some of these (multicast is "global" there); `is_global` is still checked after.
_REFUSED_V4: tuple[tuple[str, str], ...] = (
    ("0.0.0.0/8", "a 'this network' address (0.0.0.0/8)"),
    ("10.0.0.0/8", "a private address (10.0.0.0/8)"),
    ("100.64.0.0/10", "a carrier-grade NAT address (100.64.0.0/10)"),
    ("127.0.0.0/8", "a loopback address"),
    ("169.254.0.0/16", "a link-local address (where cloud metadata services answer)"),
    ("172.16.0.0/12", "a private address (172.16.0.0/12)"),
    ("192.0.0.0/24", "an IETF protocol assignment (192.0.0.0/24)"),
    ("192.0.2.0/24", "a documentation address (192.0.2.0/24)"),
    ("192.88.99.0/24", "a 6to4 relay anycast address"),
    ("192.168.0.0/16", "a private address (192.168.0.0/16)"),
    ("198.18.0.0/15", "a benchmarking address (198.18.0.0/15)"),
    ("198.51.100.0/24", "a documentation address (198.51.100.0/24)"),
    ("203.0.113.0/24", "a documentation address (203.0.113.0/24)"),
    ("224.0.0.0/4", "a multicast address"),
    ("240.0.0.0/4", "a reserved address (240.0.0.0/4, broadcast included)"),
)
_REFUSED_V6: tuple[tuple[str, str], ...] = (
    ("::/128", "the unspecified address"),
    ("::1/128", "a loopback address"),
    ("::ffff:0:0/96", "an IPv4-mapped address"),  # reached only if the IPv4 inside is public
    ("::/96", "an IPv4-compatible address (deprecated)"),
    ("64:ff9b:1::/48", "a local-use NAT64 address"),
    ("100::/64", "a discard-only address"),
    ("2001::/32", "a Teredo tunnel address"),
    ("2001:db8::/32", "a documentation address (2001:db8::/32)"),
    ("2001::/23", "an IETF protocol assignment (2001::/23)"),
    ("2002::/16", "a 6to4 tunnel address"),
    ("3fff::/20", "a documentation address (3fff::/20)"),
    ("5f00::/16", "an SRv6 segment identifier"),
    ("fc00::/7", "a unique local (private) address"),
    ("fe80::/10", "a link-local address"),
    ("fec0::/10", "a site-local address (deprecated)"),
    ("ff00::/8", "a multicast address"),
)
_REFUSED_NETWORKS: tuple[tuple[IPNetwork, str], ...] = tuple(
    (ipaddress.ip_network(cidr), name) for cidr, name in _REFUSED_V4 + _REFUSED_V6
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")


class TargetRefused(Exception):
    """The target may not be contacted. `kind` says why, the message says it to a person,
    `detail` is a machine-readable sub-reason (see the Failure type)."""

    def __init__(self, kind: FailureKind, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.kind = kind
        self.message = message
        self.detail = detail


@dataclass(frozen=True)
class Target:
    scheme: str
    host: str  # lower case ASCII (IDNA), without brackets or trailing dot; IPs canonical
    port: int
    url: str = ""  # the URL rebuilt on the normalised host, without fragment

    @property
    def origin(self) -> tuple[str, str, int]:
        return (self.scheme, self.host, self.port)

    @property
    def host_header(self) -> str:
        """The Host header value: the name as the user wrote it, port only if not default."""
        shown = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.scheme == "https" else 80
        return shown if self.port == default else f"{shown}:{self.port}"


def _invalid(message: str, detail: str) -> TargetRefused:
    return TargetRefused(FailureKind.INVALID_URL, message, detail)


_HOST_LABEL = re.compile(r"^[a-z0-9_](?:[a-z0-9_-]{0,61}[a-z0-9_])?$")
_NUMERIC_PART = re.compile(r"^(?:0x[0-9a-f]*|[0-9]+)$")


def _parse_ipv4_spelling(host: str) -> ipaddress.IPv4Address | None:
    """The IPv4 address a host written like one means, as browsers and inet_aton read it.

    `127.1`, `0`, `2130706433`, `0177.0.0.1`, `0x7f.1` all mean an address. A host whose
    last label is numeric but that is not a valid address is ambiguous and refused.
    None when the host does not look like an IPv4 address at all.
    """
    parts = host.split(".")
    if not _NUMERIC_PART.match(parts[-1]):
        return None
    values: list[int] = []
    for part in parts:
        if not _NUMERIC_PART.match(part):
            raise _invalid(
                f"The host {host!r} looks like an IP address but is not a valid one.",
                "ambiguous_host",
            )
        if part.startswith("0x"):
            values.append(int(part[2:] or "0", 16))
        elif len(part) > 1 and part.startswith("0"):
            if any(ch in "89" for ch in part):
                raise _invalid(f"The host {host!r} is not a valid IP address.", "ambiguous_host")
            values.append(int(part, 8))
        else:
            values.append(int(part))
    if len(values) > 4 or any(value > 255 for value in values[:-1]):
        raise _invalid(f"The host {host!r} is not a valid IP address.", "ambiguous_host")
    if values[-1] >= 256 ** (5 - len(values)):
        raise _invalid(f"The host {host!r} is not a valid IP address.", "ambiguous_host")
    number = values[-1]
    for index, value in enumerate(values[:-1]):
        number += value << (8 * (3 - index))
    return ipaddress.IPv4Address(number)


def normalise_host(raw: str) -> str:
    """A host as the resolver and the Host header should see it, or TargetRefused."""
    host = raw.lower()
    if "%" in host:
        raise _invalid(
            "Percent-encoded characters (and IPv6 zone ids) are not accepted in the host name.",
            "percent_encoded_host",
        )
    if ":" in host:  # only an IPv6 literal, from between brackets, can hold a colon here
        try:
            return ipaddress.IPv6Address(host).compressed
        except ValueError:
            raise _invalid(f"{host!r} is not a valid IPv6 address.", "host_characters") from None
    if host.endswith("."):
        host = host[:-1]
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True, transitional=False).decode("ascii").lower()
        except (idna.IDNAError, UnicodeError, ValueError):
            raise _invalid(
                "The host name is not a valid internationalised domain name.", "idna"
            ) from None
        if host.endswith("."):
            host = host[:-1]
    if not host:
        raise _invalid("The URL has no host name.", "no_host")
    ipv4 = _parse_ipv4_spelling(host)
    if ipv4 is not None:
        return str(ipv4)
    labels = host.split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise _invalid(
            "The host name contains characters or empty labels that a host name cannot have.",
            "host_characters",
        )
    for label in labels:
        if label.startswith("xn--"):
            try:
                idna.decode(label)
            except (idna.IDNAError, UnicodeError, ValueError):
                raise _invalid(
                    "The host name is not a valid internationalised domain name.", "idna"
                ) from None
    return host


def parse_target(url: str) -> Target:
    """Parse and normalise an absolute http(s) URL, refusing what is ambiguous."""
    if any(ch in url for ch in "\\ ") or any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in url):
        raise _invalid("The URL contains spaces, backslashes or control characters.", "characters")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise _invalid(f"The URL cannot be parsed: {exc}.", "syntax") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"'{scheme}'" if scheme else "none"
        raise _invalid(
            f"Only http and https URLs can be requested (the scheme was {shown}).", "scheme"
        )
    if "@" in parts.netloc:
        raise _invalid(
            "URLs with a user name or password before the host ('user@host') are not accepted; "
            "send credentials in a header instead.",
            "userinfo",
        )
    if not parts.hostname:
        raise _invalid("The URL has no host name.", "no_host")
    if port == 0:
        raise _invalid("Port 0 cannot be connected to.", "port")
    host = normalise_host(parts.hostname)
    shown = f"[{host}]" if ":" in host else host
    netloc = shown if port is None else f"{shown}:{port}"
    rebuilt = f"{scheme}://{netloc}{parts.path or '/'}"
    if parts.query:
        rebuilt += f"?{parts.query}"
    return Target(
        scheme=scheme,
        host=host,
        port=port or (443 if scheme == "https" else 80),
        url=rebuilt,
    )


def system_resolver(host: str, port: int) -> list[str]:
    """The host's addresses, in the order getaddrinfo prefers them (RFC 6724)."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def _ip_or_none(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 form carries: mapped, compatible, 6to4, Teredo, NAT64."""
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found: list[ipaddress.IPv4Address] = []
    if address.ipv4_mapped is not None:
        found.append(address.ipv4_mapped)
    if int(address) >> 32 == 0 and int(address) > 1:  # ::a.b.c.d, deprecated "compatible"
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    if address.sixtofour is not None:
        found.append(address.sixtofour)
    if address.teredo is not None:
        found.extend(address.teredo)
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return found


def refused_range(address: IPAddress) -> str | None:
    """What kind of non-public address this is ("a loopback address"), None if public."""
    for inner in _embedded_ipv4(address):
        inner_range = refused_range(inner)
        if inner_range is not None:
            return f"an IPv6 form of {inner}, {inner_range}"
    for network, name in _REFUSED_NETWORKS:
        if address.version == network.version and address in network:
            if name == "an IPv4-mapped address":
                break  # the IPv4 inside was checked above and is public
            return name
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None or address in _NAT64:
            return None
        if address not in _GLOBAL_UNICAST_V6:
            return "not a global unicast address"
    if not address.is_global or address.is_multicast:
        return "not a publicly routable address"
    return None


def is_public(address: IPAddress) -> bool:
    return refused_range(address) is None


# The worker's own addresses: learnt from the host name, the interfaces and the source
# address of the default routes, refreshed now and then (interfaces can change).
_OWN_TTL_SECONDS = 60.0
_own_lock = threading.Lock()
_own_cache: tuple[float, frozenset[IPAddress]] = (-_OWN_TTL_SECONDS, frozenset())


def _learn_own_addresses() -> set[IPAddress]:
    found: set[str] = set()
    with contextlib.suppress(OSError, UnicodeError):
        name = socket.gethostname()
        found.update(socket.gethostbyname_ex(name)[2])
        found.update(str(info[4][0]) for info in socket.getaddrinfo(name, None))
    with contextlib.suppress(OSError), open("/proc/net/if_inet6") as lines:
        for line in lines:
            digits = line.split()[0]
            found.add(str(ipaddress.IPv6Address(int(digits, 16))))
    with (
        contextlib.suppress(OSError, AttributeError),
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock,
    ):
        for _, interface in socket.if_nameindex():
            with contextlib.suppress(OSError):
                request = struct.pack("256s", interface.encode()[:15])
                answer = fcntl.ioctl(sock.fileno(), 0x8915, request)  # SIOCGIFADDR
                found.add(socket.inet_ntoa(answer[20:24]))
    # Connecting a UDP socket sends nothing; it only picks the source address of the route.
    for family, probe in ((socket.AF_INET, "198.51.100.1"), (socket.AF_INET6, "2001:db8::1")):
        with contextlib.suppress(OSError), socket.socket(family, socket.SOCK_DGRAM) as sock:
            sock.connect((probe, 9))
            found.add(str(sock.getsockname()[0]))
    addresses: set[IPAddress] = set()
    for text in found:
        address = _ip_or_none(text.split("%")[0])
        if address is not None:
            addresses.add(address)
    return addresses


def own_addresses() -> frozenset[IPAddress]:
    global _own_cache
    with _own_lock:
        learnt_at, addresses = _own_cache
        if time.monotonic() - learnt_at > _OWN_TTL_SECONDS:
            addresses = frozenset(_learn_own_addresses())
            _own_cache = (time.monotonic(), addresses)
        return addresses


@dataclass(frozen=True)
class AddressPolicy:
    """Public addresses only, plus the hosts and networks an operator allowlisted."""

    allowed_hosts: frozenset[str] = frozenset()
    allowed_networks: tuple[IPNetwork, ...] = ()
    # The worker's own addresses, refused even when public; None learns them from the
    # machine (see `own_addresses`).
    worker_addresses: frozenset[IPAddress] | None = None

    @classmethod
    def from_allowlist(cls, entries: Iterable[str]) -> "AddressPolicy":
        hosts: set[str] = set()
        networks: list[IPNetwork] = []
        for entry in entries:
            entry = entry.strip()
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry.strip("[]"), strict=False))
                continue
            except ValueError:
                pass
            try:
                host = normalise_host(entry.strip("[]"))
            except TargetRefused:
                host = entry.rstrip(".").lower()
            address = _ip_or_none(host)
            if address is not None:
                networks.append(ipaddress.ip_network(address))
            else:
                hosts.add(host)
        return cls(allowed_hosts=frozenset(hosts), allowed_networks=tuple(networks))

    def _own(self) -> frozenset[IPAddress]:
        return own_addresses() if self.worker_addresses is None else self.worker_addresses

    def allows_address(self, address: IPAddress) -> bool:
        return self.refusal(address) is None

    def refusal(self, address: IPAddress) -> tuple[str, str] | None:
        """(detail, what the address is) when refused, None when it may be contacted."""
        if any(address.version == n.version and address in n for n in self.allowed_networks):
            return None
        what = refused_range(address)
        if what is not None:
            return "private_address", what
        own = self._own()
        if address in own or any(inner in own for inner in _embedded_ipv4(address)):
            return "own_address", "one of this worker's own addresses"
        return None

    def check(self, target: Target, resolver: Resolver = system_resolver) -> list[str]:
        """The addresses the target resolves to, all permitted, or TargetRefused.

        An IP literal is not resolved. The caller must connect to one of the returned
        addresses and nothing else: resolving again could answer differently.
        """
        literal = _ip_or_none(target.host)
        if literal is not None:
            addresses = [str(literal)]
        else:
            try:
                addresses = list(resolver(target.host, target.port))
            except (OSError, UnicodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else str(exc)
                detail = dns_detail(exc)
                raise TargetRefused(
                    FailureKind.DNS,
                    f"The host name {target.host} could not be resolved ({reason}).",
                    detail,
                ) from None
            if not addresses:
                raise TargetRefused(
                    FailureKind.DNS, f"The host name {target.host} has no address.", "no_address"
                )
        checked: list[str] = []
        for text in addresses:
            address = _ip_or_none(str(text).split("%")[0])
            if address is None:
                raise TargetRefused(
                    FailureKind.DNS,
                    f"The host name {target.host} resolved to something that is not an IP address.",
                    "resolution_failed",
                )
            checked.append(str(address))
            if target.host in self.allowed_hosts:
                continue
            refusal = self.refusal(address)
            if refusal is not None:
                detail, what = refusal
                named = (
                    f"{target.host} is {what}"
                    if literal is not None
                    else f"{target.host} resolves to {address}, which is {what}"
                )
                raise TargetRefused(
                    FailureKind.BLOCKED,
                    f"Blocked by the address policy: {named}. Requests to private, loopback, "
                    "link-local, reserved and the worker's own addresses are refused unless "
                    "an operator adds the host or network to EGRESS_ALLOWLIST.",
                    detail,
                )
        return list(dict.fromkeys(checked))


def dns_detail(exc: BaseException) -> str:
    """No such name (NXDOMAIN), no answer for an existing name (NODATA), or the resolver
    failing, from a resolver's error."""
    if isinstance(exc, socket.gaierror):
        if exc.errno == socket.EAI_NONAME:
            return "no_such_host"
        if exc.errno == getattr(socket, "EAI_NODATA", -5):
            return "no_address"
    return "resolution_failed"
