"""What goes out and what comes back: plain data, no Django, no network."""

from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any

# RFC 9110 §9.2.2: methods whose repetition has the same effect as one request.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# Methods a request is composed without a body for (a form refuses one, an import drops it).
BODYLESS_METHODS = frozenset({"GET", "HEAD"})


class FailureKind(StrEnum):
    """Why no HTTP response was received. Values are stored on runs; never rename one."""

    INVALID_URL = "invalid_url"
    BLOCKED = "blocked"  # refused by the address policy before connecting
    DNS = "dns"
    CONNECTION_REFUSED = "connection_refused"
    CONNECTION_RESET = "connection_reset"
    CONNECT_TIMEOUT = "connect_timeout"
    READ_TIMEOUT = "read_timeout"
    TLS = "tls"
    TOO_MANY_REDIRECTS = "too_many_redirects"
    RESPONSE_TOO_LARGE = "response_too_large"  # headers or compressed body over their cap
    PROTOCOL = "protocol"  # the server answered something that is not valid HTTP
    OTHER = "other"


@dataclass(frozen=True)
class OutboundRequest:
    """A request as the user composed it, secrets included. Never logged or stored as is."""

    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    timeout: float = 10.0  # seconds, for the whole exchange
    follow_redirects: bool = False  # at most MAX_REDIRECTS hops, each checked by the policy
    # Send a W3C `traceparent` (a new trace id per exchange, a new parent id per hop).
    traceparent: bool = False


@dataclass(frozen=True)
class Response:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: bytes  # at most the body cap; see `truncated`
    truncated: bool  # the body was longer than the cap and was cut
    http_version: str = "HTTP/1.1"
    # Which cap cut the body, when `truncated`: "body_bytes" (the body as received was over
    # the cap) or "decoded_bytes" (a compressed body decoded to more than the cap).
    cut: str = ""

    def header(self, name: str) -> str | None:
        """The first value of a header, by case-insensitive name."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)

    @property
    def content_type(self) -> str:
        return (self.header("Content-Type") or "").split(";")[0].strip().lower()


@dataclass(frozen=True)
class Failure:
    kind: FailureKind
    message: str  # what went wrong, for people; secrets already removed
    # A finer, machine-readable reason within the kind, e.g. for TLS "certificate_expired",
    # "self_signed", "hostname_mismatch"; for BLOCKED "private_address"; "" when none.
    # The full list, per kind, is FAILURE_DETAILS below.
    detail: str = ""


# The phases of one request, in the order they happen (HAR's names; `tls` is HAR's `ssl`).
PHASES = ("blocked", "dns", "connect", "tls", "send", "wait", "receive")


@dataclass(frozen=True)
class Timings:
    """Where the time of one request (one hop of a redirect chain) went, in milliseconds.

    None: the phase did not happen (DNS for an IP address, TLS for http, everything after
    a failure; DNS, connect and TLS on a reused connection). The phases add up to `total`
    (rounding aside): `blocked` holds what lies outside the others (checking the address
    again before reusing a connection, a failed try on an earlier address or on a kept
    connection the server had closed).
    """

    total: float
    blocked: float | None = None
    dns: float | None = None
    connect: float | None = None  # the TCP handshake only
    tls: float | None = None
    send: float | None = None  # writing the request line, headers and body
    wait: float | None = None  # the request sent, until the first byte of the answer
    receive: float | None = None  # from the first byte to the last byte read
    reused: bool = False  # over a connection kept from an earlier request
    failed_in: str = ""  # the phase under way when the request failed, "" if it did not

    def phase(self, name: str) -> float | None:
        if name not in PHASES:
            raise KeyError(name)
        value: float | None = getattr(self, name)
        return value

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "Timings | None":
        if not isinstance(data, dict) or not isinstance(data.get("total"), int | float):
            return None

        def number(name: str) -> float | None:
            value = data.get(name)
            return float(value) if isinstance(value, int | float) else None

        return cls(
            total=float(data["total"]),
            **{name: number(name) for name in PHASES},
            reused=bool(data.get("reused")),
            failed_in=str(data.get("failed_in") or ""),
        )


@dataclass(frozen=True)
class Certificate:
    """One certificate the server presented, summarised."""

    subject: str  # RFC 4514, e.g. "CN=api.example.com,O=Example"
    common_name: str
    names: list[str]  # subjectAltName DNS names and IP addresses
    issuer: str
    issuer_common_name: str
    not_before: str  # ISO 8601, UTC
    not_after: str
    days_left: int  # whole days from when it was seen to not_after; negative: expired
    key_type: str  # "RSA", "EC", "Ed25519", ...
    key_bits: int | None
    serial: str  # hex
    sha256: str  # fingerprint, hex
    self_issued: bool  # subject == issuer

    @property
    def days_expired(self) -> int:
        """Whole days since it expired; 0 while it is valid."""
        return max(0, -self.days_left)

    @classmethod
    def from_dict(cls, data: Any) -> "Certificate | None":
        if not isinstance(data, dict):
            return None
        bits = data.get("key_bits")
        days = data.get("days_left")
        names = data.get("names")
        return cls(
            subject=str(data.get("subject") or ""),
            common_name=str(data.get("common_name") or ""),
            names=[str(n) for n in names] if isinstance(names, list) else [],
            issuer=str(data.get("issuer") or ""),
            issuer_common_name=str(data.get("issuer_common_name") or ""),
            not_before=str(data.get("not_before") or ""),
            not_after=str(data.get("not_after") or ""),
            days_left=int(days) if isinstance(days, int) else 0,
            key_type=str(data.get("key_type") or ""),
            key_bits=int(bits) if isinstance(bits, int) else None,
            serial=str(data.get("serial") or ""),
            sha256=str(data.get("sha256") or ""),
            self_issued=bool(data.get("self_issued")),
        )


@dataclass(frozen=True)
class TlsFacts:
    """What the TLS handshake of one https request gave.

    `verified` False: the certificate did not pass verification; the facts come from a
    second, non-verifying handshake with the same pinned address over which no request was
    sent (empty chain if even that failed).
    """

    protocol: str = ""  # "TLSv1.3"
    cipher: str = ""
    alpn: str = ""  # "" when the server chose none
    verified: bool = True
    chain: list[Certificate] = field(default_factory=list)  # as presented, leaf first

    @property
    def leaf(self) -> Certificate | None:
        return self.chain[0] if self.chain else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "TlsFacts | None":
        if not isinstance(data, dict):
            return None
        chain = data.get("chain")
        return cls(
            protocol=str(data.get("protocol") or ""),
            cipher=str(data.get("cipher") or ""),
            alpn=str(data.get("alpn") or ""),
            verified=bool(data.get("verified", True)),
            chain=[
                c
                for c in map(Certificate.from_dict, chain if isinstance(chain, list) else [])
                if c is not None
            ],
        )


@dataclass(frozen=True)
class ConnectionFacts:
    """The connection one request went over."""

    remote_address: str  # the pinned address connected to
    remote_port: int
    reused: bool = False
    local_port: int = 0  # the worker's end: tells one TCP connection from another
    http_version: str = ""  # of the response, "" without one
    bytes_sent: int = 0  # request line, headers and body as written to the socket
    bytes_received: int = 0  # status line, headers and body as read off the wire
    body_wire_bytes: int = 0  # of which the body (chunk framing, compression included)
    body_decoded_bytes: int = 0  # the body after decoding, as kept (up to the cap)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Any) -> "ConnectionFacts | None":
        if not isinstance(data, dict) or not data.get("remote_address"):
            return None

        def count(name: str) -> int:
            value = data.get(name)
            return value if isinstance(value, int) else 0

        return cls(
            remote_address=str(data["remote_address"]),
            remote_port=count("remote_port"),
            reused=bool(data.get("reused")),
            local_port=count("local_port"),
            http_version=str(data.get("http_version") or ""),
            bytes_sent=count("bytes_sent"),
            bytes_received=count("bytes_received"),
            body_wire_bytes=count("body_wire_bytes"),
            body_decoded_bytes=count("body_decoded_bytes"),
        )


@dataclass(frozen=True)
class HopFacts:
    """The timings, connection and TLS facts of one request of an exchange."""

    timings: Timings
    connection: ConnectionFacts | None = None  # None: no connection was made
    tls: TlsFacts | None = None  # None: http, or nothing of the handshake is known
    status: int | None = None  # the response's, None on failure

    def to_dict(self) -> dict[str, Any]:
        return {
            "timings": self.timings.to_dict(),
            "connection": self.connection.to_dict() if self.connection else None,
            "tls": self.tls.to_dict() if self.tls else None,
            "status": self.status,
        }

    @classmethod
    def from_dict(cls, data: Any) -> "HopFacts | None":
        """The facts from a stored dict; None when it holds no timings."""
        if not isinstance(data, dict):
            return None
        timings = Timings.from_dict(data.get("timings"))
        if timings is None:
            return None
        status = data.get("status")
        return cls(
            timings=timings,
            connection=ConnectionFacts.from_dict(data.get("connection")),
            tls=TlsFacts.from_dict(data.get("tls")),
            status=status if isinstance(status, int) else None,
        )


@dataclass(frozen=True)
class Exchange:
    """One request and its outcome: exactly one of `response` and `failure` is set."""

    method: str
    url: str  # the final URL with its query string
    request_headers: list[tuple[str, str]]
    response: Response | None
    failure: Failure | None
    elapsed_ms: float
    # Redirects followed on the way to this outcome: (status, Location) per hop, in order.
    redirects: list[tuple[int, str]] = field(default_factory=list)
    # The facts of every request tried, in order: one per redirect followed, then the last
    # one (the outcome). Empty when none was tried (a URL or request refused as composed).
    hops: list[HopFacts] = field(default_factory=list)

    @property
    def final_hop(self) -> HopFacts | None:
        return self.hops[-1] if self.hops else None

    def __post_init__(self) -> None:
        if (self.response is None) == (self.failure is None):
            raise ValueError("an Exchange has either a response or a failure")


# Every `Failure.detail` the egress client gives, per kind ("" is always possible too).
FAILURE_DETAILS: dict[FailureKind, tuple[str, ...]] = {
    FailureKind.INVALID_URL: (
        "characters",  # spaces, backslashes or control characters
        "syntax",  # not parseable (bad port, unclosed bracket); requests refused it
        "scheme",  # not http or https
        "userinfo",  # user@host
        "no_host",
        "port",  # port 0
        "percent_encoded_host",  # %-escapes in the host, IPv6 zone ids included
        "ambiguous_host",  # looks like an IPv4 address but is not a valid one
        "host_characters",  # characters or empty labels a host name cannot have
        "idna",  # not a valid internationalised domain name
        "forbidden_header",  # Host, Connection, Content-Length, Transfer-Encoding, Proxy-*...
        "invalid_header",  # a header name or value HTTP cannot carry (CR/LF)
    ),
    FailureKind.BLOCKED: (
        "private_address",  # not publicly routable (loopback, private, link-local, ...)
        "own_address",  # one of the worker's own addresses
        "scheme",  # a redirect to something other than http or https
    ),
    FailureKind.DNS: (
        "no_such_host",  # the name does not exist (NXDOMAIN)
        "resolution_failed",  # the resolver failed or timed out
        "no_address",  # the name exists but has no address record (no answer, NODATA)
    ),
    FailureKind.CONNECTION_REFUSED: (),
    FailureKind.CONNECTION_RESET: (),
    FailureKind.CONNECT_TIMEOUT: ("deadline",),  # "" for the connect timeout itself
    FailureKind.READ_TIMEOUT: (
        "no_answer",  # connected, but not a byte of response in time
        "deadline",  # the response was still coming when the exchange's time ran out
    ),
    FailureKind.TLS: (
        "certificate_expired",
        "certificate_not_yet_valid",
        "self_signed",
        "untrusted_issuer",
        "hostname_mismatch",
        "certificate_revoked",
        "certificate_invalid",  # any other verification failure
        "protocol_version",  # no TLS version both sides accept
        "cipher_mismatch",  # no cipher suite both sides accept
        "not_tls",  # the port answered something that is not TLS (plain HTTP)
        "handshake",  # any other handshake failure
    ),
    FailureKind.TOO_MANY_REDIRECTS: ("loop", "limit"),
    FailureKind.RESPONSE_TOO_LARGE: (
        "headers",  # status line and headers over their byte or count cap
        "compressed_body",  # compressed bytes entering a decoding layer over their cap
        "encoding_layers",  # more stacked Content-Encodings than allowed
        "body_framing",  # far more bytes on the wire than the body caps (chunk framing)
    ),
    FailureKind.PROTOCOL: (
        "invalid_response",
        "content_decoding",
        "incomplete_body",  # the connection closed before the announced Content-Length
    ),
    FailureKind.OTHER: ("request_too_large",),
}
