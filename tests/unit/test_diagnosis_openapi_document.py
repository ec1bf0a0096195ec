"""Reading OpenAPI documents: the published examples load, and every bad document gets a
SpecError naming what and where, quickly (never another exception, never a hang)."""

import json
import time
from pathlib import Path

import pytest

from apps.diagnosis.openapi import MAX_DOCUMENT_BYTES, SpecError, build_spec, load_document

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


@pytest.mark.parametrize(
    ("name", "version", "title", "operations"),
    [
        ("petstore-3.0.yaml", "3.0.0", "Swagger Petstore", 3),
        ("petstore-3.1.json", "3.1.0", "Swagger Petstore", 3),
        ("webhook-example-3.1.yaml", "3.1.0", "Webhook Example", 1),
        ("kaiko-like.yaml", "3.0.3", "Kaiko-like market data", 2),
    ],
)
def test_it_loads_the_examples(name: str, version: str, title: str, operations: int) -> None:
    document = load_document(fixture(name))
    spec = build_spec(document)
    assert document.version == version
    assert spec.title == title
    assert len(spec.operations) == operations


@pytest.mark.parametrize(
    ("text", "message", "line"),
    [
        ("openapi: 3.0.0\ninfo: [unclosed\n", "The YAML is not valid", 3),
        ('{"openapi": "3.0.0",\n "info": }', "The JSON is not valid", 2),
        ("", "empty", None),
        ("- just\n- a list\n", "top level must be a mapping", None),
        ('swagger: "2.0"\ninfo: {}\n', "Swagger 2.0", None),
        ("openapi: 4.0.0\ninfo: {title: x, version: '1'}\npaths: {}\n", "3.0.x or 3.1.x", 1),
        ("info: {title: x}\n", "no `openapi` version", None),
    ],
)
def test_it_names_syntax_and_version_errors(text: str, message: str, line: int | None) -> None:
    with pytest.raises(SpecError) as raised:
        load_document(text)
    assert message in str(raised.value)
    assert raised.value.line == line


def test_it_names_the_line_of_an_openapi_rule_broken() -> None:
    text = fixture("petstore-3.0.yaml").replace("in: query", "in: body")
    with pytest.raises(SpecError) as raised:
        load_document(text)
    error = raised.value
    assert "Not valid OpenAPI 3.0.0" in error.message
    assert error.where == "paths./pets.get.parameters[0]"
    assert error.line is not None
    assert text.splitlines()[error.line - 1].strip() == "- name: limit"
    assert len(error.message) < 200  # the object is named by its place, not quoted whole


def test_it_refuses_a_reference_cycle_that_never_ends() -> None:
    text = fixture("petstore-3.0.yaml").replace(
        '    Pets:\n      type: array\n      items:\n        $ref: "#/components/schemas/Pet"',
        '    Pets:\n      $ref: "#/components/schemas/Loop"\n    Loop:\n'
        '      allOf:\n        - $ref: "#/components/schemas/Pets"',
    )
    started = time.monotonic()
    with pytest.raises(SpecError) as raised:
        load_document(text)
    assert time.monotonic() - started < 5
    assert "cycle" in raised.value.message
    assert "#/components/schemas/Pets" in raised.value.message
    assert raised.value.line is not None


def test_it_accepts_a_schema_that_contains_itself_through_its_properties() -> None:
    data = json.loads(fixture("petstore-3.1.json"))
    data["components"]["schemas"]["Pet"]["properties"]["children"] = {
        "type": "array",
        "items": {"$ref": "#/components/schemas/Pet"},
    }
    spec = build_spec(load_document(json.dumps(data)))
    assert spec.operations


@pytest.mark.parametrize(
    ("ref", "message"),
    [
        ("https://evil.example/schema.json", "points outside this document"),
        ("./other.yaml#/Pet", "points outside this document"),
        ("#/components/schemas/Nothing", "points at nothing"),
    ],
)
def test_it_refuses_references_outside_the_document_or_to_nothing(ref: str, message: str) -> None:
    data = json.loads(fixture("petstore-3.1.json"))
    data["components"]["schemas"]["Pets"]["items"] = {"$ref": ref}
    with pytest.raises(SpecError) as raised:
        load_document(json.dumps(data, indent=1))
    assert message in raised.value.message
    assert raised.value.where == "components.schemas.Pets.items.$ref"


def test_it_refuses_a_10_mb_document_at_once() -> None:
    base = json.loads(fixture("petstore-3.1.json"))
    base["info"]["description"] = "x" * (10 * 1024 * 1024)
    text = json.dumps(base)
    started = time.monotonic()
    with pytest.raises(SpecError) as raised:
        load_document(text)
    assert time.monotonic() - started < 1
    assert "10.0 MB" in raised.value.message
    assert f"{MAX_DOCUMENT_BYTES // 1_048_576} MB are accepted" in raised.value.message


def test_it_refuses_a_yaml_alias_bomb_and_deep_nesting() -> None:
    bomb = "openapi: 3.0.0\na: &a [x, x, x, x, x, x, x, x, x, x]\n"
    for level in "bcdefghi":
        previous = chr(ord(level) - 1)
        bomb += f"{level}: &{level} [*{previous}, *{previous}, *{previous}, *{previous}, "
        bomb += f"*{previous}, *{previous}, *{previous}, *{previous}, *{previous}, *{previous}]\n"
    with pytest.raises(SpecError) as raised:
        load_document(bomb)
    assert "more than" in raised.value.message
    deep = '{"openapi": "3.0.0", "x": ' + "[" * 200 + "]" * 200 + "}"
    with pytest.raises(SpecError) as raised:
        load_document(deep)
    assert "nested more than" in raised.value.message


def test_it_refuses_bytes_that_are_not_utf8() -> None:
    with pytest.raises(SpecError) as raised:
        load_document(b"openapi: 3.0.0\n\xff\xfe")
    assert "not UTF-8" in raised.value.message


@pytest.mark.parametrize(
    "change",
    [
        lambda d, url: d["components"]["schemas"]["Pets"].update(
            {"$id": f"{url}/ids/pets.json", "items": {"$ref": "pet.json"}}
        ),
        lambda d, url: d["components"]["schemas"]["Pet"].update({"$schema": f"{url}/meta.json"}),
        lambda d, url: d["components"]["schemas"]["Pet"]["properties"].update(
            {"x": {"$dynamicRef": f"{url}/dyn.json"}}
        ),
        lambda d, url: d.update({"jsonSchemaDialect": f"{url}/dialect.json"}),
    ],
    ids=["$id and a relative $ref", "$schema", "$dynamicRef", "jsonSchemaDialect"],
)
def test_a_document_never_makes_the_checker_fetch_a_url(change: object) -> None:
    import threading
    from http.server import BaseHTTPRequestHandler, HTTPServer

    hits: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()
            self.wfile.write(b'{"type": "object"}')

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        data = json.loads(fixture("petstore-3.1.json"))
        change(data, f"http://127.0.0.1:{server.server_port}")  # type: ignore[operator]
        with pytest.raises(SpecError) as raised:
            load_document(json.dumps(data))
        assert raised.value.message
    finally:
        server.shutdown()
        server.server_close()
    assert hits == []
