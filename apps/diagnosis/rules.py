"""Turn an exchange into a Diagnosis: what the outcome means for this API, and what to do.

Pure: no database, no network, no Django. The steps are
1. read the facts an exchange offers (status, the message in the body, Retry-After, ...);
2. pick the catalog entry that answers for them (the API's own table first, then HTTP's);
3. assemble the Diagnosis, the API's words first.
A later step (ranked causes with evidence) will read the same facts.
"""

import json
import logging
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, ClassVar
from urllib.parse import parse_qsl, urlsplit

from apps.diagnosis.catalog import Catalog, CatalogEntry, Profile, catalog
from apps.egress.redaction import is_secret_header, is_secret_param, redact_text
from apps.egress.types import Exchange, FailureKind, Response

logger = logging.getLogger(__name__)

MAX_MESSAGE_CHARS = 500  # a message longer than this is cut
MAX_PLAIN_TEXT_CHARS = 300  # a plain-text body longer than this is not a message
MAX_PARSED_BYTES = 4 * 1024 * 1024  # larger bodies are not parsed
# RFC 9110 §9.2.2: requests that can be repeated without changing the outcome.
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"})
# Failures after which the request may have reached the server.
_MAY_HAVE_ARRIVED = frozenset(
    {
        FailureKind.READ_TIMEOUT,
        FailureKind.CONNECTION_RESET,
        FailureKind.PROTOCOL,
        FailureKind.OTHER,
    }
)


@dataclass(frozen=True, kw_only=True)
class Diagnosis:
    """What an exchange means and what to do about it. Stored with the run as to_dict()."""

    SCHEMA_VERSION: ClassVar[int] = 1

    code: str  # stable: "kaiko.401", "kaiko.401.entitlement", "http.502", "network.dns"
    severity: str  # "ok" | "info" | "warning" | "error"
    title: str
    profile: str  # the profile's slug
    profile_name: str  # "Kaiko market-data API"
    api_name: str = ""  # how the API is named in "<api_name> says:", e.g. "Kaiko"
    status: int | None = None
    reason: str | None = None  # the registered reason phrase of the status
    failure_kind: str | None = None
    failure_message: str | None = None  # what the client reported, when there is no response
    api_meaning: str | None = None  # the API's own words from its documentation
    api_docs_url: str | None = None  # where those words come from
    api_message: str | None = None  # the message in the response body
    http_meaning: str | None = None  # what HTTP says of the status, with the RFC reference
    http_reference: str | None = None  # e.g. "RFC 9110 §15.5.2"
    http_reference_url: str | None = None
    explanation: str = ""
    playbooks: list[str] = field(default_factory=list)  # playbook slugs, most useful first
    retryable: bool = False  # whether sending the same request again can help
    retry_after_seconds: int | None = None  # from the Retry-After header
    retry_hint: str = ""  # one sentence on retrying, for people

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable dict; Diagnosis.from_dict(d.to_dict()) == d."""
        return {"version": self.SCHEMA_VERSION, **asdict(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "Diagnosis":
        """A Diagnosis from a stored dict, of this version or another: keys it does not know
        are ignored, keys it lacks take their defaults."""
        values: dict[str, Any] = {}
        for f in fields(cls):
            if f.name in data:
                values[f.name] = data[f.name]
            elif f.default is not MISSING:
                values[f.name] = f.default
            elif f.default_factory is not MISSING:
                values[f.name] = f.default_factory()
            else:
                values[f.name] = _REQUIRED_DEFAULTS[f.name]
        values["playbooks"] = [str(slug) for slug in values["playbooks"] or []]
        values["retryable"] = bool(values["retryable"])
        return cls(**values)


_REQUIRED_DEFAULTS = {
    "code": "unknown",
    "severity": "info",
    "title": "",
    "profile": "",
    "profile_name": "",
}


@dataclass(frozen=True)
class Facts:
    """What the rules read from an exchange. Secrets of the request are already removed."""

    method: str
    status: int | None
    reason: str | None  # the response's reason phrase, if it sent one
    failure_kind: str | None
    failure_message: str | None
    api_message: str | None
    retry_after_seconds: int | None


def diagnose(exchange: Exchange, profile: Profile, *, using: Catalog | None = None) -> Diagnosis:
    """The diagnosis of one exchange under one API profile. Never raises."""
    try:
        return _diagnose(exchange, profile, using or catalog())
    except Exception:  # a diagnosis must never break a run: say so, and log it
        logger.exception("diagnosis failed for %s %s", exchange.method, _safe_url(exchange))
        return Diagnosis(
            code="diagnosis.unavailable",
            severity="info",
            title="No diagnosis available",
            profile=profile.slug,
            profile_name=profile.name,
            api_name=profile.short_name,
            status=exchange.response.status if exchange.response else None,
            explanation="The dashboard could not diagnose this outcome; see the exchange itself.",
        )


def _diagnose(exchange: Exchange, profile: Profile, using: Catalog) -> Diagnosis:
    facts = read_facts(exchange, profile)
    if facts.status is None:
        entry = using.failure_entry(facts.failure_kind or FailureKind.OTHER.value)
        http = None
    else:
        entry = using.entry_for_status(profile, facts.status).variant_for(facts.api_message)
        http = using.http_entry(facts.status)
    return Diagnosis(
        code=entry.code,
        severity=entry.severity,
        title=entry.title,
        profile=profile.slug,
        profile_name=profile.name,
        api_name=profile.short_name,
        status=facts.status,
        reason=http.reason if http and http.status is not None else facts.reason,
        failure_kind=facts.failure_kind,
        failure_message=facts.failure_message,
        api_meaning=entry.api_meaning,
        api_docs_url=(profile.errors_url or profile.docs_url) if entry.api_meaning else None,
        api_message=facts.api_message,
        http_meaning=http.http_meaning if http else None,
        http_reference=http.http_reference if http else None,
        http_reference_url=http.http_reference_url if http else None,
        explanation=entry.explanation,
        playbooks=list(entry.playbooks),
        retryable=entry.retryable,
        retry_after_seconds=facts.retry_after_seconds,
        retry_hint=retry_hint(entry, facts),
    )


# --------------------------------------------------------------------------------- facts


def read_facts(exchange: Exchange, profile: Profile) -> Facts:
    secrets = _request_secrets(exchange, profile)
    response = exchange.response
    method = str(exchange.method or "").upper()
    if response is None:
        failure = exchange.failure
        kind = _failure_kind(failure.kind if failure else None)
        message = _clean(failure.message) if failure and isinstance(failure.message, str) else None
        return Facts(
            method=method,
            status=None,
            reason=None,
            failure_kind=kind,
            failure_message=redact_text(message, secrets) if message else None,
            api_message=None,
            retry_after_seconds=None,
        )
    status = int(response.status)
    # A success carries data, not a message; a redirect or an error may explain itself.
    message = extract_message(response) if status >= 300 else None
    return Facts(
        method=method,
        status=status,
        reason=_clean(response.reason) if isinstance(response.reason, str) else None,
        failure_kind=None,
        failure_message=None,
        api_message=redact_text(message, secrets) if message else None,
        retry_after_seconds=retry_after_seconds(response),
    )


def _failure_kind(kind: object) -> str:
    try:
        return FailureKind(kind).value
    except ValueError:
        return FailureKind.OTHER.value


def _request_secrets(exchange: Exchange, profile: Profile) -> list[str]:
    """Credential values the request carried, so that an echo of them can be removed."""
    auth_header = (profile.auth_header or "").lower()
    secrets = [
        str(value)
        for name, value in exchange.request_headers or []
        if value and (is_secret_header(str(name)) or str(name).lower() == auth_header)
    ]
    # "Bearer abc": the token alone may be echoed too.
    secrets += [s.split(None, 1)[1] for s in secrets if len(s.split(None, 1)) == 2]
    try:
        query = urlsplit(str(exchange.url)).query
        secrets += [value for name, value in parse_qsl(query) if value and is_secret_param(name)]
    except ValueError:
        pass
    return secrets


def _safe_url(exchange: Exchange) -> str:
    try:
        parts = urlsplit(str(exchange.url))
        return f"{parts.scheme}://{parts.hostname}{parts.path}"
    except ValueError:
        return "(invalid URL)"


# ------------------------------------------------------------------ the body's message


def extract_message(response: Response) -> str | None:
    """The error message a response body carries, cleaned up for display, or None.

    Reads a JSON body (the Kaiko envelope's `message`, RFC 9457 problem details' `title` and
    `detail`, and the usual `error`/`errors`/`detail` shapes), an HTML page's title, or a
    short plain-text body.
    """
    body = response.body
    if not isinstance(body, bytes | bytearray) or not body.strip():
        return None
    content_type = response.content_type
    is_json = content_type.endswith(("/json", "+json"))
    if is_json or body.lstrip()[:1] in (b"{", b"["):
        parsed = _parse_json(bytes(body))
        if isinstance(parsed, dict):
            found = _message_from_json(parsed, problem=content_type == "application/problem+json")
            return _clean(found) if found else None
        if parsed is not None or is_json:
            return None  # JSON without a message: the body speaks for itself
    try:
        text = bytes(body).decode("utf-8")
    except UnicodeDecodeError:
        return None
    if content_type in ("text/html", "application/xhtml+xml") or text.lstrip()[:1] == "<":
        match = re.search(r"<title[^>]*>(.*?)</title>", text[:20_000], re.IGNORECASE | re.DOTALL)
        return _clean(match.group(1)) if match else None
    if content_type.startswith("text/") or not content_type:
        stripped = text.strip()
        if len(stripped) <= MAX_PLAIN_TEXT_CHARS and _printable(stripped):
            return _clean(stripped)
    return None


def _parse_json(body: bytes) -> object:
    if len(body) > MAX_PARSED_BYTES:
        return None
    try:
        return json.loads(body)
    except (ValueError, RecursionError):  # ValueError covers JSON and Unicode decoding errors
        return None


def _message_from_json(data: dict[str, Any], *, problem: bool) -> str | None:
    # RFC 9457 problem details: "title" is the kind of problem, "detail" this occurrence.
    if problem or (("title" in data or "detail" in data) and ("type" in data or "status" in data)):
        title, detail = _text(data.get("title")), _text(data.get("detail"))
        if title and detail and detail.lower() != title.lower():
            return f"{title.rstrip().rstrip('.')}: {detail}"
        if title or detail:
            return title or detail
    # The Kaiko envelope ({"result": "error", "message": ...}) and most other APIs.
    if message := _text(data.get("message")):
        return message
    error = data.get("error")
    if isinstance(error, dict):
        if message := _text(error.get("message")) or _text(error.get("detail")):
            return message
    elif error_text := _text(error):
        description = _text(data.get("error_description"))  # OAuth 2.0 (RFC 6749 §5.2)
        return f"{error_text}: {description}" if description else error_text
    errors = data.get("errors")
    if isinstance(errors, list) and errors:
        first = errors[0]
        if isinstance(first, dict):
            return _text(first.get("message")) or _text(first.get("detail")) or None
        return _text(first)
    return _text(data.get("detail")) or _text(data.get("error_message")) or None


def _text(value: object) -> str | None:
    if isinstance(value, str) and value.strip():
        return value
    if isinstance(value, list) and value and all(isinstance(v, str) for v in value):
        return "; ".join(v for v in value if v.strip()) or None
    return None


def _printable(text: str) -> bool:
    return all(ch in "\t\n\r" or unicodedata.category(ch)[0] != "C" for ch in text)


def _clean(text: str) -> str | None:
    """One line of readable text: control characters dropped, spaces collapsed, cut short."""
    visible = "".join(ch if unicodedata.category(ch)[0] != "C" else " " for ch in text)
    line = " ".join(visible.split())
    if not line:
        return None
    return line if len(line) <= MAX_MESSAGE_CHARS else line[: MAX_MESSAGE_CHARS - 1] + "…"


# ---------------------------------------------------------------------------- retrying


def retry_after_seconds(response: Response) -> int | None:
    """Seconds to wait according to Retry-After (RFC 9110 §10.2.3): delay-seconds, or an
    HTTP-date measured from the response's Date header (or now). None if absent or invalid."""
    value = (response.header("Retry-After") or "").strip()
    if not value:
        return None
    if re.fullmatch(r"[0-9]{1,10}", value):
        return int(value)
    when = _http_date(value)
    if when is None:
        return None
    now = _http_date(response.header("Date") or "") or datetime.now(UTC)
    return max(0, math.ceil((when - now).total_seconds()))


def _http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def retry_hint(entry: CatalogEntry, facts: Facts) -> str:
    """One sentence on whether and when to retry."""
    if not entry.retryable:
        if entry.severity in ("ok", "info"):
            return ""
        return "Sending the same request again will not help: follow the steps below first."
    if facts.retry_after_seconds is not None:
        wait = format_seconds(facts.retry_after_seconds)
        hint = f"Retrying can help: the server asks to wait {wait} (Retry-After) before retrying."
    else:
        hint = "Retrying can help: wait a little, then retry with exponential backoff and jitter."
    may_have_arrived = facts.status is not None or facts.failure_kind in _MAY_HAVE_ARRIVED
    if facts.method and facts.method not in IDEMPOTENT_METHODS and may_have_arrived:
        hint += (
            f" {facts.method} is not idempotent: make sure the first attempt had no effect"
            " before sending it again."
        )
    return hint


def format_seconds(seconds: int) -> str:
    """A duration for people: "45 s", "2 min 5 s", "3 h 20 min", "2 d 4 h"."""
    seconds = max(0, int(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
