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

    def __post_init__(self) -> None:
        if (self.response is None) == (self.failure is None):
            raise ValueError("an Exchange has either a response or a failure")
