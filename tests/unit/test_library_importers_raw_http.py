"""The raw HTTP importer: a request as DevTools, Burp or a spec shows it."""

import pytest

from apps.library.importers.raw_http import RawHttpError, looks_like_raw_http, parse_raw_http


def test_it_reads_an_origin_form_request_with_host_and_body() -> None:
    parsed = parse_raw_http(
        "PUT /v1/items/7?x=1 HTTP/1.1\nHost: api.example.com:8443\nX-Api-Key: abc\n"
        "Content-Type: text/plain\nConnection: keep-alive\n\nline one\nline two\n"
    )
    assert (parsed.method, parsed.url) == ("PUT", "https://api.example.com:8443/v1/items/7?x=1")
    assert parsed.headers == [("Content-Type", "text/plain")]
    assert parsed.api_key == "abc"
    assert parsed.body == "line one\nline two"
    assert any("Connection" in note for note in parsed.notes)


def test_it_reads_an_absolute_url_without_a_version() -> None:
    parsed = parse_raw_http("get http://127.0.0.1:8000/sandbox/v2/x")
    assert (parsed.method, parsed.url, parsed.body) == (
        "GET",
        "http://127.0.0.1:8000/sandbox/v2/x",
        "",
    )


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("hello there world", "Line 1 is not a request line"),
        ("GET x HTTP/1.1\nHost: a", "neither a path"),
        ("GET / HTTP/1.1\nHost: a\n folded", "Line 3 continues the header"),
        ("GET / HTTP/1.1\nHost: a\nBad Name: x", "Line 3 is not a header"),
        ("GET / HTTP/1.1\n", "no Host header"),
        ("GET / HTTP/1.1\nHost: a\n" + "x" * 300_001, "longer than 300,000"),
    ],
)
def test_it_names_what_is_wrong(text: str, expected: str) -> None:
    with pytest.raises(RawHttpError, match=expected):
        parse_raw_http(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("GET /x HTTP/1.1\nHost: a", True),
        ("POST https://a.example/x", True),
        ("curl https://a.example/x", False),
        ("get me a coffee", False),
    ],
)
def test_it_tells_a_request_line_from_a_command(text: str, expected: bool) -> None:
    assert looks_like_raw_http(text) is expected
