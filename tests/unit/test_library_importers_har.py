"""apps/library/importers/har.py: a HAR file's entries as requests to save or run."""

import json

import pytest

from apps.library.importers.collection import ImportFailed
from apps.library.importers.har import parse_har


def har(*entries: dict) -> str:
    log = {"version": "1.2", "creator": {"name": "t"}, "entries": list(entries)}
    return json.dumps({"log": log})


def entry(method: str, url: str, headers: list[dict] | None = None, text: str = "") -> dict:
    request: dict = {"method": method, "url": url, "headers": headers or []}
    if text:
        request["postData"] = {"mimeType": "application/json", "text": text}
    return {"request": request}


def test_a_har_gives_each_http_entry_with_its_key_in_the_key_field() -> None:
    collection = parse_har(
        har(
            entry("GET", "https://api.example.com/v1/x?a=1", [
                {"name": ":authority", "value": "api.example.com"},
                {"name": "Host", "value": "api.example.com"},
                {"name": "x-api-key", "value": "k-1"},
                {"name": "Accept", "value": "*/*"},
            ]),
            entry("POST", "https://api.example.com/v1/y", text='{"b": 2}'),
            entry("GET", "data:text/plain,hello"),
        ),
        name="session",
    )  # fmt: skip
    first, second = collection.requests
    assert (first.name, first.folder, first.api_key, first.headers) == (
        "GET /v1/x", "api.example.com", "k-1", [("Accept", "*/*")]
    )  # fmt: skip
    assert (second.method, second.body) == ("POST", '{"b": 2}')
    assert len(collection.warnings) == 1 and "not HTTP" in collection.warnings[0]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("[1]", "no `log.entries`"),
        ('{"log": {"entries": [{"request": {"method": "GET"}}]}}', "`log.entries[0].request.url`"),
        (har(), "holds no request"),
        ("nope", "not JSON"),
    ],
)
def test_a_bad_har_is_named(raw: str, expected: str) -> None:
    with pytest.raises(ImportFailed, match=expected.replace("[", r"\[").replace(".", r"\.")):
        parse_har(raw)


def test_a_body_is_kept_for_methods_that_carry_one_and_dropped_for_get_and_head() -> None:
    body = '{"a": 1}'
    collection = parse_har(
        har(
            entry("POST", "https://api.example.com/v1/x", text=body),
            entry("put", "https://api.example.com/v1/x", text=body),
            entry("GET", "https://api.example.com/v1/x", text=body),
            entry("HEAD", "https://api.example.com/v1/x", text=body),
        )
    )
    bodies = [(each.method, each.body) for each in collection.requests]
    assert bodies == [("POST", body), ("PUT", body), ("GET", ""), ("HEAD", "")]
