"""Send one outbound request: the only place in the project that does.

Each hop is parsed strictly, resolved once and checked by the address policy; the
connection goes to a checked address (pinned, see `transport`). Timeouts are always set
and a deadline for the whole exchange is checked on every read; the response head, the
body as received, the compressed bytes and the decoded bytes all have caps and the body is
read as a stream, so the worker never holds more than the caps. Redirects are followed
only when the request asks, by our own loop, each hop checked like the first. Nothing is
taken from the environment (proxies, .netrc). Every failure comes back as data
(`Failure`, with a machine-readable `detail`), never as an exception.

Connections are kept between requests of a process (`transport.PinnedPools`) for methods
that are safe to send again (RFC 9110 §9.2.2), only for the same pinned address and TLS
settings: if a kept connection turns out closed by the server before any byte of the
answer, the request goes once more on a new connection, as browsers do. Other methods
always get a connection of their own.

Certificates are verified against `CA_BUNDLE` (certifi's), plus the certificates of an
optional extra bundle (`extra_ca_bundle`: in development, the TLS sandbox's CA), read when
the file changes and trusted alongside, never instead.
"""

import contextlib
import errno
import http.client
import ipaddress
import os
import re
import secrets
import socket
import ssl
import threading
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from urllib.parse import urljoin

import certifi
import requests
import urllib3.exceptions
from urllib3.util.ssl_match_hostname import CertificateError as HostnameMismatch

from apps.egress.certificates import look_without_verifying
from apps.egress.decoding import (
    DECODABLE,
    BoundedDecoder,
    CompressedTooLarge,
    DecodingFailed,
    content_codings,
)
from apps.egress.policy import (
    AddressPolicy,
    Resolver,
    Target,
    TargetRefused,
    dns_detail,
    parse_target,
    system_resolver,
)
from apps.egress.redaction import is_secret_header
from apps.egress.transport import PhaseClock, PinnedAdapter, PinnedPools, ReadGuard, ResponseCut
from apps.egress.types import (
    IDEMPOTENT_METHODS,
    ConnectionFacts,
    Exchange,
    Failure,
    FailureKind,
    HopFacts,
    OutboundRequest,
    Response,
)

USER_AGENT = "api-diagnostics-dashboard/0.1 (+requests)"
CHUNK_BYTES = 64 * 1024
MAX_REDIRECTS = 5
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
# The CA bundle https certificates are verified against; tests point it at their own CA.
CA_BUNDLE: str = certifi.where()
# Headers the client sets itself, or that would change where or how the request goes.
FORBIDDEN_REQUEST_HEADERS = frozenset(
    {"host", "connection", "content-length", "transfer-encoding", "te", "upgrade", "keep-alive"}
)
# The connections this process keeps, per pinned address and TLS settings.
POOLS = PinnedPools()
# Headers that describe a body, dropped with it when a redirect turns the method into GET.
BODY_HEADERS = frozenset(
    {"content-type", "content-length", "content-encoding", "content-language", "content-location"}
)


_PEM_CERTIFICATE = re.compile(
    r"-----BEGIN CERTIFICATE-----[A-Za-z0-9+/=\s]+?-----END CERTIFICATE-----"
)
# path -> ((mtime_ns, size), the PEM certificates it held then, or None)
_extra_ca_cache: dict[str, tuple[tuple[int, int], str | None]] = {}
_extra_ca_lock = threading.Lock()


def extra_ca_certificates(path: str | None) -> str | None:
    """The PEM certificates of the bundle at `path`, to trust on top of `CA_BUNDLE`.

    None when there is no path, no file (yet) or no certificate in it: then only
    `CA_BUNDLE` is trusted. The file is read again only when its size or mtime changes.
    """
    if not path:
        return None
    try:
        stat = os.stat(path)
    except OSError:
        return None
    version = (stat.st_mtime_ns, stat.st_size)
    with _extra_ca_lock:
        cached = _extra_ca_cache.get(path)
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            with open(path, encoding="ascii", errors="replace") as bundle:
                found = _PEM_CERTIFICATE.findall(bundle.read())
        except OSError:
            return None
        certificates = "\n".join(found) + "\n" if found else None
        if certificates is not None:
            try:  # refuse it here rather than fail every https handshake with it
                ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT).load_verify_locations(cadata=certificates)
            except (ssl.SSLError, ValueError):
                certificates = None
        _extra_ca_cache[path] = (version, certificates)
        return certificates


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1024 * 1024  # bytes of (decoded) body kept; more is cut
    connect_timeout: float = 5.0  # seconds; never more than the request's own timeout
    # Compressed bytes that may enter any decoding layer before giving up
    # (RESPONSE_TOO_LARGE "compressed_body"); None: twice max_body_bytes, at least 1 MiB.
    max_compressed_bytes: int | None = None
    max_encoding_layers: int = 2  # stacked Content-Encodings; more is refused
    max_response_header_bytes: int = 64 * 1024  # status line and headers, together
    max_response_headers: int = 99  # http.client refuses a 100th whatever this says
    max_request_body_bytes: int = 1024 * 1024
    max_request_header_bytes: int = 32 * 1024  # request line and headers, together
    max_redirects: int = MAX_REDIRECTS  # followed only when the request asks

    @property
    def compressed_cap(self) -> int:
        if self.max_compressed_bytes is not None:
            return self.max_compressed_bytes
        return max(2 * self.max_body_bytes, 1024 * 1024)


@dataclass(frozen=True)
class _Hop:
    """One request of a redirect chain, as it will be sent."""

    method: str
    url: str
    params: list[tuple[str, str]] = field(default_factory=list)
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


@dataclass(frozen=True)
class _HopOutcome:
    url: str
    headers: list[tuple[str, str]]
    response: Response | None = None
    failure: Failure | None = None
    facts: HopFacts | None = None


def send(
    request: OutboundRequest,
    *,
    policy: AddressPolicy,
    limits: Limits | None = None,
    resolver: Resolver = system_resolver,
    extra_ca_bundle: str | None = None,
) -> Exchange:
    """Send `request` (following redirects if it asks) and return what happened.

    `extra_ca_bundle`: a PEM file whose certificates are trusted for https on top of
    `CA_BUNDLE` (e.g. a development CA); a missing file adds nothing.
    """
    limits = limits or Limits()
    extra_ca = extra_ca_certificates(extra_ca_bundle)
    started = time.monotonic()
    deadline = started + request.timeout
    redirects: list[tuple[int, str]] = []
    hops: list[HopFacts] = []
    trace_id = secrets.token_hex(16) if request.traceparent else ""
    hop = _Hop(
        method=request.method.upper(),
        url=request.url,
        params=list(request.params),
        headers=list(request.headers),
        body=request.body,
    )

    def finish(hop: _Hop, outcome: _HopOutcome) -> Exchange:
        return Exchange(
            method=hop.method,
            url=outcome.url,
            request_headers=outcome.headers,
            response=outcome.response,
            failure=outcome.failure,
            elapsed_ms=(time.monotonic() - started) * 1000,
            redirects=list(redirects),
            hops=list(hops),
        )

    def failed(hop: _Hop, failure: Failure) -> Exchange:
        return finish(hop, _HopOutcome(url=hop.url, headers=list(hop.headers), failure=failure))

    refusal = _refuse_request(request, limits)
    if refusal is not None:
        return failed(hop, refusal)

    previous: Target | None = None
    visited: set[tuple[str, str]] = set()
    while True:
        try:
            target = parse_target(hop.url)
        except TargetRefused as refused:
            if previous is None:
                return failed(hop, Failure(refused.kind, refused.message, refused.detail))
            return failed(hop, _redirect_refused(refused, redirects[-1][0]))
        if previous is not None:
            if (hop.method, target.url) in visited:
                return failed(
                    hop,
                    Failure(
                        FailureKind.TOO_MANY_REDIRECTS,
                        f"{previous.host} redirected back to a URL already requested "
                        "(a redirect loop); it was not followed again.",
                        "loop",
                    ),
                )
            if target.origin != previous.origin:
                hop = replace(hop, headers=_without_credentials(hop.headers))
            if time.monotonic() >= deadline:
                return failed(
                    hop,
                    Failure(
                        FailureKind.READ_TIMEOUT,
                        f"The {request.timeout:g} s timeout passed while following redirects.",
                        "deadline",
                    ),
                )
        outcome = _send_hop(
            _traced(hop, trace_id),
            target,
            policy=policy,
            limits=limits,
            resolver=resolver,
            deadline=deadline,
            timeout=request.timeout,
            extra_ca=extra_ca,
        )
        if outcome.failure is not None and previous is not None:
            outcome = replace(outcome, failure=_redirect_failure(outcome.failure, target))
        if outcome.facts is not None:
            hops.append(outcome.facts)
        response = outcome.response
        location = (response.header("Location") or "").strip() if response else ""
        if (
            response is None
            or not request.follow_redirects
            or response.status not in REDIRECT_STATUSES
            or not location
        ):
            return finish(hop, outcome)
        visited.add((hop.method, outcome.url))
        redirects.append((response.status, location))
        if len(redirects) > limits.max_redirects:
            return finish(
                hop,
                replace(
                    outcome,
                    response=None,
                    failure=Failure(
                        FailureKind.TOO_MANY_REDIRECTS,
                        f"{target.host} redirected more than {limits.max_redirects} times; "
                        "the chain was not followed further.",
                        "limit",
                    ),
                ),
            )
        previous = target
        hop = _redirected(hop, response.status, location, outcome.url)


def _traced(hop: _Hop, trace_id: str) -> _Hop:
    """The hop with a W3C traceparent (a new parent id per hop), unless it has one."""
    if not trace_id or any(name.strip().lower() == "traceparent" for name, _ in hop.headers):
        return hop
    parent = f"00-{trace_id}-{secrets.token_hex(8)}-01"
    return replace(hop, headers=[*hop.headers, ("traceparent", parent)])


def _is_ip_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _hop_facts(
    clock: PhaseClock,
    *,
    target: Target,
    guard: ReadGuard | None,
    response: Response | None = None,
    failure: Failure | None = None,
    timeout: float = 0.0,
) -> HopFacts:
    """What one request's clock and guard saw; for a TLS failure, what the server presented
    (see `look_without_verifying`), the request not being sent over that second look."""
    clock.end = clock.end or time.monotonic()
    https = target.scheme == "https"
    timings = clock.timings(end=clock.end, https=https, failed=failure is not None)
    connection = None
    if clock.connect_start is not None or clock.reused:
        address, port = clock.remote or (clock.address, target.port)
        connection = ConnectionFacts(
            remote_address=address,
            remote_port=port,
            reused=clock.reused,
            local_port=clock.local_port,
            http_version=response.http_version if response else "",
            bytes_sent=clock.bytes_sent,
            bytes_received=(guard.head_bytes + guard.body_wire_bytes) if guard else 0,
            body_wire_bytes=guard.body_wire_bytes if guard else 0,
            body_decoded_bytes=len(response.body) if response else 0,
        )
    tls = clock.tls
    if (
        https
        and tls is None
        and failure is not None
        and failure.kind == FailureKind.TLS
        and clock.address
    ):
        tls = look_without_verifying(
            address=clock.address,
            port=target.port,
            hostname=target.host,
            timeout=timeout,
            now=datetime.now(UTC),
        )
    return HopFacts(
        timings=timings,
        connection=connection,
        tls=tls,
        status=response.status if response else None,
    )


# Control characters but the tab: not in a header value (RFC 9110 §5.5).
_UNSENDABLE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")


def _refuse_request(request: OutboundRequest, limits: Limits) -> Failure | None:
    """Why the request as composed cannot be sent, before anything is resolved."""
    for name, value in request.headers:
        lowered = name.strip().lower()
        if lowered in FORBIDDEN_REQUEST_HEADERS or lowered.startswith("proxy-"):
            return Failure(
                FailureKind.INVALID_URL,
                f"The header {name.strip()} is set by the HTTP client itself (or would change "
                "where the request goes) and cannot be sent.",
                "forbidden_header",
            )
        if any(ord(char) > 255 or _UNSENDABLE.match(char) for char in value):
            # http.client would raise UnicodeEncodeError (outside Latin-1), or send it.
            return Failure(
                FailureKind.INVALID_URL,
                f"The value of the header {name.strip()} has a character HTTP cannot carry "
                "(only Latin-1 characters, and no control characters).",
                "invalid_header",
            )
    if len(request.body) > limits.max_request_body_bytes:
        return Failure(
            FailureKind.OTHER,
            f"The request body is {len(request.body)} bytes; at most "
            f"{limits.max_request_body_bytes} bytes can be sent.",
            "request_too_large",
        )
    return None


def _without_credentials(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """The headers without the credentials (the redaction policy's secret header names), for
    a redirect to another origin."""
    return [(name, value) for name, value in headers if not is_secret_header(name)]


def _redirected(hop: _Hop, status: int, location: str, current_url: str) -> _Hop:
    """The next request of the chain, as browsers make it (RFC 9110 §15.4, Fetch)."""
    with contextlib.suppress(UnicodeError):  # http.client decoded the header as latin-1
        location = location.encode("latin-1").decode("utf-8")
    method, body, headers = hop.method, hop.body, hop.headers
    if (status == 303 and method != "HEAD") or (status in (301, 302) and method == "POST"):
        method, body = "GET", b""
        headers = [(n, v) for n, v in headers if n.strip().lower() not in BODY_HEADERS]
    return _Hop(method=method, url=urljoin(current_url, location), headers=headers, body=body)


def _redirect_refused(refused: TargetRefused, status: int) -> Failure:
    if refused.detail == "scheme":
        return Failure(
            FailureKind.BLOCKED,
            f"The server answered {status} with a redirect to a URL that is not http or "
            "https; it was not followed.",
            "scheme",
        )
    return Failure(
        refused.kind,
        f"The server answered {status} with a redirect that was not followed: {refused.message}",
        refused.detail,
    )


def _redirect_failure(failure: Failure, target: Target) -> Failure:
    if failure.kind != FailureKind.BLOCKED:
        return failure
    return replace(failure, message=f"A redirect led to {target.host}. {failure.message}")


def _prepare(hop: _Hop, target: Target) -> requests.PreparedRequest:
    headers: dict[str, str] = {"Host": target.host_header, "User-Agent": USER_AGENT}
    for name, value in _merge_headers(hop.headers):
        headers["User-Agent" if name.strip().lower() == "user-agent" else name] = value
    return requests.Request(
        method=hop.method,
        url=target.url,
        params=hop.params,
        headers=headers,
        data=hop.body or None,
    ).prepare()


def _head_size(prepared: requests.PreparedRequest) -> int:
    line = f"{prepared.method} {prepared.path_url} HTTP/1.1\r\n"
    return len(line) + sum(len(k) + len(v) + 4 for k, v in prepared.headers.items()) + 2


def _send_hop(
    hop: _Hop,
    target: Target,
    *,
    policy: AddressPolicy,
    limits: Limits,
    resolver: Resolver,
    deadline: float,
    timeout: float,
    extra_ca: str | None = None,
) -> _HopOutcome:
    clock = PhaseClock(started=time.monotonic())
    if not _is_ip_literal(target.host):
        clock.dns_start = clock.started
    try:
        addresses = policy.check(target, resolver)
    except TargetRefused as refused:
        if refused.kind != FailureKind.DNS and clock.dns_start is not None:
            clock.dns_end = time.monotonic()  # resolved, then refused by the policy
        failure = Failure(refused.kind, refused.message, refused.detail)
        return _HopOutcome(
            url=target.url,
            headers=list(hop.headers),
            failure=failure,
            facts=_hop_facts(clock, target=target, guard=None, failure=failure),
        )
    if clock.dns_start is not None:
        clock.dns_end = time.monotonic()
    guard: ReadGuard | None = None
    try:
        prepared = _prepare(hop, target)
    except requests.RequestException as exc:
        return _HopOutcome(
            url=target.url, headers=list(hop.headers), failure=describe(exc, host=target.host)
        )
    url = prepared.url or target.url
    sent_headers = [(str(k), str(v)) for k, v in prepared.headers.items()]

    def outcome(failure: Failure) -> _HopOutcome:
        clock.end = time.monotonic()
        look = min(limits.connect_timeout, deadline - clock.end)
        facts = _hop_facts(clock, target=target, guard=guard, failure=failure, timeout=look)
        return _HopOutcome(url=url, headers=sent_headers, failure=failure, facts=facts)

    head_size = _head_size(prepared)
    if head_size > limits.max_request_header_bytes:
        return outcome(
            Failure(
                FailureKind.OTHER,
                f"The request line and headers are {head_size} bytes; at most "
                f"{limits.max_request_header_bytes} bytes can be sent.",
                "request_too_large",
            )
        )
    # No requests.Session: nothing is merged from the environment (a session with
    # trust_env on would read proxies and .netrc), and no cookie jar carries over hops.
    for index, address in enumerate(addresses):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return outcome(
                Failure(
                    FailureKind.CONNECT_TIMEOUT,
                    f"No connection to {target.host} could be made in time.",
                    "deadline",
                )
            )
        guard = ReadGuard(
            deadline=deadline,
            max_head_bytes=limits.max_response_header_bytes,
            max_head_lines=limits.max_response_headers,
            max_body_wire_bytes=limits.compressed_cap + limits.max_body_bytes,
            clock=clock,
        )
        clock.new_connection()
        clock.address = address
        # Idempotent methods go over a kept connection (and again when it closed under them).
        keep = hop.method in IDEMPOTENT_METHODS
        adapter = _adapter(target, address, guard, extra_ca, keep=keep)
        complete = False
        try:
            try:
                try:
                    raw = _send_prepared(adapter, prepared, limits, remaining)
                except requests.RequestException as exc:
                    if not (adapter.reused and guard.head_bytes == 0 and _is_dropped(exc)):
                        raise
                    # The kept connection was closed by the server meanwhile: a new one.
                    adapter.close()
                    clock.new_connection()
                    adapter = _adapter(target, address, guard, extra_ca, keep=False)
                    raw = _send_prepared(adapter, prepared, limits, deadline - time.monotonic())
            except requests.RequestException as exc:
                if _is_connect_failure(exc) and index + 1 < len(addresses):
                    continue  # the next checked address, as getaddrinfo callers do
                return outcome(describe(exc, host=target.host))
            except ResponseCut as cut:
                return outcome(_cut_failure(cut, host=target.host, limits=limits, timeout=timeout))
            try:
                response = _read_response(raw, hop.method, limits=limits, deadline=deadline)
                complete = not response.cut
            except ResponseCut as cut:
                return outcome(_cut_failure(cut, host=target.host, limits=limits, timeout=timeout))
            except requests.RequestException as exc:
                return outcome(describe(exc, host=target.host))
            except urllib3.exceptions.HTTPError as exc:
                return outcome(describe(requests.ConnectionError(exc), host=target.host))
            except DecodingFailed:
                return outcome(
                    Failure(
                        FailureKind.PROTOCOL,
                        f"{target.host} sent a body that is not valid data in the "
                        "Content-Encoding it declared.",
                        "content_decoding",
                    )
                )
            except CompressedTooLarge:
                return outcome(
                    Failure(
                        FailureKind.RESPONSE_TOO_LARGE,
                        f"{target.host} sent more than {limits.compressed_cap} bytes of "
                        "compressed body without it decoding to the body cap; the transfer "
                        "was stopped.",
                        "compressed_body",
                    )
                )
            finally:
                if complete and adapter.kept:
                    raw.raw.release_conn()  # read to its end: kept for the next request
                else:
                    raw.close()
            clock.end = time.monotonic()
            facts = _hop_facts(clock, target=target, guard=guard, response=response)
            return _HopOutcome(url=url, headers=sent_headers, response=response, facts=facts)
        finally:
            adapter.close()
    raise AssertionError("policy.check returns at least one address")  # pragma: no cover


def _adapter(
    target: Target, address: str, guard: ReadGuard, extra_ca: str | None, *, keep: bool
) -> PinnedAdapter:
    """An adapter pinned to `address`: over a kept connection when `keep`."""
    pool = None
    if keep:
        key = PinnedPools.key(
            scheme=target.scheme, address=address, port=target.port, hostname=target.host,
            ca_bundle=CA_BUNDLE, ca_cert_data=extra_ca,
        )  # fmt: skip
        pool = POOLS.get(key, extra_ca)
    return PinnedAdapter(
        scheme=target.scheme,
        address=address,
        port=target.port,
        hostname=target.host,
        guard=guard,
        ca_cert_data=extra_ca,
        ca_bundle=CA_BUNDLE,
        pool=pool,
    )


def _send_prepared(
    adapter: PinnedAdapter, prepared: requests.PreparedRequest, limits: Limits, remaining: float
) -> requests.Response:
    return adapter.send(
        prepared,
        stream=True,
        timeout=(min(limits.connect_timeout, remaining), remaining),
        verify=CA_BUNDLE,
        proxies={},
    )


def _is_dropped(exc: requests.RequestException) -> bool:
    """The connection was closed or reset before any answer: a kept one the server let go."""
    return any(
        isinstance(c, http.client.RemoteDisconnected | ConnectionResetError | BrokenPipeError)
        for c in _causes(exc)
    )


def _is_connect_failure(exc: requests.RequestException) -> bool:
    """Nothing was sent: the TCP connection itself could not be made."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return True
    return any(isinstance(c, urllib3.exceptions.NewConnectionError) for c in _causes(exc))


def _read_response(
    raw: requests.Response, method: str, *, limits: Limits, deadline: float
) -> Response:
    upstream = raw.raw
    status = raw.status_code

    def check_deadline() -> None:
        if time.monotonic() > deadline:
            raise ResponseCut(FailureKind.READ_TIMEOUT, "deadline")

    has_body = method != "HEAD" and status not in (204, 304) and status >= 200
    codings = content_codings(upstream.headers.getlist("Content-Encoding")) if has_body else []
    if len(codings) > limits.max_encoding_layers:
        raise ResponseCut(
            FailureKind.RESPONSE_TOO_LARGE,
            "encoding_layers",
            f"The response body is encoded {len(codings)} times over "
            f"(Content-Encoding: {', '.join(codings)}); more than "
            f"{limits.max_encoding_layers} layers is refused, as a defence against "
            "decompression bombs.",
        )
    decoder = None
    if codings and all(coding in DECODABLE for coding in codings):
        decoder = BoundedDecoder(
            codings, max_compressed_bytes=limits.compressed_cap, check=check_deadline
        )
    cap = limits.max_body_bytes
    body = bytearray()
    cut = ""
    while not cut:
        check_deadline()
        chunk = upstream.read1(CHUNK_BYTES, decode_content=False) if has_body else b""
        if decoder is None:
            if len(chunk) > cap - len(body):
                body += chunk[: cap - len(body)]
                cut = "body_bytes"
            else:
                body += chunk
        else:
            decoder.feed(chunk)
            # Pull one byte past the cap, to tell a body of exactly the cap from a longer one.
            while piece := decoder.pull(min(CHUNK_BYTES, cap + 1 - len(body))):
                body += piece
                if len(body) > cap:
                    del body[cap:]
                    cut = "decoded_bytes"
                    break
        if not chunk:
            break
    version = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}.get(upstream.version, "HTTP/1.1")
    return Response(
        status=status,
        reason=raw.reason or "",
        headers=list(upstream.headers.items()),
        body=bytes(body),
        truncated=bool(cut),
        http_version=version,
        cut=cut,
    )


def _cut_failure(cut: ResponseCut, *, host: str, limits: Limits, timeout: float) -> Failure:
    if cut.message:
        message = cut.message
    elif cut.detail == "no_answer":
        message = f"{host} accepted the connection but did not answer in time."
    elif cut.kind == FailureKind.READ_TIMEOUT:
        message = (
            f"{host} was still sending its response after the {timeout:g} s timeout; "
            "the transfer was stopped."
        )
    elif cut.detail == "headers":
        message = (
            f"{host} sent response headers over the limit ({limits.max_response_header_bytes} "
            f"bytes or {limits.max_response_headers} headers); the response was not read."
        )
    else:
        message = (
            f"{host} sent far more bytes than the body caps allow (chunk framing or "
            "trailers); the transfer was stopped."
        )
    return Failure(cut.kind, message, cut.detail)


def _merge_headers(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """Repeated header names joined with commas, as HTTP allows (RFC 9110 §5.3)."""
    merged: dict[str, tuple[str, str]] = {}
    for name, value in headers:
        key = name.lower()
        if key in merged:
            merged[key] = (merged[key][0], f"{merged[key][1]}, {value}")
        else:
            merged[key] = (name, value)
    return list(merged.values())


def _causes(exc: BaseException) -> list[BaseException]:
    """The exception and everything it wraps: causes, contexts, urllib3 reasons, args."""
    found: list[BaseException] = []
    pending: list[BaseException] = [exc]
    while pending and len(found) < 50:
        current = pending.pop(0)
        if any(current is seen for seen in found):
            continue
        found.append(current)
        linked = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        linked += list(current.args)
        pending += [item for item in linked if isinstance(item, BaseException)]
    return found


# OpenSSL verification codes (X509_V_ERR_*) and what they mean for a person.
_TLS_VERIFY_DETAILS = {
    9: "certificate_not_yet_valid",
    10: "certificate_expired",
    18: "self_signed",  # DEPTH_ZERO_SELF_SIGNED_CERT
    19: "self_signed",  # SELF_SIGNED_CERT_IN_CHAIN
    2: "untrusted_issuer",  # UNABLE_TO_GET_ISSUER_CERT
    20: "untrusted_issuer",  # UNABLE_TO_GET_ISSUER_CERT_LOCALLY
    21: "untrusted_issuer",  # UNABLE_TO_VERIFY_LEAF_SIGNATURE
    23: "certificate_revoked",
    62: "hostname_mismatch",
    64: "hostname_mismatch",  # IP_ADDRESS_MISMATCH
}


def _tls_detail(causes: list[BaseException]) -> tuple[str, str]:
    """(detail, what OpenSSL said) for a TLS failure."""
    for cause in causes:
        if isinstance(cause, ssl.SSLCertVerificationError):
            code = getattr(cause, "verify_code", None)
            said = getattr(cause, "verify_message", None) or ""
            return _TLS_VERIFY_DETAILS.get(code or 0, "certificate_invalid"), str(said)
        if isinstance(cause, HostnameMismatch):
            return "hostname_mismatch", "the certificate is not valid for this host name"
    for cause in causes:
        if isinstance(cause, ssl.SSLError):
            said = str(getattr(cause, "reason", None) or "")
            return _TLS_REASONS.get(said.upper(), "handshake"), said
    return "handshake", ""


# OpenSSL's reasons for a handshake that failed without a certificate problem.
_TLS_REASONS = {
    "TLSV1_ALERT_PROTOCOL_VERSION": "protocol_version",
    "UNSUPPORTED_PROTOCOL": "protocol_version",
    "NO_PROTOCOLS_AVAILABLE": "protocol_version",
    "WRONG_SSL_VERSION": "protocol_version",
    "SSLV3_ALERT_HANDSHAKE_FAILURE": "cipher_mismatch",
    "NO_SHARED_CIPHER": "cipher_mismatch",
    "NO_CIPHERS_AVAILABLE": "cipher_mismatch",
    "TLSV1_ALERT_INSUFFICIENT_SECURITY": "cipher_mismatch",
    "WRONG_VERSION_NUMBER": "not_tls",
    "HTTP_REQUEST": "not_tls",
    "PACKET_LENGTH_TOO_LONG": "not_tls",
    "RECORD_LAYER_FAILURE": "not_tls",
}


def describe(exc: requests.RequestException, *, host: str) -> Failure:
    """The Failure a requests exception stands for, with a message without the URL in it.

    Exception texts from urllib3 repeat the whole URL, query string included, which may
    hold a key, so messages are written here from the kind and the host only.
    """
    causes = _causes(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return Failure(
            FailureKind.CONNECT_TIMEOUT, f"No connection to {host} could be made in time."
        )
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return Failure(
            FailureKind.READ_TIMEOUT,
            f"{host} accepted the connection but did not answer in time.",
            "no_answer",
        )
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(c, ssl.SSLError | HostnameMismatch) for c in causes
    ):
        detail, said = _tls_detail(causes)
        suffix = f" ({said})" if said else ""
        return Failure(FailureKind.TLS, f"The TLS handshake with {host} failed{suffix}.", detail)
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return Failure(
            FailureKind.TOO_MANY_REDIRECTS, f"{host} redirected too many times.", "limit"
        )
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.URLRequired
        | requests.exceptions.InvalidHeader,
    ):
        detail = (
            "invalid_header" if isinstance(exc, requests.exceptions.InvalidHeader) else "syntax"
        )
        return Failure(
            FailureKind.INVALID_URL,
            "The request could not be built: the URL or a header is not valid.",
            detail,
        )
    if any(isinstance(c, urllib3.exceptions.NameResolutionError | socket.gaierror) for c in causes):
        gai = next((c for c in causes if isinstance(c, socket.gaierror)), None)
        return Failure(
            FailureKind.DNS,
            f"The host name {host} could not be resolved.",
            dns_detail(gai) if gai is not None else "resolution_failed",
        )
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or any(
        getattr(c, "errno", None) == errno.ECONNREFUSED for c in causes
    ):
        return Failure(
            FailureKind.CONNECTION_REFUSED,
            f"{host} refused the connection: nothing is listening on that port.",
        )
    if any(isinstance(c, ConnectionResetError | BrokenPipeError) for c in causes):
        return Failure(
            FailureKind.CONNECTION_RESET,
            f"{host} closed the connection abruptly (connection reset).",
        )
    if any(isinstance(c, TimeoutError | socket.timeout) for c in causes):
        return Failure(FailureKind.READ_TIMEOUT, f"{host} did not answer in time.", "no_answer")
    if any(
        isinstance(c, http.client.LineTooLong)
        or (isinstance(c, http.client.HTTPException) and "got more than" in str(c))
        for c in causes
    ):
        return Failure(
            FailureKind.RESPONSE_TOO_LARGE,
            f"{host} sent response headers over the limit; the response was not read.",
            "headers",
        )
    if any(
        isinstance(c, http.client.IncompleteRead | urllib3.exceptions.IncompleteRead)
        for c in causes
    ):
        return Failure(
            FailureKind.PROTOCOL,
            f"{host} closed the connection before the body's announced length (Content-Length)"
            " had arrived.",
            "incomplete_body",
        )
    if isinstance(
        exc,
        requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError,
    ) or any(isinstance(c, urllib3.exceptions.ProtocolError) for c in causes):
        return Failure(
            FailureKind.PROTOCOL,
            f"{host} sent a response that is not valid HTTP or closed it midway.",
            "invalid_response",
        )
    return Failure(FailureKind.OTHER, f"The request to {host} failed ({type(exc).__name__}).")


def classify(exc: requests.RequestException, *, host: str) -> tuple[FailureKind, str]:
    """What kind of failure a requests exception is, and a message without the URL in it."""
    failure = describe(exc, host=host)
    return failure.kind, failure.message
