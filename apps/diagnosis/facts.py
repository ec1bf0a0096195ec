"""The facts the rules read from an exchange, gathered once, and the secrets it carried.

An exchange arrives as the egress client produced it, with the real credentials in its
request headers and perhaps in its URL. The facts keep them (the rules must see whether a
key was sent, and where), and list their values in ``secrets`` so that whatever is shown
can be scrubbed of them: evidence shows a secret as "[redacted]", never its value.
"""

import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from apps.diagnosis.bodies import BodyFacts, clean, extract_message, read_body
from apps.diagnosis.profiles import EnvelopeShape, Profile
from apps.diagnosis.waiting import WaitFacts, read_wait
from apps.egress.redaction import (
    SecretValues,
    credential_parts,
    is_secret_header,
    is_secret_param,
    redact_text,
)
from apps.egress.types import Exchange, FailureKind, Response

MAX_EVIDENCE_CHARS = 160
_DETAIL = re.compile(r"[a-z0-9_]{1,40}")


@dataclass(frozen=True)
class Facts:
    """What the rules read from an exchange."""

    method: str
    status: int | None
    reason: str | None  # the response's reason phrase, if it sent one
    failure_kind: str | None
    failure_message: str | None  # redacted
    api_message: str | None  # redacted
    retry_after_seconds: int | None
    failure_detail: str = ""  # a machine-readable sub-reason, or ""
    url: str = ""
    scheme: str = ""
    port: int | None = None  # as written in the URL, else None
    host: str = ""
    path: str = ""
    query: tuple[tuple[str, str], ...] = ()  # as sent: may hold secrets
    request_headers: tuple[tuple[str, str], ...] = ()  # as sent: may hold secrets
    response: Response | None = None
    body: BodyFacts | None = None
    wait: WaitFacts = field(default_factory=WaitFacts)
    elapsed_ms: float = 0.0
    redirects: tuple[tuple[int, str], ...] = ()  # (status, URL) of each hop, if recorded
    cut: str = ""  # why the body was cut, if it was: "body_bytes", "decoded_bytes"
    secrets: tuple[str, ...] = ()
    # The response's headers by lower-case name, the first value of each.
    response_headers: Mapping[str, str] = field(default_factory=dict)

    @functools.cached_property
    def secret_values(self) -> SecretValues:
        """The request's secrets, found by egress' redaction policy in any encoding."""
        return SecretValues(self.secrets)

    def redact(self, text: str) -> str:
        """The text with every form of every secret of the request replaced (the policy of
        apps.egress.redaction, as everywhere else)."""
        return self.secret_values.redact(text)

    def request_header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.request_headers if k.lower() == lowered), None)

    def response_header(self, name: str) -> str | None:
        return self.response_headers.get(name.lower())

    def param(self, name: str) -> str | None:
        return next((v for k, v in self.query if k == name), None)

    def shown(self, value: object, limit: int = MAX_EVIDENCE_CHARS) -> str:
        """A value fit for evidence: one line, short, with every secret removed."""
        return clean(self.redact(str(value)), limit) or ""


def read_facts(
    exchange: Exchange,
    profile: Profile,
    *,
    now: datetime | None = None,
    shapes: tuple[EnvelopeShape, ...] = (),
) -> Facts:
    """The facts of an exchange; shapes: the error envelopes to read bodies with."""
    secrets = tuple(_request_secrets(exchange, profile))
    response = exchange.response
    method = str(exchange.method or "").upper()
    url = str(exchange.url or "")
    host, path, query = _split_url(url)
    scheme, port = _scheme_and_port(url)
    common: dict[str, Any] = {
        "method": method,
        "failure_detail": "",
        "url": url,
        "scheme": scheme,
        "port": port,
        "host": host,
        "path": path,
        "query": query,
        "request_headers": tuple(
            (str(name), str(value)) for name, value in exchange.request_headers or []
        ),
        "elapsed_ms": _number(exchange.elapsed_ms),
        "redirects": _redirects(getattr(exchange, "redirects", None)),
        "secrets": secrets,
    }
    if response is None:
        failure = exchange.failure
        kind = _failure_kind(failure.kind if failure else None)
        message = clean(failure.message) if failure and isinstance(failure.message, str) else None
        detail = str(getattr(failure, "detail", "") or "").strip().lower()
        common["failure_detail"] = detail if _DETAIL.fullmatch(detail) else ""
        return Facts(
            status=None,
            reason=None,
            failure_kind=kind,
            failure_message=redact_text(message, secrets) if message else None,
            api_message=None,
            retry_after_seconds=None,
            **common,
        )
    status = int(response.status)
    body = read_body(response, profile.envelope, profile.short_name, shapes)
    # A success carries data, not a message, unless its body says it failed; a redirect or
    # an error may explain itself.
    message = None
    error = body.error
    if status >= 300 or (error is not None and error.failed) or _says_failure(body, profile):
        field_path = profile.envelope.message
        in_envelope = body.field(field_path) if body.format == "envelope" and field_path else None
        from_problem = extract_message(response) if body.format == "problem" else None
        reported = clean(error.message) if error is not None and error.message else None
        message = in_envelope or from_problem or reported or extract_message(response)
    wait = read_wait(response, now=now)
    cut = str(getattr(response, "cut", "") or "")  # which cap cut the body, if one did
    if response.truncated and not cut:
        cut = "body_bytes"
    return Facts(
        status=status,
        reason=clean(response.reason) if isinstance(response.reason, str) else None,
        failure_kind=None,
        failure_message=None,
        api_message=redact_text(message, secrets) if message else None,
        retry_after_seconds=wait.retry_after_seconds,
        response=response,
        response_headers=_first_values(response.headers),
        body=body,
        wait=wait,
        cut=cut if response.truncated else "",
        **common,
    )


def _first_values(headers: object) -> dict[str, str]:
    found: dict[str, str] = {}
    for pair in headers if isinstance(headers, list | tuple) else []:
        try:
            name, value = pair
        except (TypeError, ValueError):
            continue
        found.setdefault(str(name).lower(), str(value))
    return found


def _says_failure(body: BodyFacts, profile: Profile) -> bool:
    """Whether the profile's own envelope says the request failed (``result: error``)."""
    envelope = profile.envelope
    if body.format != "envelope" or not envelope.result or not envelope.error:
        return False
    value = body.field(envelope.result)
    return value is not None and value.lower() in {v.lower() for v in envelope.error}


def _number(value: object) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return 0.0
    return number if number == number and abs(number) != float("inf") else 0.0


def _split_url(url: str) -> tuple[str, str, tuple[tuple[str, str], ...]]:
    try:
        parts = urlsplit(url.strip())
        host = (parts.hostname or "").rstrip(".").lower()
        query = tuple(parse_qsl(parts.query, keep_blank_values=True))
        return host, parts.path or "/", query
    except ValueError:
        return "", "", ()


def _scheme_and_port(url: str) -> tuple[str, int | None]:
    try:
        parts = urlsplit(url.strip())
        return parts.scheme.lower(), parts.port
    except ValueError:
        return "", None


def _redirects(value: object) -> tuple[tuple[int, str], ...]:
    hops: list[tuple[int, str]] = []
    if not isinstance(value, list | tuple):
        return ()
    for hop in value[:50]:
        try:
            status, location = hop
            hops.append((int(status), str(location)))
        except (TypeError, ValueError):
            continue
    return tuple(hops)


def _failure_kind(kind: object) -> str:
    try:
        return FailureKind(str(kind)).value
    except ValueError:
        return FailureKind.OTHER.value


def _request_secrets(exchange: Exchange, profile: Profile) -> list[str]:
    """Credential values the request carried, so that an echo of them can be removed."""
    auth_header = (profile.auth.header or "").lower()
    wrong_headers = {name.lower() for name in profile.auth.wrong_headers}
    secrets = [
        str(value)
        for name, value in exchange.request_headers or []
        if value
        and (
            is_secret_header(str(name))
            or str(name).lower() == auth_header
            or str(name).lower() in wrong_headers
        )
    ]
    # "Bearer abc", "Basic base64(user:key)", "a=1; session=abc": the parts that may be
    # echoed alone too (the policy's credential_parts).
    secrets = [part for value in secrets for part in credential_parts(value)]
    try:
        parts = urlsplit(str(exchange.url))
        wrong_params = set(profile.auth.wrong_query_params)
        secrets += [
            value
            for name, value in parse_qsl(parts.query)
            if value and (is_secret_param(name) or name.lower() in wrong_params)
        ]
        secrets += [parts.password] if parts.password else []  # https://user:password@host
    except ValueError:
        pass
    return sorted({s for s in secrets if s.strip()}, key=len, reverse=True)
