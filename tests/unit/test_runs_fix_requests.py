"""A Fix applied to a request, the request diff and "proven" (apps.runs.fix_requests)."""

import pytest

from apps.diagnosis.results import Fix
from apps.runs.fix_requests import (
    DiffLine,
    FixNotApplicable,
    StoredShape,
    apply_fix,
    fix_outcome,
    request_diff,
)
from apps.runs.forms import RunRequest


def request(**fields: object) -> RunRequest:
    values: dict[str, object] = {
        "method": "GET",
        "url": "https://api.example/v2/trades",
        "params": [],
        "headers": [],
        "body": "",
        "api_key": "",
        "timeout": 5.0,
        "profile": "",
    }
    return RunRequest(**{**values, **fields})  # type: ignore[arg-type]


def test_it_moves_the_key_from_the_query_string_to_its_header() -> None:
    fix = Fix(kind="move_key_to_header", summary="", changes={"from_param": "api_key",
              "to_header": "X-Api-Key"})  # fmt: skip
    before = request(url="https://api.example/v2/trades?api_key=k-1&page_size=10")
    after = apply_fix(before, fix)
    assert after.url == "https://api.example/v2/trades"
    assert after.params == [("page_size", "10")]
    assert after.headers == [("X-Api-Key", "k-1")]


def test_it_moves_the_key_out_of_authorization_without_its_scheme() -> None:
    fix = Fix(kind="move_key_to_header", summary="", changes={"from_header": "Authorization",
              "to_header": "X-Api-Key", "strip_scheme": "true"})  # fmt: skip
    after = apply_fix(request(headers=[("Authorization", "Bearer k-1"), ("A", "b")]), fix)
    assert after.headers == [("A", "b"), ("X-Api-Key", "k-1")]


def test_it_refuses_to_move_a_key_the_request_no_longer_has() -> None:
    fix = Fix(kind="move_key_to_header", summary="", changes={"from_param": "api_key",
              "to_header": "X-Api-Key"})  # fmt: skip
    with pytest.raises(FixNotApplicable):
        apply_fix(request(), fix)


@pytest.mark.parametrize(
    ("fix", "field", "expected"),
    [
        (Fix(kind="set_header", summary="",
             changes={"header": "Accept", "value": "application/json"}),
         "headers", [("accept", "application/json"), ("X", "1")]),
        (Fix(kind="use_method", summary="", changes={"method": "GET"}), "method", "GET"),
        (Fix(kind="set_param", summary="", changes={"param": "interval", "value": "1d"}),
         "params", [("interval", "1d"), ("b", "2")]),
        (Fix(kind="remove_param", summary="", changes={"param": "interval"}),
         "params", [("b", "2")]),
        (Fix(kind="clip_time_range", summary="", changes={
            "start_param": "start_time", "start": "2024-01-01T00:00:00Z"}),
         "params", [("interval", "1D"), ("b", "2"), ("start_time", "2024-01-01T00:00:00Z")]),
        (Fix(kind="use_url", summary="", changes={"url": "https://api.example/v3/trades"}),
         "url", "https://api.example/v3/trades"),
    ],
)  # fmt: skip
def test_it_makes_exactly_the_change_of_each_kind(fix: Fix, field: str, expected: object) -> None:
    before = request(method="POST", headers=[("accept", "text/html"), ("X", "1")],
                     params=[("interval", "1D"), ("b", "2")])  # fmt: skip
    after = apply_fix(before, fix)
    assert getattr(after, field) == expected
    unchanged = {"method", "url", "params", "headers"} - {field}
    for name in unchanged:
        assert getattr(after, name) == getattr(before, name), name


def test_it_refuses_a_url_that_would_need_a_redacted_secret() -> None:
    fix = Fix(kind="use_url", summary="", changes={"url": "https://api.example/[redacted]/x"})
    with pytest.raises(FixNotApplicable):
        apply_fix(request(), fix)


def test_it_shows_the_change_as_a_request_diff() -> None:
    before: StoredShape = ("GET", "https://a/x", [["api_key", "[redacted]"], ["n", "1"]], [])
    after: StoredShape = ("GET", "https://a/x", [["n", "1"]], [["X-Api-Key", "[redacted]"]])
    assert request_diff(before=before, after=after) == [
        DiffLine("-", "param", "api_key=[redacted]"),
        DiffLine("+", "header", "X-Api-Key: [redacted]"),
    ]


MOVE = Fix(kind="move_key_to_header", summary="", changes={"to_header": "X-Api-Key"})


@pytest.mark.parametrize(
    ("after", "state", "text"),
    [
        (None, "pending", "not proven yet"),
        ((200, "", "ok"), "proven", "proven: 200 after moving the key to `X-Api-Key`"),
        ((401, "", "error"), "not_proven", "not proven: still 401"),
        ((403, "", "error"), "not_proven", "not proven: 403 now"),
        ((200, "", "error"), "not_proven", "not proven: 200 now"),
        ((200, "", "warning"), "proven", "proven: 200 after moving the key to `X-Api-Key` (other"),
        ((None, "dns", "error"), "not_proven", "not proven: no response (dns) now"),
    ],
)
def test_it_says_whether_the_follow_up_proved_the_fix(
    after: tuple[int | None, str, str] | None, state: str, text: str
) -> None:
    outcome = fix_outcome(
        fix=MOVE, cause="x.401.key_in_query", before_status=401, before_failure="", after=after
    )
    assert outcome.state == state
    assert outcome.text.startswith(text)


def test_a_2xx_that_still_has_the_fixed_cause_does_not_prove_it() -> None:
    outcome = fix_outcome(
        fix=MOVE,
        cause="x.401.key_in_query",
        before_status=401,
        before_failure="",
        after=(200, "", "warning"),
        after_causes=["x.401.key_in_query"],
    )
    assert outcome.state == "not_proven"
