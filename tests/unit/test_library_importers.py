"""The OpenAPI, HAR and own-format importers: what each gives, and bad files named where."""

import json
from pathlib import Path
from typing import Any

import pytest

from apps.diagnosis.openapi import Spec, build_spec, load_document
from apps.library.importers.collection import ImportFailed
from apps.library.importers.har import parse_har
from apps.library.importers.native import parse_native
from apps.library.importers.openapi import collection_from_spec
from apps.library.importers.postman import parse_postman

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def spec_of(name: str) -> Spec:
    return build_spec(load_document((FIXTURES / "openapi" / name).read_text()))


def test_petstore_becomes_a_collection_with_example_parameters() -> None:
    collection = collection_from_spec(spec_of("petstore-3.0.yaml"))
    assert collection.name == "Swagger Petstore"
    assert [(r.method, r.url, r.folder, r.name) for r in collection.requests] == [
        ("GET", "http://petstore.swagger.io/v1/pets", "pets", "List all pets"),
        ("POST", "http://petstore.swagger.io/v1/pets", "pets", "Create a pet"),
        ("GET", "http://petstore.swagger.io/v1/pets/{{petId}}", "pets", "Info for a specific pet"),
    ]
    assert collection.variables == [("petId", "")]  # a required parameter with no example


def test_a_documented_api_key_and_enums_become_variables_and_examples() -> None:
    collection = collection_from_spec(spec_of("kaiko-like.yaml"))
    first = collection.requests[0]
    assert first.url.startswith("https://us.market-api.example.com/v2/")
    assert "/spot/" in first.url  # the first value of the enum
    assert first.api_key == "{{api_key}}"
    assert ("api_key", "") in collection.variables


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


def test_the_own_format_is_read_and_checked() -> None:
    data = {
        "format": "apidiag.collection",
        "version": 1,
        "name": "Kept",
        "variables": [{"name": "host", "value": "a.example.com"}],
        "requests": [
            {"name": "One", "method": "get", "url": "https://{{host}}/x", "folder": "F",
             "params": [["a", "1"]], "headers": [["Accept", "*/*"]], "timeout": 3}
        ],
    }  # fmt: skip
    collection = parse_native(json.dumps(data))
    (request,) = collection.requests
    assert (request.method, request.params, request.timeout, request.folder) == (
        "GET", [("a", "1")], 3.0, "F"
    )  # fmt: skip
    data["requests"][0]["headers"] = [["only-a-name"]]  # type: ignore[index]
    with pytest.raises(ImportFailed, match=r"`requests\[0\]\.headers` is not a list"):
        parse_native(json.dumps(data))
    with pytest.raises(ImportFailed, match="version 1 is read"):
        parse_native(json.dumps({**data, "version": 2}))


@pytest.mark.parametrize("parse", [parse_har, parse_native, parse_postman])
def test_a_file_nested_deeper_than_json_reads_is_refused_with_a_message(parse: Any) -> None:
    """Was a RecursionError (a 500 on the import pages)."""
    deep = '{"log": ' + "[" * 100_000 + "]" * 100_000 + "}"
    with pytest.raises(ImportFailed, match="nested too deeply"):
        parse(deep)
