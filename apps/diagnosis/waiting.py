"""How long to wait before retrying, and the quota a response announces.

Read from the headers HTTP and its drafts define:
- ``Retry-After`` (RFC 9110 §10.2.3): delay-seconds or an HTTP-date;
- ``RateLimit`` / ``RateLimit-Policy`` (IETF draft "RateLimit header fields", structured
  fields): ``"default";r=0;t=30`` and ``"default";q=100;w=10``; the older drafts'
  dictionary form ``limit=100, remaining=0, reset=30`` too;
- ``RateLimit-Limit/-Remaining/-Reset`` and ``X-RateLimit-*`` (reset in seconds, or an
  epoch time in seconds or milliseconds).
Malformed values are reported and ignored, never raised.
"""

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any, Protocol

from apps.egress.types import Response

_INTEGER = re.compile(r"[0-9]{1,15}")
_EPOCH_SECONDS = 1_000_000_000  # from 2001-09-09: a reset this large is a moment, not a delay
_EPOCH_MILLISECONDS = 100_000_000_000
_LONGEST_WAIT = 366 * 86_400  # a computed wait beyond a year is garbage, not advice


@dataclass(frozen=True)
class HeaderLine:
    """A header read for the wait or the quota: its value and what was made of it."""

    name: str
    value: str
    note: str


@dataclass(frozen=True)
class WaitFacts:
    retry_after_seconds: int | None = None  # Retry-After alone
    wait_seconds: int | None = None
    wait_source: str | None = None
    quota: dict[str, Any] = field(default_factory=dict)
    lines: tuple[HeaderLine, ...] = ()


def http_date(value: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(value.strip())
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


class HasHeaders(Protocol):
    def header(self, name: str) -> str | None: ...


class _Headers:
    """A response's headers, looked up by lower-case name (the first value of each)."""

    def __init__(self, response: HasHeaders) -> None:
        self.found: dict[str, str] = {}
        for pair in getattr(response, "headers", None) or []:
            try:
                name, value = pair
            except (TypeError, ValueError):
                continue
            self.found.setdefault(str(name).lower(), str(value))

    def header(self, name: str) -> str | None:
        return self.found.get(name.lower())


def _now(response: HasHeaders, now: datetime | None) -> datetime:
    """The server's "now" (its Date header), else the caller's, else the clock's."""
    found = http_date(response.header("Date") or "")
    if found is not None:
        return found
    if now is not None:
        return now if now.tzinfo else now.replace(tzinfo=UTC)
    return datetime.now(UTC)


def retry_after_seconds(response: HasHeaders, now: datetime | None = None) -> int | None:
    """Seconds to wait according to Retry-After (RFC 9110 §10.2.3): delay-seconds, or an
    HTTP-date measured from the response's Date header (or now). None if absent or invalid."""
    value = (response.header("Retry-After") or "").strip()
    if not value:
        return None
    if re.fullmatch(r"[0-9]{1,10}", value):
        return int(value)
    when = http_date(value)
    if when is None:
        return None
    try:
        return max(0, math.ceil((when - _now(response, now)).total_seconds()))
    except OverflowError:
        return None


# ---------------------------------------------------------------- structured fields


def _split(value: str, separator: str) -> list[str]:
    """Split at the separator outside double quotes."""
    parts, current, quoted, escaped = [], [], False, False
    for ch in value:
        if escaped:
            current.append(ch)
            escaped = False
        elif ch == "\\" and quoted:
            current.append(ch)
            escaped = True
        elif ch == '"':
            current.append(ch)
            quoted = not quoted
        elif ch == separator and not quoted:
            parts.append("".join(current))
            current = []
        else:
            current.append(ch)
    parts.append("".join(current))
    return parts


def _unquote(text: str) -> str:
    text = text.strip()
    if len(text) >= 2 and text[0] == text[-1] == '"':
        return text[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return text


def sf_members(value: str) -> list[tuple[str, dict[str, str]]]:
    """A structured-field list (RFC 9651), tolerantly: [(item, {param: value})].

    ``"default";r=0;t=30, "daily";r=5;t=3600`` → [("default", {"r": "0", "t": "30"}), ...].
    A member written ``key=value`` (the older drafts' dictionary) is ("", {key: value}).
    """
    members: list[tuple[str, dict[str, str]]] = []
    for member in _split(value[:2000], ","):
        pieces = _split(member, ";")
        head = pieces[0].strip()
        params: dict[str, str] = {}
        if "=" in head and not head.startswith('"'):
            key, _, raw = head.partition("=")
            params[key.strip().lower()] = _unquote(raw)
            head = ""
        for piece in pieces[1:]:
            key, _, raw = piece.partition("=")
            if key.strip():
                params[key.strip().lower()] = _unquote(raw) if raw else "1"
        if head or params:
            members.append((_unquote(head), params))
    return members


def _integer(text: str | None) -> int | None:
    if text is None:
        return None
    text = text.strip()
    return int(text) if _INTEGER.fullmatch(text) else None


def _first_integer(value: str) -> tuple[int | None, int | None]:
    """``100`` or ``100, 100;w=60`` → (100, 60); (None, None) when unreadable."""
    members = sf_members(value)
    if not members:
        return None, None
    window = next(
        (w for _, params in members if (w := _integer(params.get("w"))) is not None), None
    )
    return _integer(members[0][0]), window


def _reset_seconds(value: int, now: datetime) -> int | None:
    """A reset time: delta seconds, or an epoch moment in seconds or milliseconds."""
    if value >= _EPOCH_MILLISECONDS:
        seconds = value / 1000 - now.timestamp()
    elif value >= _EPOCH_SECONDS:
        seconds = value - now.timestamp()
    else:
        seconds = value
    if seconds > _LONGEST_WAIT:
        return None
    return max(0, math.ceil(seconds))


# --------------------------------------------------------------------------- reading


def read_wait(response: Response, *, now: datetime | None = None) -> WaitFacts:
    """The wait and the quota the response announces, and the header lines they come from."""
    headers = _Headers(response)  # one pass over the headers, then lookups by name
    lines: list[HeaderLine] = []
    server_now = _now(headers, now)

    raw_retry_after = (headers.header("Retry-After") or "").strip()
    retry_after = retry_after_seconds(headers, now)
    if raw_retry_after:
        if retry_after is None:
            note = "Not delay-seconds nor an HTTP-date (RFC 9110 §10.2.3): ignored."
        elif re.fullmatch(r"[0-9]+", raw_retry_after):
            note = f"The server asks to wait {retry_after} s before retrying."
        else:
            note = f"An HTTP-date: {retry_after} s after the response's Date."
        lines.append(HeaderLine("Retry-After", raw_retry_after, note))

    quota: dict[str, Any] = {}
    reset_candidates: list[tuple[int, str]] = []

    ratelimit = headers.header("RateLimit")
    chosen_policy: str | None = None
    if ratelimit is not None:
        members = sf_members(ratelimit)
        if members and all(not name for name, _ in members):
            # The older drafts' dictionary: limit=100, remaining=0, reset=30.
            merged: dict[str, str] = {}
            for _, params in members:
                merged.update(params)
            members = [("", merged)]
        readable = [
            (name, params)
            for name, params in members
            if _integer(params.get("r")) is not None
            or _integer(params.get("remaining")) is not None
        ]
        if readable:
            name, params = min(
                readable,
                key=lambda m: _integer(m[1].get("r", m[1].get("remaining"))) or 0,
            )
            remaining = _integer(params.get("r", params.get("remaining")))
            reset = _integer(params.get("t", params.get("reset")))
            limit = _integer(params.get("limit"))
            chosen_policy = name or None
            quota.update(remaining=remaining, policy=chosen_policy)
            if limit is not None:
                quota["limit"] = limit
            if reset is not None:
                seconds = _reset_seconds(reset, server_now)
                if seconds is not None:
                    quota["reset_seconds"] = seconds
                    reset_candidates.append((seconds, "RateLimit"))
            note = f"{remaining} request(s) left in the window"
            note += f", which resets in {reset} s." if reset is not None else "."
            lines.append(HeaderLine("RateLimit", ratelimit, note))
        else:
            lines.append(
                HeaderLine("RateLimit", ratelimit, "Not in the draft's form (r=, t=): ignored.")
            )

    policy_header = headers.header("RateLimit-Policy")
    if policy_header is not None:
        members = [m for m in sf_members(policy_header) if _integer(m[1].get("q")) is not None]
        if members:
            name, params = next((m for m in members if m[0] == chosen_policy), members[0])
            limit, window = _integer(params.get("q")), _integer(params.get("w"))
            quota.update(limit=limit, policy=name or chosen_policy)
            if window is not None:
                quota["window_seconds"] = window
            note = f"A quota of {limit} request(s)"
            note += f" per {window} s." if window is not None else "."
            lines.append(HeaderLine("RateLimit-Policy", policy_header, note))
        else:
            lines.append(
                HeaderLine("RateLimit-Policy", policy_header, "Not in the draft's form (q=, w=).")
            )

    for prefix in ("RateLimit", "X-RateLimit", "X-Rate-Limit"):
        _read_classic(headers, prefix, quota, lines, reset_candidates, server_now)

    if quota:
        quota = {
            "limit": quota.get("limit"),
            "remaining": quota.get("remaining"),
            "window_seconds": quota.get("window_seconds"),
            "policy": quota.get("policy"),
            "reset_seconds": quota.get("reset_seconds"),
        }

    wait: int | None = None
    source: str | None = None
    if retry_after is not None:
        wait, source = retry_after, "Retry-After"
    elif reset_candidates and (quota.get("remaining") in (0, None)):
        wait, source = reset_candidates[0]
    return WaitFacts(
        retry_after_seconds=retry_after,
        wait_seconds=wait,
        wait_source=source,
        quota=quota,
        lines=tuple(lines),
    )


def _read_classic(
    response: HasHeaders,
    prefix: str,
    quota: dict[str, Any],
    lines: list[HeaderLine],
    reset_candidates: list[tuple[int, str]],
    now: datetime,
) -> None:
    """``<prefix>-Limit``, ``-Remaining`` and ``-Reset``; the draft's headers win."""
    limit_header = response.header(f"{prefix}-Limit")
    if limit_header is not None:
        limit, window = _first_integer(limit_header)
        if limit is not None:
            quota.setdefault("limit", limit)
            if window is not None:
                quota.setdefault("window_seconds", window)
            lines.append(HeaderLine(f"{prefix}-Limit", limit_header, f"A quota of {limit}."))
    remaining_header = response.header(f"{prefix}-Remaining")
    if remaining_header is not None:
        remaining, _ = _first_integer(remaining_header)
        if remaining is not None:
            quota.setdefault("remaining", remaining)
            lines.append(HeaderLine(f"{prefix}-Remaining", remaining_header, f"{remaining} left."))
    reset_header = response.header(f"{prefix}-Reset")
    if reset_header is not None:
        value, _ = _first_integer(reset_header)
        seconds = _reset_seconds(value, now) if value is not None else None
        if seconds is None:
            lines.append(HeaderLine(f"{prefix}-Reset", reset_header, "Unreadable: ignored."))
            return
        quota.setdefault("reset_seconds", seconds)
        reset_candidates.append((seconds, f"{prefix}-Reset"))
        kind = "an epoch time" if value is not None and value >= _EPOCH_SECONDS else "seconds"
        lines.append(
            HeaderLine(
                f"{prefix}-Reset", reset_header, f"The quota resets in {seconds} s ({kind})."
            )
        )
