"""Differences between two attempts' outcomes: pure, for the compare page."""

import difflib
from dataclasses import dataclass

from apps.runs.models import Attempt, Run
from apps.runs.presentation import body_view, content_type_of

MAX_DIFF_LINES = 400


@dataclass(frozen=True)
class HeaderDifference:
    name: str
    left: str | None  # None: absent on that side
    right: str | None


@dataclass(frozen=True)
class RequestDifference:
    what: str  # "Method", "URL", "Query parameter api_key", "Header Accept", "API key", "Body"
    left: str | None  # None: absent on that side
    right: str | None


@dataclass(frozen=True)
class DiffLine:
    kind: str  # "add" | "del" | "hunk" | "file" | "same"
    text: str


@dataclass(frozen=True)
class Comparison:
    left: Attempt
    right: Attempt
    same_status: bool
    headers: list[HeaderDifference]  # only the headers that differ
    body_diff: str  # unified diff of the (pretty-printed) bodies; "" when equal
    body_diff_cut: bool
    request: list[RequestDifference]  # how the two requests differ (stored, redacted values)
    fixed: bool  # the earlier run failed and this one did not: its request changes are the fix

    @property
    def body_diff_lines(self) -> list[DiffLine]:
        return [DiffLine(_line_kind(line), line) for line in self.body_diff.splitlines()]


def _line_kind(line: str) -> str:
    if line.startswith(("+++", "---")):
        return "file"
    if line.startswith("@@"):
        return "hunk"
    return {"+": "add", "-": "del"}.get(line[:1], "same")


def _pairs(pairs: list[list[str]], *, fold_case: bool) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in pairs:
        key = name.lower() if fold_case else name
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def request_differences(left: Run, right: Run) -> list[RequestDifference]:
    """What differs between two runs' requests, as stored (secrets already redacted)."""
    found: list[RequestDifference] = []
    for what, a, b in (
        ("Method", left.method, right.method),
        ("URL", left.url, right.url),
    ):
        if a != b:
            found.append(RequestDifference(what, a, b))
    for label, a_pairs, b_pairs, fold in (
        ("Query parameter", left.query, right.query, False),
        ("Header", left.request_headers, right.request_headers, True),
    ):
        a_map, b_map = _pairs(a_pairs, fold_case=fold), _pairs(b_pairs, fold_case=fold)
        for name in sorted(set(a_map) | set(b_map)):
            if a_map.get(name) != b_map.get(name):
                found.append(RequestDifference(f"{label} {name}", a_map.get(name), b_map.get(name)))
    if left.has_api_key != right.has_api_key:
        found.append(
            RequestDifference(
                "API key (X-Api-Key)",
                "sent" if left.has_api_key else None,
                "sent" if right.has_api_key else None,
            )
        )
    if left.request_body != right.request_body:
        found.append(
            RequestDifference("Body", left.request_body or None, right.request_body or None)
        )
    return found


def _failed(attempt: Attempt) -> bool:
    return attempt.response_status is None or attempt.response_status >= 400


# Headers that differ on every response and say nothing about the difference.
_NOISE = frozenset({"date", "age", "expires", "x-request-id", "x-amzn-requestid", "cf-ray"})


def _headers(attempt: Attempt) -> dict[str, str]:
    merged: dict[str, str] = {}
    for name, value in attempt.response_headers:
        key = name.lower()
        merged[key] = f"{merged[key]}, {value}" if key in merged else value
    return merged


def compare_attempts(left: Attempt, right: Attempt) -> Comparison:
    left_headers, right_headers = _headers(left), _headers(right)
    differences = [
        HeaderDifference(name, left_headers.get(name), right_headers.get(name))
        for name in sorted(set(left_headers) | set(right_headers))
        if name not in _NOISE and left_headers.get(name) != right_headers.get(name)
    ]
    left_body = body_view(left.response_body, content_type_of(left.response_headers))
    right_body = body_view(right.response_body, content_type_of(right.response_headers))
    lines = list(
        difflib.unified_diff(
            (left_body.head + left_body.rest).splitlines(),
            (right_body.head + right_body.rest).splitlines(),
            fromfile="earlier run",
            tofile="this run",
            lineterm="",
        )
    )
    return Comparison(
        left=left,
        right=right,
        same_status=(left.response_status, left.failure_kind)
        == (right.response_status, right.failure_kind),
        headers=differences,
        body_diff="\n".join(lines[:MAX_DIFF_LINES]),
        body_diff_cut=len(lines) > MAX_DIFF_LINES,
        request=request_differences(left.run, right.run),
        fixed=_failed(left) and not _failed(right),
    )
