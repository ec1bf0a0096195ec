"""apps/library/importers/har.py: a HAR file's entries as requests to save or run."""

import json

import pytest

from apps.library.importers.collection import ImportFailed
from apps.library.importers.har import parse_har


def har(*requests: dict) -> str:
    entries = [{"request": request, "response": {"status": 200}} for request in requests]
    return json.dumps({"log": {"version": "1.2", "entries": entries}})


def request(method: str, url: str = "https://api.example.com/v1/items", **extra: object) -> dict:
    return {"method": method, "url": url, "headers": [], **extra}


def test_a_body_is_kept_for_methods_that_carry_one_and_dropped_for_get_and_head() -> None:
    post = {"mimeType": "application/json", "text": '{"a": 1}'}
    imported = parse_har(
        har(
            request("POST", postData=post),
            request("put", postData=post),
            request("GET", postData=post),
            request("HEAD", postData=post),
        )
    )
    bodies = [(each.method, each.body) for each in imported.requests]
    assert bodies == [("POST", '{"a": 1}'), ("PUT", '{"a": 1}'), ("GET", ""), ("HEAD", "")]


def test_the_api_key_header_becomes_the_key_and_client_headers_are_left_out() -> None:
    headers = [
        {"name": "X-Api-Key", "value": "k-har-0123456789"},
        {"name": ":authority", "value": "api.example.com"},
        {"name": "Accept", "value": "application/json"},
    ]
    (imported,) = parse_har(har(request("GET", headers=headers))).requests
    assert imported.api_key == "k-har-0123456789"
    assert ("Accept", "application/json") in imported.headers
    assert all(name != ":authority" for name, _ in imported.headers)
    assert all(name.lower() != "x-api-key" for name, _ in imported.headers)
    assert (imported.name, imported.folder) == ("GET /v1/items", "api.example.com")


def test_an_entry_that_is_not_http_is_left_out_with_a_warning() -> None:
    imported = parse_har(har(request("GET", url="data:text/plain,hi"), request("GET")))
    assert [each.source_index for each in imported.requests] == [1]
    assert imported.warnings == ["`log.entries[0]`: a data URL is not HTTP; left out."]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("not json", "The file is not JSON"),
        ('{"log": {}}', "it has no `log.entries` list"),
        ('{"log": {"entries": [{"request": {"method": "GET"}}]}}', "`log.entries[0].request.url`"),
    ],
)
def test_a_file_that_is_not_a_har_is_refused_saying_why(text: str, problem: str) -> None:
    with pytest.raises(ImportFailed, match=problem.replace("[", r"\[").replace("]", r"\]")):
        parse_har(text)
