"""An exchange diagnosed against an OpenAPI spec: each check, its evidence, the spec's own
words first, and never a secret in what it says."""

import base64
import json
from pathlib import Path

import pytest

from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.lookups import get_profile
from apps.diagnosis.openapi import Spec, build_spec, covers, find_spec_causes, load_document
from apps.diagnosis.openapi.checks import value_problem
from apps.egress.redaction import SecretValues
from apps.egress.types import Exchange, Failure, FailureKind, Response

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
PET = "http://petstore.swagger.io/v1"
KAIKO = "https://us.market-api.example.com/v2"
TRADES = f"{KAIKO}/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
KEY = "k3y-Secret-Value-0123456789"


def spec_of(name: str) -> Spec:
    return build_spec(load_document((FIXTURES / name).read_text()))


@pytest.fixture(scope="module")
def petstore() -> Spec:
    return spec_of("petstore-3.1.json")


@pytest.fixture(scope="module")
def kaiko() -> Spec:
    return spec_of("kaiko-like.yaml")


def exchange(
    url: str,
    *,
    method: str = "GET",
    headers: list[tuple[str, str]] | None = None,
    status: int = 200,
    body: object = None,
    content_type: str = "application/json",
) -> Exchange:
    raw = (
        body if isinstance(body, bytes) else json.dumps(body).encode() if body is not None else b""
    )
    return Exchange(
        method=method,
        url=url,
        request_headers=headers or [],
        response=Response(
            status=status,
            reason="",
            headers=[("Content-Type", content_type)],
            body=raw,
            truncated=False,
        ),
        failure=None,
        elapsed_ms=5.0,
    )


def codes(spec: Spec, ex: Exchange) -> list[str]:
    return [cause.code for cause in find_spec_causes(ex, spec).causes]


def test_it_covers_only_the_spec_hosts(kaiko: Spec) -> None:
    assert covers(kaiko, TRADES)
    assert covers(kaiko, "https://eu.market-api.example.com/v2/v1/instruments")
    assert not covers(kaiko, "https://api.example.org/v2/data")
    assert find_spec_causes(exchange("https://api.example.org/x"), kaiko).causes == []


def test_a_correct_request_has_no_findings(kaiko: Spec) -> None:
    body = {
        "result": "success",
        "data": [{"timestamp": 1, "trade_id": "a", "price": "1", "amount": "2"}],
    }
    ex = exchange(f"{TRADES}?page_size=10&sort=asc", headers=[("X-Api-Key", KEY)], body=body)
    findings = find_spec_causes(ex, kaiko)
    assert findings.operation is not None and findings.operation.operation_id == "listTrades"
    assert findings.causes == []
    assert findings.response is not None
    assert findings.response.description == "The trades of the instrument, newest first."


def test_an_unknown_path_names_the_nearest_documented_ones(petstore: Spec) -> None:
    cause = find_spec_causes(exchange(f"{PET}/pet/12"), petstore).causes[0]
    assert cause.code == "openapi.path.unknown"
    assert "`/v1/pets/{petId}`" in cause.explanation
    assert cause.evidence[0].value == "/v1/pet/12"
    assert cause.playbooks == ["fix-endpoint"]


def test_a_method_the_path_does_not_allow_names_the_allowed_ones(petstore: Spec) -> None:
    cause = find_spec_causes(exchange(f"{PET}/pets", method="DELETE"), petstore).causes[0]
    assert cause.code == "openapi.method.not_allowed"
    assert cause.evidence[0].note == "Allowed: `GET`, `POST`"


@pytest.mark.parametrize(
    ("url", "name", "problem"),
    [
        (f"{TRADES}?page_size=0", "page_size", "must be at least 1"),
        (f"{TRADES}?page_size=100001", "page_size", "must be at most 100000"),
        (f"{TRADES}?page_size=ten", "page_size", "is not an integer"),
        (f"{TRADES}?sort=newest", "sort", "is not one of `asc`, `desc`"),
        (f"{TRADES}?start_time=yesterday", "start_time", "is not a date-time"),
        (f"{KAIKO}/data/trades.v1/exchanges/coinbase/spot/btc-usd/trades", "exchange", "pattern"),
        (
            f"{KAIKO}/data/trades.v1/exchanges/cbse/stock/btc-usd/trades",
            "instrument_class",
            "one of",
        ),
    ],
)
def test_a_value_outside_its_schema_is_named_with_the_spec_description(
    kaiko: Spec, url: str, name: str, problem: str
) -> None:
    causes = find_spec_causes(exchange(url, headers=[("X-Api-Key", KEY)], status=400), kaiko).causes
    invalid = [c for c in causes if c.code == "openapi.param.invalid"]
    assert len(invalid) == 1
    assert invalid[0].evidence[0].name == name
    assert problem in invalid[0].title
    described = next(p for p in kaiko.operations[0].parameters if p.name == name).description
    assert f'The spec says: "{described}"' in invalid[0].explanation


def test_a_missing_required_parameter_is_named(kaiko: Spec) -> None:
    data = dict(kaiko.document)
    spec = kaiko
    required = next(p for p in spec.operations[0].parameters if p.name == "instrument")
    assert required.required
    # A header parameter that is required, missing from the request.
    doc = json.loads(json.dumps(data))
    doc["paths"]["/v1/instruments"]["get"]["parameters"] = [
        {
            "name": "X-Client",
            "in": "header",
            "required": True,
            "description": "Who calls.",
            "schema": {"type": "string"},
        }
    ]
    spec = build_spec(load_document(json.dumps(doc)))
    cause = find_spec_causes(exchange(f"{KAIKO}/v1/instruments"), spec).causes[0]
    assert cause.code == "openapi.param.missing"
    assert cause.evidence[0].value == "(not sent)"
    assert 'The spec says: "Who calls."' in cause.explanation


def test_a_misspelt_query_parameter_is_a_possible_cause(petstore: Spec) -> None:
    ex = exchange(f"{PET}/pets?limt=5", headers=[("api_key", KEY)])
    cause = find_spec_causes(ex, petstore).causes[0]
    assert cause.code == "openapi.param.undocumented"
    assert "did you mean `limit`" in cause.title


def test_a_key_sent_in_the_query_instead_of_its_header(kaiko: Spec) -> None:
    ex = exchange(f"{TRADES}?api_key={KEY}", status=401, body={"result": "error"})
    cause = find_spec_causes(ex, kaiko).causes[0]
    assert cause.code == "openapi.auth.other_way"
    assert cause.likelihood == "likely"
    assert "the `X-Api-Key` header" in cause.title
    assert next((e.source, e.name, e.value) for e in cause.evidence) == (
        "param",
        "api_key",
        "[redacted]",
    )
    assert KEY not in json.dumps(
        [cause.title, cause.explanation, [e.value for e in cause.evidence]]
    )


def test_a_bearer_token_where_basic_is_documented(petstore: Spec) -> None:
    doc = json.loads(json.dumps(petstore.document))
    doc["components"]["securitySchemes"] = {"basic": {"type": "http", "scheme": "basic"}}
    doc["security"] = [{"basic": []}]
    spec = build_spec(load_document(json.dumps(doc)))
    ex = exchange(f"{PET}/pets", headers=[("Authorization", f"Bearer {KEY}")], status=401)
    cause = find_spec_causes(ex, spec).causes[0]
    assert cause.code == "openapi.auth.other_way"
    assert cause.evidence[0].value == "Bearer [redacted]"
    ok = exchange(f"{PET}/pets", headers=[("Authorization", "Basic dTpw")])
    assert "openapi.auth.other_way" not in codes(spec, ok)


def test_the_password_of_a_basic_credential_is_scrubbed_from_what_a_cause_shows(
    petstore: Spec,
) -> None:
    # The path holds the password of the HTTP Basic credential sent (the policy's
    # credential_parts): the unknown path's cause shows the path without it.
    basic = "Basic " + base64.b64encode(f"alice:{KEY}".encode()).decode()
    ex = exchange(f"{PET}/accounts/{KEY}", headers=[("Authorization", basic)], status=404)
    cause = find_spec_causes(ex, petstore).causes[0]
    assert cause.code == "openapi.path.unknown"
    assert cause.evidence[0].value == "/v1/accounts/[redacted]"
    shown = json.dumps(
        [cause.title, cause.explanation, [(e.value, e.note) for e in cause.evidence]]
    )
    assert not SecretValues([KEY]).found_in(shown)


def test_no_credential_at_all(kaiko: Spec) -> None:
    cause = find_spec_causes(exchange(TRADES, status=401), kaiko).causes[0]
    assert cause.code == "openapi.auth.missing"
    assert "Your Kaiko-like API key" in cause.explanation
    # An operation whose security is [] needs nothing.
    assert codes(kaiko, exchange(f"{KAIKO}/v1/instruments")) == []


def test_an_undocumented_status_is_said(kaiko: Spec) -> None:
    ex = exchange(TRADES, headers=[("X-Api-Key", KEY)], status=418)
    cause = find_spec_causes(ex, kaiko).causes[0]
    assert cause.code == "openapi.status.undocumented"
    assert "`200`, `400`, `401`, `403`, `429`" in cause.explanation


def test_a_body_off_the_schema_gives_the_first_mismatches_with_their_paths(kaiko: Spec) -> None:
    body = {"result": "maybe", "data": [{"timestamp": "soon", "trade_id": "a", "price": "1"}]}
    ex = exchange(TRADES, headers=[("X-Api-Key", KEY)], body=body)
    cause = find_spec_causes(ex, kaiko).causes[0]
    assert cause.code == "openapi.body.schema"
    assert cause.likelihood == "likely"
    paths = [line.name for line in cause.evidence]
    assert paths == ["$.result", "$.data[0]", "$.data[0].timestamp"]
    assert "'amount' is a required property" in cause.evidence[1].note


def test_a_body_of_another_media_type(kaiko: Spec) -> None:
    ex = exchange(
        TRADES, headers=[("X-Api-Key", KEY)], body=b"<html>Sign in</html>", content_type="text/html"
    )
    assert codes(kaiko, ex) == ["openapi.body.media_type"]


def test_nullable_in_30_and_type_lists_in_31_are_honoured(kaiko: Spec, petstore: Spec) -> None:
    trade = {"timestamp": 1, "trade_id": "a", "price": "1", "amount": "2", "taker_side_sell": None}
    ex = exchange(TRADES, headers=[("X-Api-Key", KEY)], body={"result": "success", "data": [trade]})
    assert codes(kaiko, ex) == []
    pet = exchange(
        f"{PET}/pets/1", headers=[("api_key", KEY)], body={"id": 1, "name": "a", "tag": None}
    )
    assert codes(petstore, pet) == []


def test_a_body_echoing_the_key_never_shows_it(petstore: Spec) -> None:
    ex = exchange(f"{PET}/pets/1", headers=[("api_key", KEY)], body={"id": KEY, "name": "a"})
    cause = find_spec_causes(ex, petstore).causes[0]
    assert cause.code == "openapi.body.schema"
    assert KEY not in json.dumps([[e.value, e.note] for e in cause.evidence])


@pytest.mark.parametrize(
    ("raw", "schema", "problem"),
    [
        ("5", {"type": "integer", "minimum": 1, "maximum": 10}, None),
        ("5", {"type": "integer", "exclusiveMaximum": 5}, "must be less than 5"),
        ("5", {"type": "integer", "maximum": 5, "exclusiveMaximum": True}, "must be less than 5"),
        ("99999999999", {"type": "integer", "format": "int32"}, "is outside the range of int32"),
        ("1.5", {"type": "number", "minimum": 2}, "must be at least 2"),
        ("maybe", {"type": "boolean"}, "is not `true` or `false`"),
        ("a,b,c", {"type": "array", "maxItems": 2, "items": {"type": "string"}}, "at most 2"),
        ("a,x", {"type": "array", "items": {"enum": ["a", "b"]}}, "is not one of `a`, `b`"),
        ("ab", {"type": "string", "minLength": 3}, "is shorter than 3 characters"),
        ("2024-13-01", {"type": "string", "format": "date"}, "is not a date"),
        ("not-a-uuid", {"type": "string", "format": "uuid"}, "is not a UUID"),
        ("10.0.0.300", {"type": "string", "format": "ipv4"}, "is not an IPv4 address"),
        ("10.0.0.3", {"type": "string", "format": "ipv6"}, "is not an IPv6 address"),
        ("::1", {"type": "string", "format": "ipv6"}, None),
        ("someone@", {"type": "string", "format": "email"}, "is not an email address"),
        ("/relative", {"type": "string", "format": "uri"}, "is not an absolute URI"),
        ("2024-01-01T00:00:00Z", {"type": "string", "format": "date-time"}, None),
        ("x", {"type": "string", "pattern": "(unclosed"}, None),  # a pattern Python cannot read
    ],
)
def test_value_problems(raw: str, schema: dict, problem: str | None) -> None:
    found = value_problem(raw, schema)
    assert (found is None) if problem is None else (problem in (found or ""))


def test_diagnose_puts_the_spec_first_with_the_api_own_words(kaiko: Spec) -> None:
    profile = get_profile("http")
    ex = exchange(
        f"{TRADES}?sort=newest", headers=[("X-Api-Key", KEY)], status=400, body={"result": "error"}
    )
    plain = diagnose(ex, profile)
    diagnosis = diagnose(ex, profile, spec=kaiko)
    assert diagnosis.code == "openapi.param.invalid"
    assert diagnosis.causes[0].code == "openapi.param.invalid"
    assert diagnosis.causes[1:] == plain.causes
    assert diagnosis.api_meaning == "The request parameters are invalid."
    assert diagnosis.api_name == "Kaiko-like market data"
    assert diagnosis.playbooks[0] == "fix-request"
    # Another host: the spec changes nothing.
    other = exchange("https://api.example.org/x", status=400)
    assert diagnose(other, profile, spec=kaiko) == diagnose(other, profile)


def test_diagnose_with_a_spec_on_a_network_failure(kaiko: Spec) -> None:
    ex = Exchange(
        method="GET",
        url=TRADES,
        request_headers=[],
        response=None,
        failure=Failure(kind=FailureKind.DNS, message="no such host"),
        elapsed_ms=1.0,
    )
    plain = diagnose(ex, get_profile("http"))
    diagnosis = diagnose(ex, get_profile("http"), spec=kaiko)
    # No answer: the missing key is possible, after the likely causes of the failure.
    spec_cause = next(c for c in diagnosis.causes if c.code == "openapi.auth.missing")
    assert spec_cause.likelihood == "possible"
    assert diagnosis.code == plain.code and diagnosis.title == plain.title
    likely = [c.likelihood == "likely" for c in diagnosis.causes]
    assert likely == sorted(likely, reverse=True)
    assert diagnosis.failure_kind == "dns"


def test_the_server_with_the_longest_base_path_is_used(petstore: Spec) -> None:
    doc = json.loads(json.dumps(petstore.document))
    doc["servers"] = [
        {"url": "http://petstore.swagger.io/v1/admin"},
        {"url": "http://petstore.swagger.io"},
        {"url": "http://petstore.swagger.io/v1"},
    ]
    spec = build_spec(load_document(json.dumps(doc)))
    ex = exchange(f"{PET}/pets?limit=500", headers=[("api_key", KEY)])
    assert codes(spec, ex) == ["openapi.param.invalid"]
    unknown = find_spec_causes(exchange("http://petstore.swagger.io/v2/pets"), spec).causes[0]
    assert unknown.code == "openapi.path.unknown"
    assert "`/v1/pets`" in unknown.explanation and "`/pets`" in unknown.explanation


# Fixes: the mechanical change a spec finding names ------------------------------------------


def test_a_method_the_path_does_not_allow_offers_the_allowed_one(petstore: Spec) -> None:
    cause = find_spec_causes(exchange(f"{PET}/pets", method="DELETE"), petstore).causes[0]
    assert cause.fix is not None
    assert (cause.fix.kind, cause.fix.changes) == ("use_method", {"method": "GET"})


@pytest.mark.parametrize(
    ("query", "name", "valid"),
    [
        ("page_size=0", "page_size", "1"),
        ("page_size=100001", "page_size", "100000"),
        ("sort=ASC", "sort", "asc"),
        ("sort=dsc", "sort", "desc"),
    ],
)
def test_a_value_outside_its_schema_offers_the_nearest_valid_one(
    kaiko: Spec, query: str, name: str, valid: str
) -> None:
    ex = exchange(f"{TRADES}?{query}", headers=[("X-Api-Key", KEY)], status=400)
    invalid = next(
        c for c in find_spec_causes(ex, kaiko).causes if c.code == "openapi.param.invalid"
    )
    assert invalid.fix is not None
    assert (invalid.fix.kind, invalid.fix.changes) == ("set_param", {"param": name, "value": valid})


@pytest.mark.parametrize("query", ["page_size=ten", "sort=newest", "start_time=yesterday"])
def test_a_value_with_no_obvious_valid_one_offers_no_fix(kaiko: Spec, query: str) -> None:
    ex = exchange(f"{TRADES}?{query}", headers=[("X-Api-Key", KEY)], status=400)
    invalid = next(
        c for c in find_spec_causes(ex, kaiko).causes if c.code == "openapi.param.invalid"
    )
    assert invalid.fix is None


def test_a_key_in_the_query_offers_to_move_it_to_the_documented_header(kaiko: Spec) -> None:
    ex = exchange(f"{TRADES}?api_key={KEY}", status=401, body={"result": "error"})
    cause = find_spec_causes(ex, kaiko).causes[0]
    assert cause.fix is not None
    assert cause.fix.kind == "move_key_to_header"
    assert cause.fix.changes == {"from_param": "api_key", "to_header": "X-Api-Key"}
    assert KEY not in json.dumps(cause.fix.changes) + cause.fix.summary


def test_a_key_in_authorization_offers_the_documented_header(kaiko: Spec) -> None:
    ex = exchange(TRADES, headers=[("Authorization", f"Bearer {KEY}")], status=401)
    cause = find_spec_causes(ex, kaiko).causes[0]
    assert cause.code == "openapi.auth.other_way"
    assert cause.fix is not None
    assert cause.fix.changes == {
        "from_header": "Authorization",
        "to_header": "X-Api-Key",
        "strip_scheme": "true",
    }
