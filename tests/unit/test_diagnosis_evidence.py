"""Evidence lines (apps.diagnosis.evidence): the facts of an exchange as people read them,
never holding a secret."""

import json

import pytest

from apps.diagnosis import evidence
from apps.diagnosis.facts import Facts, read_facts
from apps.diagnosis.lookups import get_profile
from apps.diagnosis.results import Evidence
from apps.egress.redaction import REDACTED
from apps.egress.types import Exchange, Response

KEY = "kaiko-evidence-key-0123456789"


def facts_of(
    body: object,
    *,
    status: int = 400,
    reason: str = "Bad Request",
    content_type: str = "application/json",
    headers: list[tuple[str, str]] | None = None,
    profile: str = "kaiko",
) -> Facts:
    raw = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    sent = Exchange(
        method="GET",
        url="https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades",
        request_headers=[("X-Api-Key", KEY)],
        response=Response(
            status=status,
            reason=reason,
            headers=[("Content-Type", content_type), *(headers or [])],
            body=raw,
            truncated=False,
        ),
        failure=None,
        elapsed_ms=5.0,
    )
    return read_facts(sent, get_profile(profile))


def test_the_status_line_has_the_reason_when_there_is_one() -> None:
    assert evidence.status_line(facts_of({}, status=429, reason="Too Many"), "n") == Evidence(
        source="status", name="status", value="429 Too Many", note="n"
    )
    assert evidence.status_line(facts_of({}, status=418, reason=""), "n").value == "418"


def test_the_envelopes_message_is_shown_without_its_result_field() -> None:
    facts = facts_of({"result": "error", "message": "Invalid interval: 2d"})
    lines = evidence.message_lines(facts, get_profile("kaiko"))
    assert lines == [
        Evidence(
            source="body",
            name="message",
            value="Invalid interval: 2d",
            note="Kaiko's own words about this request.",
        )
    ]


def test_a_given_note_replaces_the_formats_own() -> None:
    facts = facts_of({"result": "error", "message": "m"})
    assert evidence.message_lines(facts, get_profile("kaiko"), "mine")[0].note == "mine"


def test_problem_details_are_noted_field_by_field_without_the_status() -> None:
    facts = facts_of(
        {"type": "about:blank", "title": "Bad", "status": 400, "detail": "d"},
        content_type="application/problem+json",
        profile="http",
    )
    lines = evidence.message_lines(facts, get_profile("http"))
    assert [line.name for line in lines][:3] == ["type", "title", "detail"]
    assert lines[1].note == evidence.PROBLEM_NOTES["title"]


def test_an_html_page_is_noted_as_not_the_apis_answer_whatever_the_note() -> None:
    facts = facts_of("<html><title>502 Bad Gateway</title></html>", content_type="text/html")
    (line,) = evidence.message_lines(facts, get_profile("kaiko"), "ignored")
    assert (line.name, line.value) == ("<title>", "502 Bad Gateway")
    assert line.note.startswith("An HTML page answered, not the API's JSON")


def test_an_echoed_key_is_redacted_in_the_message() -> None:
    facts = facts_of({"result": "error", "message": f"bad key {KEY}"})
    (line,) = evidence.message_lines(facts, get_profile("kaiko"))
    assert KEY not in line.value and REDACTED in line.value


def test_a_body_without_telling_fields_gives_no_lines() -> None:
    assert evidence.message_lines(facts_of({"data": []}), get_profile("kaiko")) == []


def test_a_header_line_is_given_only_for_a_present_non_secret_header() -> None:
    facts = facts_of({}, headers=[("Retry-After", "30"), ("Set-Cookie", "s=secret")])
    assert evidence.header_line(facts, "retry-after", "wait") == [
        Evidence(source="header", name="retry-after", value="30", note="wait")
    ]
    assert evidence.header_line(facts, "Set-Cookie", "n") == []
    assert evidence.header_line(facts, "X-Missing", "n") == []


@pytest.mark.parametrize(
    ("text", "phrases", "expected"),
    [
        ("Rate LIMIT reached", ["rate limit"], True),
        ("fine", ["rate limit", "quota"], False),
        (None, ["x"], False),
        ("", [""], False),
    ],
)
def test_contains_ignores_case(text: str | None, phrases: list[str], expected: bool) -> None:
    assert evidence.contains(text, phrases) is expected


def test_a_secret_is_described_by_its_length_only() -> None:
    assert evidence.describe_secret(KEY) == f"{REDACTED}, {len(KEY)} characters"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("Bearer abc.def", f"Bearer {REDACTED}"),
        ("Basic YWxpY2U6cHc=", f"Basic {REDACTED}"),
        ("just-a-token", REDACTED),
        ("Not-Alpha x", REDACTED),
        ("Averyveryverylongscheme x", REDACTED),
    ],
)
def test_only_the_scheme_of_a_credential_is_kept(value: str, shown: str) -> None:
    assert evidence.scheme_only(value) == shown
