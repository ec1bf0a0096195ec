"""The mechanical fix of a cause (apps.diagnosis.fixes): what to change in the request,
never a secret, and whether it would send the request to another host."""

import json
from typing import Any

import pytest

from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.lookups import get_profile
from apps.diagnosis.results import Diagnosis, Fix
from apps.egress.types import Exchange, Failure, FailureKind, Response

KAIKO = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd"
KEY = "kaiko-key-EXAMPLE-5f0c2b7e9d"


def kaiko(
    status: int,
    path: str = "/trades",
    *,
    query: str = "",
    body: dict[str, Any] | None = None,
    headers: list[tuple[str, str]] | None = None,
    request_headers: list[tuple[str, str]] | None = None,
    method: str = "GET",
) -> Diagnosis:
    url = KAIKO + path + (f"?{query}" if query else "")
    payload = json.dumps(body or {"result": "error", "message": "Bad Request"}).encode()
    response = Response(
        status=status,
        reason="",
        headers=[("Content-Type", "application/json"), *(headers or [])],
        body=payload,
        truncated=False,
    )
    sent = request_headers if request_headers is not None else [("X-Api-Key", KEY)]
    exchange = Exchange(method, url, sent, response, None, 10.0)
    return diagnose(exchange, get_profile("kaiko"))


def fix_of(diagnosis: Diagnosis) -> Fix | None:
    return diagnosis.top_cause.fix if diagnosis.top_cause else None


@pytest.mark.parametrize(
    ("diagnosis", "kind", "changes"),
    [
        (
            lambda: kaiko(401, query=f"api_key={KEY}", request_headers=[]),
            "move_key_to_header",
            {"from_param": "api_key", "to_header": "X-Api-Key"},
        ),
        (
            lambda: kaiko(401, request_headers=[("Authorization", f"Bearer {KEY}")]),
            "move_key_to_header",
            {"from_header": "Authorization", "to_header": "X-Api-Key", "strip_scheme": "true"},
        ),
        (
            lambda: kaiko(406, request_headers=[("X-Api-Key", KEY), ("Accept", "text/csv")]),
            "set_header",
            {"header": "Accept", "value": "application/json"},
        ),
        (lambda: kaiko(405, method="POST"), "use_method", {"method": "GET"}),
        (
            lambda: kaiko(400, "/aggregations/ohlcv", query="interval=2d"),
            "set_param",
            {"param": "interval", "value": "1d"},
        ),
        (
            lambda: kaiko(400, "/aggregations/ohlcv", query="page_size=200000"),
            "set_param",
            {"param": "page_size", "value": "100000"},
        ),
        (lambda: kaiko(400, query="sort=DESC"), "set_param", {"param": "sort", "value": "desc"}),
        (
            lambda: kaiko(400, query="start_time=2024-01-01T00:00:00 01:00"),
            "set_param",
            {"param": "start_time", "value": "2024-01-01T00:00:00+01:00"},
        ),
        (
            lambda: kaiko(400, query="continuation_token=abc&page_size=10"),
            "remove_param",
            {"param": "page_size"},
        ),
        (
            lambda: kaiko(
                403,
                query="start_time=2019-06-01T00:00:00Z&end_time=2020-06-01T00:00:00Z",
                body={
                    "result": "error",
                    "message": "Forbidden",
                    "access": {"access_range": {"start_timestamp": 1577836800000}},
                },
            ),
            "clip_time_range",
            {"start_param": "start_time", "start": "2020-01-01T00:00:00Z"},
        ),
    ],
)
def test_it_describes_the_mechanical_fix(diagnosis: Any, kind: str, changes: dict) -> None:
    fix = fix_of(diagnosis())
    assert fix is not None
    assert (fix.kind, fix.changes, fix.same_host) == (kind, changes, True)
    assert fix.summary
    assert KEY not in json.dumps(fix.changes) + fix.summary


def test_it_offers_no_fix_when_nothing_of_the_range_is_inside() -> None:
    diagnosis = kaiko(
        403,
        query="start_time=2015-01-01T00:00:00Z&end_time=2015-02-01T00:00:00Z",
        body={
            "result": "error",
            "message": "Forbidden",
            "access": {"data_range": {"start_timestamp": 1577836800000}},
        },
    )
    assert diagnosis.code == "kaiko.403.outside_access_range"
    assert fix_of(diagnosis) is None


def test_it_offers_no_fix_for_what_is_not_mechanical() -> None:
    assert fix_of(kaiko(404, "/nope")) is None
    assert fix_of(kaiko(500)) is None


def generic(url: str, status: int, headers: list[tuple[str, str]]) -> Diagnosis:
    response = Response(status=status, reason="", headers=headers, body=b"", truncated=False)
    sent = [("Authorization", "Bearer secret-token-0123456789")]
    return diagnose(Exchange("GET", url, sent, response, None, 5.0), get_profile("http"))


def test_it_keeps_the_query_string_out_of_a_new_url() -> None:
    fix = fix_of(
        generic(
            "http://api.example.com/v1/items?api_key=secret-0123456789",
            308,
            [("Location", "https://api.example.com/v1/items?api_key=secret-0123456789")],
        )
    )
    assert fix is not None
    assert (fix.kind, fix.changes, fix.same_host) == (
        "use_url",
        {"url": "https://api.example.com/v1/items"},
        True,
    )


def test_it_says_when_a_fix_would_send_the_request_to_another_host() -> None:
    fix = fix_of(
        generic("https://api.example.com/v1/x", 301, [("Location", "https://evil.example/v1/x")])
    )
    assert fix is not None
    assert fix.same_host is False
    assert "evil.example" in fix.summary


def test_it_treats_a_move_from_https_to_plain_http_like_another_host() -> None:
    fix = fix_of(
        generic("https://api.example.com/v1/x", 301, [("Location", "http://api.example.com/v2/x")])
    )
    assert fix is not None and fix.changes == {"url": "http://api.example.com/v2/x"}
    assert fix.same_host is False
    assert "over plain http" in fix.summary
    upgrade = fix_of(
        generic("http://api.example.com/v1/x", 301, [("Location", "https://api.example.com/v2/x")])
    )
    assert upgrade is not None and upgrade.same_host is True


def test_it_points_plain_http_on_a_tls_port_at_https() -> None:
    failure = Failure(FailureKind.CONNECTION_RESET, "reset", "")
    exchange = Exchange("GET", "http://api.example.com:443/x", [], None, failure, 5.0)
    fix = fix_of(diagnose(exchange, get_profile("http")))
    assert fix is not None
    assert fix.changes == {"url": "https://api.example.com:443/x"}


def test_it_moves_a_stale_host_to_the_current_one_and_says_so() -> None:
    failure = Failure(FailureKind.DNS, "no such host", "no_such_host")
    exchange = Exchange(
        "GET", "https://reference-api.kaiko.io/v1/instruments", [], None, failure, 5.0
    )
    diagnosis = diagnose(exchange, get_profile("kaiko"))
    fix = fix_of(diagnosis)
    assert diagnosis.code == "kaiko.any.stale_host"
    assert fix is not None
    assert fix.changes == {"url": "https://reference-data-api.kaiko.io/v1/instruments"}
    assert fix.same_host is False


def test_it_round_trips_through_the_stored_dict() -> None:
    diagnosis = kaiko(401, query=f"api_key={KEY}", request_headers=[])
    stored = json.loads(json.dumps(diagnosis.to_dict()))
    assert Diagnosis.from_dict(stored) == diagnosis
    assert stored["causes"][0]["fix"]["kind"] == "move_key_to_header"
    old = {**stored, "causes": [{**stored["causes"][0], "fix": {"kind": "teleport"}}]}
    assert Diagnosis.from_dict(old).causes[0].fix is None
