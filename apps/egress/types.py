"""What goes out and what comes back: plain data, no Django, no network."""

from dataclasses import dataclass, field
from enum import StrEnum


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
