"""An OpenAPI document as a typed spec (apps.diagnosis.openapi.spec): servers, security
schemes, operations with their parameters and documented responses."""

import json
from pathlib import Path
from typing import Any

import pytest

from apps.diagnosis.openapi import SpecError, build_spec, load_document
from apps.diagnosis.openapi.spec import (
    MAX_REF_HOPS,
    MAX_SERVER_URLS,
    Operation,
    ResponseDoc,
    SecurityScheme,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"


def fixture(name: str) -> str:
    return (FIXTURES / name).read_text()


def document(**extra: Any) -> dict[str, Any]:
    return {"openapi": "3.1.0", "info": {"title": "T", "version": "1"}, "paths": {}, **extra}


def test_it_reads_servers_schemes_operations_and_responses() -> None:
    spec = build_spec(load_document(fixture("kaiko-like.yaml")))
    # Server variables are expanded to every value of their enum.
    assert spec.hosts == ("us.market-api.example.com", "eu.market-api.example.com")
    assert [s.url for s in spec.servers] == [
        "https://us.market-api.example.com/v2",
        "https://eu.market-api.example.com/v2",
    ]  # the same URL twice (written, and from a variable) is one server
    scheme = spec.schemes["ApiKey"]
    assert (scheme.type, scheme.location, scheme.param_name) == ("apiKey", "header", "X-Api-Key")
    trades = spec.operations[0]
    params = {p.name: p for p in trades.parameters}
    # A path-level parameter given by $ref, with its schema and description.
    assert params["exchange"].required and params["exchange"].schema["pattern"] == "^[a-z]{4}$"
    assert params["page_size"].schema["maximum"] == 100000
    assert params["sort"].schema["enum"] == ["asc", "desc"]
    assert params["start_time"].schema["format"] == "date-time"
    # A response given by $ref keeps the pointer of its own schema.
    assert trades.responses["400"].description == "The request parameters are invalid."
    pointer = trades.responses["400"].content["application/json"]
    assert pointer is not None and pointer.startswith("#/components/responses/BadRequest/")
    assert spec.operations[1].security == ()  # no auth needed there
    assert spec.security_for(trades) == (("ApiKey",),)


def test_it_reads_every_kind_of_security_scheme() -> None:
    data = json.loads(fixture("petstore-3.1.json"))
    data["components"]["securitySchemes"].update(
        {
            "bearer": {"type": "http", "scheme": "bearer"},
            "basic": {"type": "http", "scheme": "basic"},
            "cookie": {"type": "apiKey", "in": "cookie", "name": "session"},
            "query": {"type": "apiKey", "in": "query", "name": "key"},
            "oauth": {
                "type": "oauth2",
                "flows": {"clientCredentials": {"tokenUrl": "https://x.test/token", "scopes": {}}},
            },
        }
    )
    spec = build_spec(load_document(json.dumps(data)))
    described = {name: s.describe() for name, s in spec.schemes.items()}
    assert described["bearer"] == "`Authorization: Bearer <token>`"
    assert described["basic"].startswith("`Authorization: Basic`")
    assert described["cookie"] == "the `session` cookie"
    assert described["query"] == "the `key` query parameter"
    assert "OAuth 2" in described["oauth"]


@pytest.mark.parametrize(
    ("scheme", "described"),
    [
        (
            SecurityScheme("k", "apiKey", location="header", param_name="X-Key"),
            "the `X-Key` header",
        ),
        (SecurityScheme("k", "http", http_scheme=""), "`Authorization: Bearer <token>`"),
        (SecurityScheme("k", "http", http_scheme="digest"), "`Authorization: Digest <token>`"),
        (SecurityScheme("k", "openIdConnect"), "`Authorization: Bearer <access token>` (OAuth 2)"),
        (SecurityScheme("k", "mutualTLS"), "a TLS client certificate"),
    ],
)
def test_each_scheme_says_how_it_is_sent(scheme: SecurityScheme, described: str) -> None:
    assert scheme.describe() == described


def test_a_server_url_is_expanded_for_each_value_of_its_variables() -> None:
    spec = build_spec(
        document(
            servers=[
                {
                    "url": "https://{region}.api.test:{port}/v1/",
                    "variables": {
                        "region": {"enum": ["us", "eu"], "default": "us"},
                        "port": {"default": "8443"},
                    },
                },
                {"url": "not a url at all: [", "variables": "junk"},
                {"description": "no url"},
            ]
        )
    )
    assert [s.url for s in spec.servers][:2] == [
        "https://us.api.test:8443/v1/",
        "https://eu.api.test:8443/v1/",
    ]
    first = spec.servers[0]
    assert (first.scheme, first.host, first.port, first.base_path) == (
        "https",
        "us.api.test",
        8443,
        "/v1",
    )
    assert spec.hosts[:2] == ("us.api.test", "eu.api.test")


def test_server_variables_expand_to_a_bounded_number_of_urls() -> None:
    many = {f"v{n}": {"enum": ["a", "b"]} for n in range(10)}
    url = "https://h.test/" + "/".join(f"{{v{n}}}" for n in range(10))
    spec = build_spec(document(servers=[{"url": url, "variables": many}]))
    assert len(spec.servers) <= MAX_SERVER_URLS


def test_a_document_without_servers_has_one_relative_server() -> None:
    spec = build_spec(document())
    assert [(s.url, s.host) for s in spec.servers] == [("/", "")]
    assert spec.hosts == ()
    assert (spec.title, spec.api_version, spec.operations) == ("T", "1", ())


def test_operations_merge_shared_parameters_the_operations_own_winning() -> None:
    spec = build_spec(
        document(
            paths={
                "/pets/{id}": {
                    "parameters": [
                        {"name": "id", "in": "path", "schema": {"type": "string"}},
                        {"name": "limit", "in": "query", "description": "shared"},
                    ],
                    "get": {
                        "operationId": "getPet",
                        "parameters": [
                            {"name": "limit", "in": "query", "description": "own"},
                            {
                                "name": "q",
                                "in": "query",
                                "content": {"application/json": {"schema": {"type": "object"}}},
                            },
                        ],
                        "responses": {"200": {"description": "ok"}},
                    },
                    "post": {"deprecated": True, "security": [], "responses": {}},
                    "summary": "not an operation",
                }
            }
        )
    )
    get, post = spec.operations
    assert (get.label, post.label) == ("GET /pets/{id}", "POST /pets/{id}")
    params = {p.name: p for p in get.parameters}
    assert params["id"].required  # a path parameter always is
    assert params["limit"].description == "own"
    assert params["q"].schema == {"type": "object"}
    assert post.deprecated and post.security == () and get.security is None
    assert spec.paths() == ["/pets/{id}"]


def test_a_documented_response_is_found_by_status_then_range_then_default() -> None:
    operation = Operation(
        method="GET",
        path="/x",
        responses={
            "200": ResponseDoc("200", "ok"),
            "4XX": ResponseDoc("4XX", "client"),
            "default": ResponseDoc("default", "other"),
        },
    )
    found = {status: operation.response_for(status) for status in (200, 404, 503)}
    assert {status: doc.key for status, doc in found.items() if doc} == {
        200: "200",
        404: "4XX",
        503: "default",
    }
    assert Operation(method="GET", path="/x").response_for(200) is None


@pytest.mark.parametrize(
    ("content", "content_type", "ref"),
    [
        ({"application/json": "#/a"}, "application/json", "#/a"),
        ({"application/problem+json": "#/p"}, "application/json", "#/p"),
        ({"text/*": "#/t"}, "text/plain", "#/t"),
        ({"*/*": "#/any"}, "image/png", "#/any"),
        ({"application/json": "#/a"}, "text/html", None),
    ],
)
def test_a_responses_schema_is_found_by_media_type(
    content: dict[str, str], content_type: str, ref: str | None
) -> None:
    assert ResponseDoc("200", "", content).schema_ref(content_type) == ref


def test_a_chain_of_references_without_end_is_refused() -> None:
    hops = MAX_REF_HOPS + 2
    parameters = {f"p{n}": {"$ref": f"#/components/parameters/p{n + 1}"} for n in range(hops)}
    parameters[f"p{hops}"] = {"name": "x", "in": "query"}
    data = document(
        components={"parameters": parameters},
        paths={
            "/x": {"get": {"parameters": [{"$ref": "#/components/parameters/p0"}], "responses": {}}}
        },
    )
    with pytest.raises(SpecError, match="without end"):
        build_spec(data)


def test_a_reference_to_nothing_is_refused_where_it_is() -> None:
    data = document(paths={"/x": {"$ref": "#/components/pathItems/gone"}})
    with pytest.raises(SpecError) as raised:
        build_spec(data)
    assert raised.value.where == "paths./x"
