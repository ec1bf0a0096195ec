"""Send one outbound request: the only place in the project that does.

Timeouts are always set, the body is read as a stream and cut at a cap, redirects are not
followed, nothing is taken from the environment (proxies, .netrc), and every failure comes
back as data (`Failure`), never as an exception.
"""

import errno
import socket
import ssl
import time
from dataclasses import dataclass

import requests
import urllib3.exceptions

from apps.egress.policy import AddressPolicy, Resolver, TargetRefused, parse_target, system_resolver
from apps.egress.types import Exchange, Failure, FailureKind, OutboundRequest, Response

USER_AGENT = "api-diagnostics-dashboard/0.1 (+requests)"
CHUNK_BYTES = 64 * 1024


@dataclass(frozen=True)
class Limits:
    max_body_bytes: int = 1024 * 1024  # bytes of (decoded) body kept; more is cut
    connect_timeout: float = 5.0  # seconds; never more than the request's own timeout


def send(
    request: OutboundRequest,
    *,
    policy: AddressPolicy,
    limits: Limits | None = None,
    resolver: Resolver = system_resolver,
) -> Exchange:
    limits = limits or Limits()
    started = time.monotonic()
    deadline = started + request.timeout

    def failed(kind: FailureKind, message: str, url: str = request.url) -> Exchange:
        return Exchange(
            method=request.method,
            url=url,
            request_headers=list(request.headers),
            response=None,
            failure=Failure(kind=kind, message=message),
            elapsed_ms=(time.monotonic() - started) * 1000,
        )

    try:
        target = parse_target(request.url)
        policy.check(target, resolver)
    except TargetRefused as refusal:
        return failed(refusal.kind, refusal.message)

    with requests.Session() as session:
        session.trust_env = False
        session.headers.clear()
        session.headers["User-Agent"] = USER_AGENT
        prepared = session.prepare_request(
            requests.Request(
                method=request.method,
                url=request.url,
                params=request.params,
                headers=dict(_merge_headers(request.headers)),
                data=request.body or None,
            )
        )
        url = prepared.url or request.url
        sent_headers = list(prepared.headers.items())
        try:
            raw = session.send(
                prepared,
                stream=True,
                allow_redirects=False,
                timeout=(min(limits.connect_timeout, request.timeout), request.timeout),
            )
        except requests.RequestException as exc:
            kind, message = classify(exc, host=target.host)
            return failed(kind, message, url)
        try:
            body, truncated = _read_capped(raw, limits.max_body_bytes, deadline)
        except requests.RequestException as exc:
            kind, message = classify(exc, host=target.host)
            return failed(kind, message, url)
        except urllib3.exceptions.HTTPError as exc:
            return failed(*classify(requests.ConnectionError(exc), host=target.host), url)
        except _DeadlinePassed:
            return failed(
                FailureKind.READ_TIMEOUT,
                f"{target.host} was still sending its response after the {request.timeout:g} s "
                "timeout; the transfer was stopped.",
                url,
            )
        finally:
            raw.close()

    version = {10: "HTTP/1.0", 11: "HTTP/1.1", 20: "HTTP/2"}.get(raw.raw.version, "HTTP/1.1")
    return Exchange(
        method=request.method,
        url=url,
        request_headers=sent_headers,
        response=Response(
            status=raw.status_code,
            reason=raw.reason or "",
            headers=list(raw.raw.headers.items()),
            body=body,
            truncated=truncated,
            http_version=version,
        ),
        failure=None,
        elapsed_ms=(time.monotonic() - started) * 1000,
    )


class _DeadlinePassed(Exception):
    pass


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


def _read_capped(response: requests.Response, cap: int, deadline: float) -> tuple[bytes, bool]:
    """At most `cap` decoded bytes of the body, and whether there was more.

    read1 returns as soon as any bytes arrive, so the deadline is checked even against a
    server that sends one byte at a time.
    """
    chunks: list[bytes] = []
    kept = 0
    while True:
        if time.monotonic() > deadline:
            raise _DeadlinePassed
        chunk = response.raw.read1(CHUNK_BYTES, decode_content=True)
        if not chunk:
            return b"".join(chunks), False
        if kept + len(chunk) > cap:
            chunks.append(chunk[: cap - kept])
            return b"".join(chunks), True
        chunks.append(chunk)
        kept += len(chunk)


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


def classify(exc: requests.RequestException, *, host: str) -> tuple[FailureKind, str]:
    """What kind of failure a requests exception is, and a message without the URL in it.

    Exception texts from urllib3 repeat the whole URL, query string included, which may
    hold a key, so messages are written here from the kind and the host only.
    """
    causes = _causes(exc)
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return FailureKind.CONNECT_TIMEOUT, f"No connection to {host} could be made in time."
    if isinstance(exc, requests.exceptions.ReadTimeout):
        return (
            FailureKind.READ_TIMEOUT,
            f"{host} accepted the connection but did not answer in time.",
        )
    if isinstance(exc, requests.exceptions.SSLError) or any(
        isinstance(c, ssl.SSLError) for c in causes
    ):
        detail = next(
            (
                getattr(c, "verify_message", None) or getattr(c, "reason", None)
                for c in causes
                if isinstance(c, ssl.SSLError)
            ),
            None,
        )
        suffix = f" ({detail})" if isinstance(detail, str) and detail else ""
        return FailureKind.TLS, f"The TLS handshake with {host} failed{suffix}."
    if isinstance(exc, requests.exceptions.TooManyRedirects):
        return FailureKind.TOO_MANY_REDIRECTS, f"{host} redirected too many times."
    if isinstance(
        exc,
        requests.exceptions.InvalidURL
        | requests.exceptions.MissingSchema
        | requests.exceptions.InvalidSchema
        | requests.exceptions.URLRequired
        | requests.exceptions.InvalidHeader,
    ):
        return (
            FailureKind.INVALID_URL,
            "The request could not be built: the URL or a header is not valid.",
        )
    if any(isinstance(c, urllib3.exceptions.NameResolutionError | socket.gaierror) for c in causes):
        return FailureKind.DNS, f"The host name {host} could not be resolved."
    if any(isinstance(c, ConnectionRefusedError) for c in causes) or any(
        getattr(c, "errno", None) == errno.ECONNREFUSED for c in causes
    ):
        return (
            FailureKind.CONNECTION_REFUSED,
            f"{host} refused the connection: nothing is listening on that port.",
        )
    if any(isinstance(c, ConnectionResetError | BrokenPipeError) for c in causes):
        return (
            FailureKind.CONNECTION_RESET,
            f"{host} closed the connection abruptly (connection reset).",
        )
    if any(isinstance(c, TimeoutError | socket.timeout) for c in causes):
        return FailureKind.READ_TIMEOUT, f"{host} did not answer in time."
    if isinstance(
        exc,
        requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError,
    ) or any(isinstance(c, urllib3.exceptions.ProtocolError) for c in causes):
        return (
            FailureKind.PROTOCOL,
            f"{host} sent a response that is not valid HTTP or closed it midway.",
        )
    return FailureKind.OTHER, f"The request to {host} failed ({type(exc).__name__})."
