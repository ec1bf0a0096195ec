"""Differences between two attempts' outcomes: pure, for the compare page."""

import difflib
from dataclasses import dataclass

from apps.runs.models import Attempt
from apps.runs.presentation import body_view, content_type_of

MAX_DIFF_LINES = 400


@dataclass(frozen=True)
class HeaderDifference:
    name: str
    left: str | None  # None: absent on that side
    right: str | None


@dataclass(frozen=True)
class Comparison:
    left: Attempt
    right: Attempt
    same_status: bool
    headers: list[HeaderDifference]  # only the headers that differ
    body_diff: str  # unified diff of the (pretty-printed) bodies; "" when equal
    body_diff_cut: bool


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
    )
