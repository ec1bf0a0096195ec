"""Assertions: parsed from lines, refused with a reason, evaluated and explained."""

import pytest

from apps.monitors.assertions import (
    AssertionSyntaxError,
    Observation,
    describe,
    evaluate,
    parse,
    parse_lines,
)

OK_JSON = Observation(
    status=200,
    headers=[("Content-Type", "application/json"), ("X-Request-Id", "abc")],
    body='{"result": "success", "data": [{"open": "1.5"}]}',
    total_ms=120.0,
    phases={"dns": 2.0, "connect": 5.0, "wait": 100.0},
    cert_days_left=40,
)


@pytest.mark.parametrize(
    "line",
    [
        "status in 200-299",
        "status in 200,204,304",
        "json $.result == success",
        "json $.data[0].open exists",
        "json $.result contains succ",
        "header Content-Type",
        "header Content-Type ~ ^application/json",
        "time total < 800",
        "time wait < 500",
        "body contains success",
        "body not contains error",
        "cert days > 14",
    ],
)
def test_it_passes_and_round_trips(line: str) -> None:
    assertion = parse(line)
    assert describe(assertion) == line
    assert evaluate([assertion], OK_JSON) == []


@pytest.mark.parametrize(
    ("line", "title_part"),
    [
        ("status in 500-599", "Status 200 is not one of 500-599"),
        ("json $.result == failure", "$.result is 'success'"),
        ("json $.missing exists", "$.missing is not in the body"),
        ("header Retry-After", "no Retry-After header"),
        ("header Content-Type ~ xml", "does not match xml"),
        ("time total < 100", "took 120 ms (limit 100 ms)"),
        ("time wait < 50", "The wait phase took 100 ms"),
        ("body contains failure", "does not contain 'failure'"),
        ("body not contains success", "The body contains 'success'"),
        ("cert days > 60", "expires in 40 days"),
    ],
)
def test_it_explains_a_failure(line: str, title_part: str) -> None:
    (failed,) = evaluate([parse(line)], OK_JSON)
    assert title_part in failed.title
    assert failed.evidence and all(failed.evidence)
    assert failed.advice
    assert failed.assertion == line


def test_it_fails_every_response_assertion_without_a_response() -> None:
    seen = Observation(status=None, failure="Connection refused by 127.0.0.1:9")
    lines = ["status in 200-299", "json $.a exists", "time total < 10"]
    failures = evaluate([parse(line) for line in lines], seen)
    assert len(failures) == 3
    assert failures[0].evidence == ["Connection refused by 127.0.0.1:9"]


def test_a_phase_that_did_not_happen_is_not_slow() -> None:
    assert evaluate([parse("time tls < 10")], OK_JSON) == []


def test_a_body_that_is_not_json_says_so() -> None:
    seen = Observation(status=503, body="<html>Maintenance</html>")
    (failed,) = evaluate([parse("json $.result exists")], seen)
    assert failed.title == "The body is not JSON"
    assert "Maintenance" in failed.evidence[0]


def test_a_body_nested_deeper_than_json_reads_is_not_json() -> None:
    """Was a RecursionError in the worker that evaluates a monitor's check."""
    seen = Observation(status=200, body="[" * 100_000 + "]" * 100_000)
    (failed,) = evaluate([parse("json $.result exists")], seen)
    assert failed.title == "The body is not JSON"


@pytest.mark.parametrize(
    ("text", "message_part"),
    [
        ("status 200", "Line 1"),
        ("status in 700", "between 100 and 599"),
        ("status in 299-200", "low to high"),
        ("json result exists", "json $.path exists"),
        ("json $.a == ", "needs a value"),
        ("header Bad Name", "header Name"),
        ("header X ~ (", "not a regular expression"),
        ("time total < fast", "time total < 800"),
        ("time lunch < 10", "the phase is one of"),
        ("body has x", "body contains text"),
        ("cert days < 3", "cert days > 14"),
        ("status in 200\nfrobnicate", "Line 2"),
        ("\n".join(["status in 200"] * 21), "At most 20"),
    ],
)
def test_it_refuses_what_is_not_an_assertion(text: str, message_part: str) -> None:
    with pytest.raises(AssertionSyntaxError) as caught:
        parse_lines(text)
    assert message_part in str(caught.value)


def test_blank_lines_are_skipped() -> None:
    assert [a["kind"] for a in parse_lines("\n status in 200 \n\nbody contains x\n")] == [
        "status",
        "body",
    ]
