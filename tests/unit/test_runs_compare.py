"""Differences between two attempts' outcomes and their runs' requests (apps.runs.compare),
on model instances that are never saved."""

from typing import Any

from apps.runs.compare import MAX_DIFF_LINES, compare_attempts, request_differences
from apps.runs.models import Attempt, Run


def run(**fields: Any) -> Run:
    values: dict[str, Any] = {
        "method": "GET",
        "url": "https://api.example.com/v1/x",
        "query": [],
        "request_headers": [],
        "request_body": "",
        "has_api_key": False,
        "timeout_seconds": 10,
        "profile": "http",
    }
    values.update(fields)
    return Run(**values)


def attempt(of: Run | None = None, **fields: Any) -> Attempt:
    values: dict[str, Any] = {"response_status": 200, "response_headers": [], "response_body": ""}
    values.update(fields)
    return Attempt(run=of or run(), number=1, **values)


def test_the_same_request_has_no_differences() -> None:
    assert request_differences(run(), run()) == []


def test_it_lists_what_differs_in_the_requests() -> None:
    left = run(
        query=[["interval", "1h"], ["page", "1"]],
        request_headers=[["Accept", "application/json"], ["X-Trace", "a"], ["x-trace", "b"]],
        request_body="{}",
    )
    right = run(
        method="POST",
        query=[["interval", "1d"], ["page", "1"]],
        request_headers=[["accept", "application/json"], ["X-TRACE", "a, b"], ["New", "n"]],
        has_api_key=True,
    )
    found = [(d.what, d.left, d.right) for d in request_differences(left, right)]
    assert found == [
        ("Method", "GET", "POST"),
        ("Query parameter interval", "1h", "1d"),
        ("Header new", None, "n"),
        ("API key (X-Api-Key)", None, "sent"),
        ("Body", "{}", None),
    ]


def test_query_parameters_are_compared_by_their_exact_name() -> None:
    found = request_differences(run(query=[["Page", "1"]]), run(query=[["page", "1"]]))
    assert [(d.what, d.left, d.right) for d in found] == [
        ("Query parameter Page", "1", None),
        ("Query parameter page", None, "1"),
    ]


def test_a_failed_attempt_then_a_good_one_is_a_fix() -> None:
    failed = attempt(response_status=401)
    good = attempt(response_status=200)
    assert compare_attempts(failed, good).fixed
    assert not compare_attempts(good, failed).fixed
    assert not compare_attempts(good, good).fixed
    lost = attempt(response_status=None, failure_kind="dns")
    assert compare_attempts(lost, good).fixed
    assert not compare_attempts(lost, good).same_status
    assert compare_attempts(failed, attempt(response_status=401)).same_status


def test_it_lists_the_headers_that_differ_but_not_the_noise() -> None:
    left = attempt(response_headers=[["Date", "Mon"], ["RateLimit", "r=1"], ["Vary", "a"]])
    right = attempt(response_headers=[["date", "Tue"], ["ratelimit", "r=0"], ["vary", "a"]])
    found = compare_attempts(left, right).headers
    assert [(h.name, h.left, h.right) for h in found] == [("ratelimit", "r=1", "r=0")]


def test_it_diffs_the_bodies_as_shown() -> None:
    left = attempt(
        response_headers=[["Content-Type", "application/json"]],
        response_body='{"result":"error","message":"No API key"}',
    )
    right = attempt(
        response_headers=[["Content-Type", "application/json"]],
        response_body='{"result":"success","message":"No API key"}',
    )
    comparison = compare_attempts(left, right)
    kinds = [(line.kind, line.text) for line in comparison.body_diff_lines]
    assert kinds[:2] == [("file", "--- earlier run"), ("file", "+++ this run")]
    assert ("del", '-  "result": "error",') in kinds
    assert ("add", '+  "result": "success",') in kinds
    assert any(kind == "hunk" for kind, _ in kinds)
    assert ("same", '   "message": "No API key"') in kinds
    assert not comparison.body_diff_cut
    assert compare_attempts(left, left).body_diff == ""


def test_a_long_diff_is_cut() -> None:
    left = attempt(response_body="\n".join(f"a{n}" for n in range(MAX_DIFF_LINES)))
    right = attempt(response_body="\n".join(f"b{n}" for n in range(MAX_DIFF_LINES)))
    comparison = compare_attempts(left, right)
    assert comparison.body_diff_cut
    assert len(comparison.body_diff.splitlines()) == MAX_DIFF_LINES
