"""Reading a vendor's error out of a body (apps.diagnosis.envelopes) and the idioms it leads
to: every shape of data/idioms.toml, bounded parsing (size, depth, XML without DTDs or
entities), and diagnoses of any bytes under any headers that never fail."""

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.diagnosis import lookups
from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.envelopes import (
    MAX_DEPTH,
    MAX_XML_BYTES,
    get_value,
    parse_json,
    parse_xml,
    read_error,
)
from apps.egress.types import Exchange, Response

SHAPES = lookups.catalog().idioms.envelopes


@pytest.mark.parametrize(
    ("body", "shape", "message", "code", "param"),
    [
        (
            {"type": "about:blank", "title": "Bad", "detail": "x must be > 0", "status": 400},
            "RFC 9457 problem details",
            "x must be > 0",
            "about:blank",
            None,
        ),
        (
            {"error": {"type": "card_error", "code": "card_declined", "message": "Declined"}},
            "Stripe-style error object",
            "Declined",
            "card_declined",
            None,
        ),
        (
            {"error": {"code": 403, "message": "No", "status": "PERMISSION_DENIED"}},
            "Google API error",
            "No",
            "PERMISSION_DENIED",
            None,
        ),
        (
            {"error": {"code": "AuthorizationFailed", "message": "No", "target": "scope"}},
            "Azure / Microsoft error",
            "No",
            "AuthorizationFailed",
            "scope",
        ),
        (
            {"error": "invalid_grant", "error_description": "expired"},
            "OAuth 2.0 error",
            "expired",
            "invalid_grant",
            None,
        ),
        (
            {"ok": False, "error": "invalid_auth"},
            "Slack-style ok:false",
            "invalid_auth",
            "invalid_auth",
            None,
        ),
        (
            {"success": False, "errors": [{"code": 10000, "message": "Authentication error"}]},
            "success:false envelope",
            "Authentication error",
            "10000",
            None,
        ),
        (
            {"errors": [{"message": "Boom", "extensions": {"code": "FORBIDDEN"}}], "data": None},
            "GraphQL errors",
            "Boom",
            "FORBIDDEN",
            None,
        ),
        (
            {
                "errors": [
                    {
                        "status": "422",
                        "title": "Invalid",
                        "source": {"pointer": "/data/attributes/name"},
                    }
                ]
            },
            "JSON:API errors",
            "Invalid",
            "Invalid",
            "/data/attributes/name",
        ),
        (
            {"__type": "x#ThrottlingException", "message": "Slow"},
            "AWS JSON error",
            "Slow",
            "x#ThrottlingException",
            None,
        ),
        (
            {
                "name": "UNPROCESSABLE_ENTITY",
                "debug_id": "d",
                "details": [{"field": "f", "issue": "I", "description": "D"}],
            },
            "PayPal-style error",
            "D",
            "I",
            "f",
        ),
        (
            {"errorCode": "E0000011", "errorSummary": "Invalid token provided"},
            "Okta-style error",
            "Invalid token provided",
            "E0000011",
            None,
        ),
        ({"errorMessages": ["Nope"], "errors": {}}, "Atlassian-style error", "Nope", None, None),
        (
            {"code": 20003, "message": "Authenticate", "more_info": "https://x"},
            "Twilio-style error",
            "Authenticate",
            "20003",
            None,
        ),
        (
            {"status": "error", "message": "Bad", "category": "VALIDATION_ERROR"},
            "status:error envelope",
            "Bad",
            "VALIDATION_ERROR",
            None,
        ),
        (
            {"status": "OVER_QUERY_LIMIT", "error_message": "Slow down"},
            "status code envelope",
            "Slow down",
            "OVER_QUERY_LIMIT",
            None,
        ),
        (
            {"errcode": 40001, "errmsg": "invalid credential"},
            "non-zero errcode envelope",
            "invalid credential",
            "40001",
            None,
        ),
        (
            {"jsonrpc": "2.0", "error": {"code": -32600, "message": "Invalid Request"}, "id": None},
            "JSON-RPC error",
            "Invalid Request",
            "-32600",
            None,
        ),
        (
            {"errors": [{"message": "m", "field": "from.email"}]},
            "errors list",
            "m",
            None,
            "from.email",
        ),
        (
            {"errors": {"title": ["can't be blank"]}},
            "errors by field",
            "can't be blank",
            None,
            "title",
        ),
        (
            {"error": "RecordNotFound", "description": "Not found"},
            "error member",
            "Not found",
            "RecordNotFound",
            None,
        ),
        ({"result": "error", "msg": "nope"}, "result:error envelope", "nope", None, None),
        ({"message": "Bad credentials"}, "JSON", "Bad credentials", None, None),
    ],
)
def test_it_reads_each_shape(
    body: dict[str, Any], shape: str, message: str, code: str | None, param: str | None
) -> None:
    report = read_error(body, SHAPES)
    assert report is not None
    assert (report.shape, report.message, report.code, report.param) == (
        shape,
        message,
        code,
        param,
    )


def test_it_reads_aws_xml_errors_of_each_protocol() -> None:
    s3 = b'<?xml version="1.0"?><Error><Code>NoSuchKey</Code><Message>Gone</Message></Error>'
    query = (
        b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender'
        b"</Type><Code>ExpiredToken</Code><Message>Expired</Message></Error></ErrorResponse>"
    )
    ec2 = (
        b"<Response><Errors><Error><Code>AuthFailure</Code><Message>No</Message></Error>"
        b"</Errors></Response>"
    )
    found = [read_error(parse_xml(body), SHAPES) for body in (s3, query, ec2)]
    assert [(r.code, r.message) for r in found if r] == [
        ("NoSuchKey", "Gone"),
        ("ExpiredToken", "Expired"),
        ("AuthFailure", "No"),
    ]


def test_it_reads_paths() -> None:
    data = {"a": [{"b": {"c": 1}}], "errors": {"name": ["bad"]}}
    assert get_value(data, "a[0].b.c") == 1
    assert get_value(data, "errors.*") == ["bad"]
    assert get_value(data, "errors.*key") == "name"
    assert get_value(data, "a[0].x.y") is None
    assert get_value([{"m": 2}], "[0].m") == 2


# ------------------------------------------------------------------------------ bounds


def test_it_refuses_xml_entities_and_dtds() -> None:
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
        b'<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">]>'
        b"<Error><Code>&lol2;</Code></Error>"
    )
    external = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b"<Error><Code>&e;</Code></Error>"
    )
    assert parse_xml(bomb) is None
    assert parse_xml(external) is None


def test_it_bounds_xml_size_and_depth() -> None:
    assert parse_xml(b"<a>" + b"x" * MAX_XML_BYTES + b"</a>") is None
    deep = b"<a>" * (MAX_DEPTH + 5) + b"x" + b"</a>" * (MAX_DEPTH + 5)
    assert parse_xml(deep) is None
    assert parse_xml(b"<Error><Code>A</Code></Error>") == {"Error": {"Code": "A"}}


def test_it_bounds_json_depth_without_recursing() -> None:
    deep = b"[" * 50_000 + b"]" * 50_000
    assert parse_json(deep, 10_000_000) is None
    nested = json.dumps(json.loads("[" * (MAX_DEPTH + 2) + "]" * (MAX_DEPTH + 2))).encode()
    assert parse_json(nested, 10_000_000) is None
    assert parse_json(b'{"a": [1]}', 100) == {"a": [1]}
    assert parse_json(b'{"a": [1]}', 5) is None


# ------------------------------------------------------------------ any input, no failure

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["error", "errors", "message", "code", "ok", "success", "status", "data", "type",
             "title", "detail", "__type", "name", "debug_id", "details", "errorCode",
             "errorSummary", "errorMessages", "errcode", "errmsg", "jsonrpc", "result",
             "error_description", "extensions", "source", "param", "field", "*"]
        )
        | st.text(max_size=8),
        children,
        max_size=5,
    ),
    max_leaves=20,
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(data=json_values)
def test_it_reads_any_json_without_failing(data: object) -> None:
    report = read_error(data, SHAPES)
    assert report is None or report.shape


@settings(max_examples=200, deadline=None)
@given(
    body=st.binary(max_size=400)
    | st.text(max_size=200).map(lambda t: f"<E><C>{t}</C></E>".encode())
)
def test_it_reads_any_xml_without_failing(body: bytes) -> None:
    tree = parse_xml(body)
    assert tree is None or isinstance(tree, dict)
    read_error(tree, SHAPES)


IDIOM_STATUSES = [200, 201, 301, 302, 307, 308, 400, 401, 402, 403, 404, 415, 420, 422, 429]
IDIOM_STATUSES += [451, 500, 502, 503, 521]
header_names = st.sampled_from(
    ["Content-Type", "WWW-Authenticate", "Location", "Server", "Retry-After", "cf-mitigated",
     "x-ratelimit-remaining", "RateLimit", "x-amzn-ErrorType", "x-ms-error-code", "CF-RAY",
     "Via", "Link", "Date"]
) | st.text(max_size=12)  # fmt: skip
header_values = st.sampled_from(
    ["application/json", "application/xml", "text/html", "text/plain", "application/problem+json",
     'Bearer error="invalid_token", error_description="expired"', "cloudflare", "envoy",
     "0", "60", "/login?next=/", "https://x.example/", "http://", "challenge", "a#b:c"]
) | st.text(max_size=40)  # fmt: skip
bodies = st.one_of(
    st.binary(max_size=500),
    json_values.map(lambda v: json.dumps(v).encode()),
    st.text(max_size=80).map(
        lambda t: f"<?xml version='1.0'?><Error><Code>{t}</Code></Error>".encode()
    ),
    st.text(max_size=60).map(lambda t: f"<html><title>{t}</title><h1>Sign in</h1></html>".encode()),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.sampled_from(IDIOM_STATUSES) | st.integers(min_value=100, max_value=599),
    headers=st.lists(st.tuples(header_names, header_values), max_size=8),
    body=bodies,
    url=st.sampled_from(
        ["https://api.github.com/x", "https://api.stripe.com/v1/x", "https://s3.amazonaws.com/b/k",
         "https://slack.com/api/chat.postMessage", "https://auth.example.com/oauth/token",
         "https://api.example.com/graphql", "http://api.example.com:443/x",
         "https://reference-api.kaiko.io/v1/x", "https://us.market-api.kaiko.io/v2/x", "nope"]
    ),
    request_headers=st.lists(
        st.tuples(st.sampled_from(["Authorization", "Accept", "X-Api-Key"]), st.text(max_size=30)),
        max_size=3,
    ),
    redirects=st.lists(st.tuples(st.integers(300, 399), st.text(max_size=40)), max_size=3),
)  # fmt: skip
def test_it_diagnoses_any_bytes_under_any_headers(
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    url: str,
    request_headers: list[tuple[str, str]],
    redirects: list[tuple[int, str]],
) -> None:
    exchange = Exchange(
        method="GET",
        url=url,
        request_headers=request_headers,
        response=Response(status=status, reason="", headers=headers, body=body, truncated=False),
        failure=None,
        elapsed_ms=5.0,
        redirects=redirects,
    )
    diagnosis = diagnose(exchange, lookups.profile_for_url(url))
    assert diagnosis.code != "diagnosis.unavailable"
    json.dumps(diagnosis.to_dict())
