"""Reading a response body (apps.diagnosis.bodies): its message, its format and telling
fields, and the one line of clean text a message becomes."""

import json
from typing import Any

import pytest

from apps.diagnosis.bodies import MAX_MESSAGE_CHARS, clean, extract_message, get_path, read_body
from apps.diagnosis.profiles import Envelope
from apps.egress.types import Response

KAIKO_ENVELOPE = Envelope(
    result="result", success=("success",), error=("error",), message="message"
)


def response_of(
    status: int, body: bytes | str | dict[str, Any] | list[Any], content_type: str | None
) -> Response:
    if isinstance(body, dict | list):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    headers = [("Content-Type", content_type)] if content_type else []
    return Response(status=status, reason="", headers=headers, body=body, truncated=False)


# --- the message ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (
            {"result": "error", "message": "Invalid interval: 2d"},
            "application/json",
            "Invalid interval: 2d",
        ),
        (
            {
                "type": "https://example.com/probs/out-of-credit",
                "title": "You do not have enough credit.",
                "status": 403,
                "detail": "Your current balance is 30, but that costs 50.",
            },
            "application/problem+json",
            "You do not have enough credit: Your current balance is 30, but that costs 50.",
        ),
        ({"title": "Not Found", "status": 404}, "application/problem+json", "Not Found"),
        ({"detail": "Only the detail."}, "application/problem+json", "Only the detail."),
        ({"type": "about:blank", "title": "Bad", "detail": "bad"}, "application/json", "Bad"),
        (
            {"error": "invalid_token", "error_description": "The token expired"},
            "application/json",
            "invalid_token: The token expired",
        ),
        (
            {"error": {"code": 42, "message": "Nested message"}},
            "application/json",
            "Nested message",
        ),
        (
            {"errors": [{"message": "First error"}, {"message": "Second"}]},
            "application/json",
            "First error",
        ),
        (
            {"detail": "Authentication credentials were not provided."},
            None,
            "Authentication credentials were not provided.",
        ),
        ({"message": ["one", "two"]}, "application/json", "one; two"),
        ({"result": "error", "data": []}, "application/json", None),
        ({"message": 42}, "application/json", None),
        ([1, 2, 3], "application/json", None),
        ("Rate limit exceeded, slow down\n", "text/plain", "Rate limit exceeded, slow down"),
        ("Service down for maintenance", None, "Service down for maintenance"),
        ("x" * 400, "text/plain", None),
        (
            "<html><head><title> 503  Service\nTemporarily Unavailable </title></head></html>",
            "text/html",
            "503 Service Temporarily Unavailable",
        ),
        ("<html><body>no title</body></html>", "text/html", None),
        ("{not json", "application/json", None),
        ("{not json", "text/plain", "{not json"),
        (b"\xff\xfe\x00garbage", "text/plain", None),
        (b"\xff\xfe\x00garbage", "application/json", None),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "image/png", None),
        ("", "application/json", None),
        ("   \n", "text/plain", None),
    ],
)
def test_it_reads_the_message_in_the_body(
    body: bytes | str | dict[str, Any], content_type: str | None, message: str | None
) -> None:
    response = response_of(400, body, content_type)
    assert extract_message(response) == message


# --- the format and the telling fields -----------------------------------------------------


def test_it_reads_the_apis_envelope() -> None:
    body = {"result": "error", "message": "Invalid interval: 2d"}
    facts = read_body(response_of(400, body, "application/json"), KAIKO_ENVELOPE, "Kaiko")
    assert (facts.format, facts.label) == ("envelope", "Kaiko envelope")
    assert facts.fields == (("result", "error"), ("message", "Invalid interval: 2d"))
    assert facts.field("message") == "Invalid interval: 2d"
    assert facts.field("nope") is None
    assert facts.data == body


def test_it_reads_problem_details_by_their_shape_too() -> None:
    body = {"type": "about:blank", "title": "Bad", "status": 400, "detail": "x" * 10}
    facts = read_body(response_of(400, body, "application/json"), Envelope(), "Any")
    assert (facts.format, facts.label) == ("problem", "RFC 9457 problem details")
    assert facts.fields[:4] == (
        ("type", "about:blank"),
        ("title", "Bad"),
        ("status", "400"),
        ("detail", "x" * 10),
    )


def test_it_reads_an_html_pages_title_and_heading() -> None:
    page = "<html><title>502 &amp; <b>Bad</b></title><H1 class=x>Bad\nGateway</H1></html>"
    facts = read_body(response_of(502, page, "text/html"), Envelope(), "Any")
    assert (facts.format, facts.label) == ("html", "HTML page")
    assert facts.fields == (("<title>", "502 & Bad"), ("<h1>", "Bad Gateway"))
    assert facts.text == page.lower()


@pytest.mark.parametrize(
    ("body", "content_type", "format_", "label"),
    [
        (b"", "application/json", "empty", "empty"),
        (b"  \n", "text/plain", "empty", "empty"),
        (b"{broken", "application/json", "binary", "JSON that could not be parsed"),
        (b"\xff\xfe\x00", "text/plain", "binary", "binary"),
        (b"a\x00b", "text/plain", "binary", "binary"),
        (b"Slow down\nplease", "text/plain", "text", "plain text"),
        (b"[1, 2]", "application/json", "json", "JSON"),
    ],
)
def test_it_names_the_format_of_any_body(
    body: bytes, content_type: str, format_: str, label: str
) -> None:
    facts = read_body(response_of(400, body, content_type), Envelope(), "Any")
    assert (facts.format, facts.label) == (format_, label)


def test_plain_text_gives_its_first_line() -> None:
    facts = read_body(response_of(429, "Slow down\nplease", "text/plain"), Envelope(), "Any")
    assert facts.fields == (("text", "Slow down"),)
    assert facts.text == "slow down\nplease"


@pytest.mark.parametrize(
    ("data", "path", "expected"),
    [
        ({"access": {"access_range": {"a": 1}}}, "access.access_range", {"a": 1}),
        ({"access": {}}, "access.access_range", None),
        ({"access": [1]}, "access.access_range", None),
        ([{"a": 1}], "a", None),
        ({"a": 0}, "a", 0),
    ],
)
def test_it_follows_a_dotted_path(data: object, path: str, expected: object) -> None:
    assert get_path(data, path) == expected


# --- one clean line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("  two\n\twords  ", "two words"),
        ("bell\x07 and\x1b[0m escape", "bell and [0m escape"),
        ("\x00\n\t ", None),
        ("", None),
    ],
)
def test_it_makes_one_readable_line(text: str, expected: str | None) -> None:
    assert clean(text) == expected


def test_it_cuts_a_long_line_with_an_ellipsis() -> None:
    assert clean("a" * MAX_MESSAGE_CHARS) == "a" * MAX_MESSAGE_CHARS
    cut = clean("a" * (MAX_MESSAGE_CHARS + 1))
    assert cut == "a" * (MAX_MESSAGE_CHARS - 1) + "…"
    assert clean("abcdef", limit=4) == "abc…"


def test_it_cuts_a_huge_text_without_reading_it_all() -> None:
    spaced = " " * 10_000_000 + "never seen"
    assert clean("start" + spaced) == "start…"
