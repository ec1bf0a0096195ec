"""Runs submitted as recorded: the caller already has the exchange (a request and its
response, or a failure, e.g. from a CI job or a HAR file), so nothing is sent. The run is
stored and diagnosed exactly as if a worker had sent it, marked `recorded`, so that it can
be read, shared and retried like any other.

`recorded_from_har_entry` reads one HAR 1.2 entry (as Chromium's DevTools or this
dashboard's export write it) into a `Recorded`: pure, no database.
"""

import base64
import binascii
import logging
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from apps.accounts.models import Team
from apps.diagnosis.lookups import get_profile, profile_for_url
from apps.egress.types import Exchange, Failure, FailureKind, Response
from apps.runs import execution, secrets, services
from apps.runs.forms import RunRequest
from apps.runs.models import Attempt, Run

logger = logging.getLogger(__name__)

MAX_BODY_CHARS = 1024 * 1024
MAX_HEADERS = 200
_METHOD = re.compile(r"^[A-Z]{1,10}$")
# Chromium's network error names (HAR `_error`) for the failures this dashboard knows.
CHROMIUM_ERRORS: dict[str, tuple[FailureKind, str]] = {
    "net::ERR_NAME_NOT_RESOLVED": (FailureKind.DNS, "no_such_host"),
    "net::ERR_NAME_RESOLUTION_FAILED": (FailureKind.DNS, "resolution_failed"),
    "net::ERR_CONNECTION_REFUSED": (FailureKind.CONNECTION_REFUSED, ""),
    "net::ERR_CONNECTION_RESET": (FailureKind.CONNECTION_RESET, ""),
    "net::ERR_CONNECTION_CLOSED": (FailureKind.CONNECTION_RESET, ""),
    "net::ERR_CONNECTION_TIMED_OUT": (FailureKind.CONNECT_TIMEOUT, ""),
    "net::ERR_TIMED_OUT": (FailureKind.READ_TIMEOUT, "no_answer"),
    "net::ERR_CERT_DATE_INVALID": (FailureKind.TLS, "certificate_expired"),
    "net::ERR_CERT_AUTHORITY_INVALID": (FailureKind.TLS, "untrusted_issuer"),
    "net::ERR_CERT_COMMON_NAME_INVALID": (FailureKind.TLS, "hostname_mismatch"),
    "net::ERR_CERT_REVOKED": (FailureKind.TLS, "certificate_revoked"),
    "net::ERR_SSL_PROTOCOL_ERROR": (FailureKind.TLS, "handshake"),
    "net::ERR_TOO_MANY_REDIRECTS": (FailureKind.TOO_MANY_REDIRECTS, "limit"),
    "net::ERR_INVALID_HTTP_RESPONSE": (FailureKind.PROTOCOL, "invalid_response"),
    "net::ERR_CONTENT_DECODING_FAILED": (FailureKind.PROTOCOL, "content_decoding"),
}


class RecordedInvalid(ValueError):
    """A recorded exchange that cannot be read; `field` names where (dotted path)."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


@dataclass(frozen=True)
class Recorded:
    """A request as it was sent (secrets included, as the caller has them) and its outcome."""

    method: str
    url: str
    headers: list[tuple[str, str]]
    body: str
    response: Response | None
    failure: Failure | None
    elapsed_ms: float = 0.0
    redirects: list[tuple[int, str]] = field(default_factory=list)

    def exchange(self) -> Exchange:
        return Exchange(
            method=self.method,
            url=self.url,
            request_headers=self.headers,
            response=self.response,
            failure=self.failure,
            elapsed_ms=self.elapsed_ms,
            redirects=self.redirects,
        )


# HTTP versions as HAR files write them (Chromium: "h2", "http/2.0"), as stored.
HTTP_VERSIONS = {
    "http/1.0": "HTTP/1.0", "http/1.1": "HTTP/1.1", "http/2": "HTTP/2", "http/2.0": "HTTP/2",
    "h2": "HTTP/2", "http/3": "HTTP/3", "h3": "HTTP/3",
}  # fmt: skip


def check_text(value: str, where: str) -> str:
    """Text that can be stored: no NUL characters (PostgreSQL refuses them)."""
    if "\x00" in value:
        raise RecordedInvalid(where, "NUL characters cannot be stored; remove them.")
    return value


def check_request(*, method: str, url: str, where: str = "request") -> tuple[str, str]:
    """The method (upper case) and URL of a recorded request; RecordedInvalid if unusable."""
    check_text(url, f"{where}.url")
    method = method.strip().upper()
    if not _METHOD.match(method):
        raise RecordedInvalid(f"{where}.method", "A method is a word such as GET or POST.")
    url = url.strip()
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        raise RecordedInvalid(f"{where}.url", "This URL cannot be read.") from None
    if parts.scheme not in {"http", "https"} or not host:
        raise RecordedInvalid(f"{where}.url", "Give the full URL, starting with http(s)://.")
    return method, url


def failure_of(kind: str, *, message: str = "", detail: str = "", where: str) -> Failure:
    try:
        failure_kind = FailureKind(kind)
    except ValueError:
        names = ", ".join(k.value for k in FailureKind)
        raise RecordedInvalid(f"{where}.kind", f"A failure kind is one of {names}.") from None
    check_text(message, f"{where}.message")
    detail = check_text(detail, f"{where}.detail")[:40]
    return Failure(kind=failure_kind, message=message or failure_kind.value, detail=detail)


def _pairs(value: object, where: str) -> list[tuple[str, str]]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise RecordedInvalid(where, "Headers are a list of {name, value} objects.")
    if len(value) > MAX_HEADERS:
        raise RecordedInvalid(where, f"At most {MAX_HEADERS} headers are read.")
    pairs = []
    for index, item in enumerate(value):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise RecordedInvalid(f"{where}[{index}]", "Each header is a {name, value} object.")
        name = check_text(item["name"].strip(), f"{where}[{index}].name")
        if name.startswith(":"):  # HTTP/2 pseudo-headers (":authority") are not headers
            continue
        value = check_text(str(item.get("value") or ""), f"{where}[{index}].value")
        pairs.append((name, value))
    return pairs


def _object(value: object, where: str) -> Mapping:
    if not isinstance(value, Mapping):
        raise RecordedInvalid(where, "This must be a JSON object.")
    return value


def _number(value: object, default: float = 0.0) -> float:
    """A duration in ms; anything else (negative, NaN, endless, not a number) is unknown."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return default
    if not math.isfinite(value) or not 0 <= value <= 86_400_000:
        return default
    return float(value)


def recorded_from_har_entry(entry: object) -> Recorded:
    """One HAR entry as a Recorded exchange. A status 0 with `_error` (or this dashboard's
    `_failure`) is a failure without a response."""
    entry = _object(entry, "har_entry")
    request = _object(entry.get("request"), "har_entry.request")
    method, url = check_request(
        method=str(request.get("method") or ""),
        url=str(request.get("url") or ""),
        where="har_entry.request",
    )
    headers = _pairs(request.get("headers"), "har_entry.request.headers")
    response = _object(entry.get("response"), "har_entry.response")
    post = request.get("postData")
    body = str(post.get("text") or "") if isinstance(post, Mapping) else ""
    check_text(body, "har_entry.request.postData.text")
    elapsed = _number(entry.get("time"))
    status = response.get("status")
    if isinstance(status, bool) or not isinstance(status, int) or not 0 <= status <= 599:
        raise RecordedInvalid("har_entry.response.status", "A status is a number up to 599.")
    if status < 100:
        return Recorded(
            method=method,
            url=url,
            headers=headers,
            body=body,
            response=None,
            failure=_har_failure(response),
            elapsed_ms=elapsed,
        )
    content = response.get("content")
    text = ""
    if isinstance(content, Mapping):
        text = str(content.get("text") or "")
        if content.get("encoding") == "base64":
            try:
                text = base64.b64decode(text, validate=True).decode("utf-8", errors="replace")
            except (binascii.Error, ValueError):
                raise RecordedInvalid(
                    "har_entry.response.content.text", "The body is not valid base64."
                ) from None
    if len(text) > MAX_BODY_CHARS:
        text = text[:MAX_BODY_CHARS]
    version = HTTP_VERSIONS.get(str(response.get("httpVersion") or "").lower(), "HTTP/1.1")
    reason = check_text(str(response.get("statusText") or ""), "har_entry.response.statusText")
    return Recorded(
        method=method,
        url=url,
        headers=headers,
        body=body,
        response=Response(
            status=status,
            reason=reason[:200],
            headers=_pairs(response.get("headers"), "har_entry.response.headers"),
            body=text.encode(),
            truncated=False,
            http_version=version,
        ),
        failure=None,
        elapsed_ms=elapsed,
    )


def _har_failure(response: Mapping) -> Failure:
    message = str(response.get("_error") or response.get("comment") or "No response")
    check_text(message, "har_entry.response._error")
    ours = response.get("_failure")
    if isinstance(ours, Mapping) and ours.get("kind"):
        return failure_of(
            str(ours["kind"]),
            message=message,
            detail=str(ours.get("detail") or ""),
            where="har_entry.response._failure",
        )
    kind, detail = CHROMIUM_ERRORS.get(message.strip(), (FailureKind.OTHER, ""))
    return Failure(kind=kind, message=message, detail=detail)


def record_exchange(*, team: Team, user: User, recorded: Recorded, profile: str = "") -> Run:
    """Store the recorded exchange as a finished run of the team, diagnosed, marked recorded.

    Its secrets are kept as a submitted run's are: credential headers, secret query and body
    values and the API key (X-Api-Key) encrypted, every stored column redacted, and values
    echoed in the response removed by value.
    """
    headers = [(n, v) for n, v in recorded.headers if n.lower() != secrets.API_KEY_HEADER.lower()]
    api_key = next(
        (v for n, v in recorded.headers if n.lower() == secrets.API_KEY_HEADER.lower()), ""
    )
    stored, run_secrets = services.split_secrets(
        RunRequest(
            method=recorded.method,
            url=recorded.url,
            params=[],
            headers=headers,
            body=recorded.body,
            api_key=api_key,
            timeout=settings.EGRESS_DEFAULT_TIMEOUT,
            profile=profile,
        )
    )
    url = recorded.url
    try:
        profile_slug = get_profile(profile).slug if profile else profile_for_url(url).slug
    except KeyError:
        profile_slug = profile_for_url(url).slug
    now = timezone.now()
    with transaction.atomic():
        run = Run.objects.create(
            team=team,
            created_by=user,
            method=recorded.method,
            url=stored.url,
            host=stored.host[:255],
            query=[list(pair) for pair in stored.params],
            request_headers=[list(pair) for pair in stored.headers],
            request_body=stored.body,
            timeout_seconds=settings.EGRESS_DEFAULT_TIMEOUT,
            profile=profile_slug,
            has_api_key=bool(api_key),
            secrets_encrypted=secrets.encrypt(run_secrets),
            status=Run.Status.RUNNING,
            attempt_count=1,
            recorded=True,
        )
        attempt = Attempt.objects.create(
            run=run,
            number=1,
            reason=Attempt.Reason.FIRST,
            status=Attempt.Status.RUNNING,
            started_at=now,
        )
        execution.store_result(
            attempt=attempt,
            exchange=recorded.exchange(),
            secret_values=run_secrets.values(),
            may_retry=False,
        )
    logger.info("run %s recorded by user %s: %s %s", run.id, user.pk, run.method, run.host)
    return Run.objects.select_related("team", "created_by").get(pk=run.pk)
