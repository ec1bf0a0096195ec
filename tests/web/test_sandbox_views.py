"""The sandbox upstream through Django's test client: every status code of Kaiko's table,
with Kaiko's envelope and headers, and the order in which the checks apply."""

import base64
import gzip
import json
from collections.abc import Iterator
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import pytest
from django.conf import settings as django_settings
from django.core.cache import cache
from django.http import StreamingHttpResponse
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.accounts.models import Membership, Team
from apps.sandbox import oversize, state, views
from apps.sandbox.keys import BURST_KEY, DEMO_KEY, LIMITED_KEY, NOPERM_KEY
from tests.support.clients import streamed_body

BASE = "/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot"
OHLCV = f"{BASE}/btc-usd/aggregations/ohlcv"
VWAP = f"{BASE}/btc-usd/aggregations/count_ohlcv_vwap"
TRADES = f"{BASE}/btc-usd/trades"
ETH_OHLCV = f"{BASE}/eth-usd/aggregations/ohlcv"
DAY = {"start_time": "2024-01-01T00:00:00Z", "end_time": "2024-01-02T00:00:00Z"}
FORBIDDEN = "Forbidden -- You don't have access to the requested resource."
NO_PERMISSION = "not authorized: user has no permission over these instruments"
MAINTENANCE = "Service Unavailable -- We're temporarily offline for maintenance."
FAULT = "Internal Server Error -- We had a problem with our service. Try again later."
SCENARIO = "X-Sandbox-Scenario"
RATE_HEADERS = ("RateLimit-Policy", "RateLimit")
LEGACY_HEADERS = ("X-RateLimit-Limit", "X-RateLimit-Remaining", "X-RateLimit-Reset")


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    """Rate-limit counters and the maintenance switch live in the cache."""
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def api() -> Client:
    # CSRF checks on, as for a real client: the API views must not need a token.
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def frozen_now(monkeypatch: pytest.MonkeyPatch) -> datetime:
    moment = datetime(2025, 6, 1, 12, 0, 3, tzinfo=UTC)
    monkeypatch.setattr(views, "utc_now", lambda: moment)
    return moment


def call(
    client: Client,
    path: str,
    *,
    key: str | None = DEMO_KEY,
    method: str = "get",
    data: Any = None,  # Any: mypy checks a **{"Header": "value"} argument against it too
    **headers: str,
) -> Any:
    if key is not None:
        headers["X-Api-Key"] = key
    return getattr(client, method)(path, data=data, headers=headers)


def assert_error(response: Any, status: int, message: str | None = None) -> dict[str, Any]:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert set(body) == {"result", "message"}
    assert body["result"] == "error"
    if message is not None:
        assert body["message"] == message
    return body


# --- 200 ----------------------------------------------------------------------------------


def test_it_answers_ohlcv_in_kaikos_envelope(api: Client, frozen_now: datetime) -> None:
    response = call(api, OHLCV, data={"interval": "1h", "page_size": "5", **DAY}, Accept="*/*")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["result"] == "success"
    assert body["time"] == "2025-06-01T12:00:03.000Z"
    assert body["timestamp"] == 1748779203000
    assert body["query"]["interval"] == "1h"
    assert body["query"]["page_size"] == 5
    assert body["query"]["data_version"] == "v1"
    assert body["query"]["commodity"] == "trades"
    assert body["query"]["request_time"] == "2025-06-01T12:00:03.000Z"
    assert body["access"] == {
        "access_range": {"start_timestamp": None, "end_timestamp": None},
        "data_range": {"start_timestamp": None, "end_timestamp": None},
    }
    assert len(body["data"]) == 5
    assert body["data"][0]["timestamp"] == 1704150000000  # 2024-01-01T23:00Z, newest first
    assert set(body["data"][0]) == {"timestamp", "open", "high", "low", "close", "volume"}
    assert body["next_url"] == (
        f"http://testserver{OHLCV}?continuation_token={body['continuation_token']}"
    )


def test_it_follows_next_url_to_the_end(api: Client) -> None:
    first = f"{OHLCV}?interval=1h&page_size=10&sort=asc&start_time={DAY['start_time']}"
    url: str | None = first + f"&end_time={DAY['end_time']}"
    stamps: list[int] = []
    while url:
        body = call(api, url).json()
        stamps += [bucket["timestamp"] for bucket in body["data"]]
        url = body.get("next_url")
    assert len(stamps) == 24
    assert stamps == sorted(set(stamps))


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        (TRADES, {"timestamp", "trade_id", "price", "amount", "taker_side_sell"}),
        (VWAP, {"timestamp", "count", "open", "high", "low", "close", "volume", "price"}),
        (
            "/sandbox/eu/v3/data/trades.v1/exchanges/krkn/spot/eth-usd/trades",
            {"timestamp", "trade_id", "price", "amount", "taker_side_sell"},
        ),
        (
            "/sandbox/eu/v2/data/trades.v1/exchanges/bnce/spot/sol-usdt/aggregations/ohlcv",
            {"timestamp", "open", "high", "low", "close", "volume"},
        ),
    ],
)
def test_it_answers_every_market_endpoint(api: Client, path: str, fields: set[str]) -> None:
    response = call(api, path, data={"page_size": "3"}, Accept="application/json")
    assert response.status_code == 200
    body = response.json()
    assert len(body["data"]) == 3
    assert set(body["data"][0]) == fields
    assert "continuation_token" in body


def test_it_answers_head(api: Client) -> None:
    assert call(api, OHLCV, method="head").status_code == 200


def test_it_limits_the_limited_keys_access_range(api: Client) -> None:
    response = call(api, OHLCV, key=LIMITED_KEY, data={"sort": "asc", "page_size": "2"})
    assert response.status_code == 200
    body = response.json()
    assert body["access"]["access_range"]["start_timestamp"] == 1704067200000
    assert body["data"][0]["timestamp"] == 1704067200000


@pytest.mark.parametrize("resource", ["instruments", "exchanges", "assets"])
def test_it_serves_reference_data_without_a_key(api: Client, resource: str) -> None:
    response = call(api, f"/sandbox/reference/v1/{resource}", key=None)
    assert response.status_code == 200
    body = response.json()
    assert body["result"] == "success"
    assert body["data"]


# --- 400 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"interval": "2d"}, "interval"),
        ({"interval": "25h"}, "interval"),
        ({"interval": "fast"}, "interval"),
        ({"page_size": "0"}, "page_size"),
        ({"page_size": "100001"}, "page_size"),
        ({"page_size": "ten"}, "page_size"),
        ({"sort": "random"}, "sort"),
        ({"start_time": "yesterday"}, "start_time"),
        ({"end_time": "2024-02-30T00:00:00Z"}, "end_time"),
        ({"start_time": "2024-02-01T00:00:00Z", "end_time": "2024-01-01T00:00:00Z"}, "start_time"),
        ({"continuation_token": "not-a-token"}, "continuation_token"),
    ],
)
def test_it_answers_400_naming_the_parameter(
    api: Client, params: dict[str, str], name: str
) -> None:
    body = assert_error(call(api, OHLCV, data=params), 400)
    assert body["message"].startswith("Bad Request")
    assert f"'{name}'" in body["message"]


def test_it_explains_an_unencoded_plus_in_a_time(api: Client) -> None:
    body = assert_error(call(api, f"{OHLCV}?start_time=2024-01-01T00:00:00+02:00"), 400)
    assert "%2B" in body["message"]


def test_it_answers_400_for_a_malformed_scenario(api: Client) -> None:
    body = assert_error(call(api, OHLCV, **{"X-Sandbox-Scenario": "explode"}), 400)
    assert "'X-Sandbox-Scenario'" in body["message"]


# --- 401 and 403 --------------------------------------------------------------------------


def test_it_answers_401_without_a_key(api: Client) -> None:
    body = assert_error(call(api, OHLCV, key=None), 401)
    assert "API key is missing" in body["message"]


def test_it_answers_401_for_an_unknown_key(api: Client) -> None:
    body = assert_error(call(api, OHLCV, key="not-a-real-key"), 401)
    assert "API key is invalid" in body["message"]


def test_it_answers_401_for_a_key_without_instruments(api: Client) -> None:
    assert_error(call(api, OHLCV, key=NOPERM_KEY), 401, NO_PERMISSION)


def test_it_answers_403_outside_the_subscription(api: Client) -> None:
    assert_error(call(api, ETH_OHLCV, key=LIMITED_KEY), 403, FORBIDDEN)


LIMITED_ACCESS = {"start_timestamp": 1704067200000, "end_timestamp": None}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"start_time": "2023-06-01T00:00:00Z"}, "start_time 2023-06-01T00:00:00.000Z is before"),
        (
            {"start_time": "2023-12-31T23:00:00Z", "end_time": "2024-02-01T00:00:00Z"},
            "start_time 2023-12-31T23:00:00.000Z is before",
        ),
        ({"end_time": "2023-06-01T00:00:00Z"}, "end_time 2023-06-01T00:00:00.000Z is not after"),
    ],
)
@pytest.mark.parametrize("path", [OHLCV, TRADES, VWAP])
def test_it_answers_403_outside_the_access_range(
    api: Client, path: str, params: dict[str, str], words: str
) -> None:
    response = call(api, path, key=LIMITED_KEY, data=params)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body == {
        "result": "error",
        "message": (
            "Forbidden -- The requested time range is outside the access range of your "
            f"API key: {words} 2024-01-01T00:00:00.000Z, the start of your access range."
        ),
        "access": {"access_range": LIMITED_ACCESS, "data_range": LIMITED_ACCESS},
    }
    assert "RateLimit" not in response


def test_it_answers_inside_the_access_range(api: Client) -> None:
    params = {"start_time": "2024-01-01T00:00:00Z", "sort": "asc", "page_size": "1"}
    response = call(api, OHLCV, key=LIMITED_KEY, data=params)
    assert response.status_code == 200
    assert response.json()["access"]["data_range"] == LIMITED_ACCESS
    # The demo key has no access range.
    assert call(api, OHLCV, data={"start_time": "2016-01-01T00:00:00Z"}).status_code == 200


def test_it_checks_parameters_before_the_access_range_and_counts_neither(
    api: Client, frozen_now: datetime
) -> None:
    bad = call(api, OHLCV, key=LIMITED_KEY, data={"start_time": "2023-13-01"})
    assert_error(bad, 400)
    outside = call(api, OHLCV, key=LIMITED_KEY, data={"start_time": "2023-01-01T00:00:00Z"})
    assert outside.status_code == 403
    # Neither counted against the key's limit: this is the window's first request.
    assert call(api, OHLCV, key=LIMITED_KEY)["RateLimit"] == '"default";r=119;t=57'


# --- 404 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "words"),
    [
        ("/sandbox/us/v2/data/trades.v1/exchanges/nope/spot/btc-usd/trades", "exchange 'nope'"),
        ("/sandbox/us/v2/data/trades.v1/exchanges/cbse/option/btc-usd/trades", "class 'option'"),
        (f"{BASE}/doge-usd/trades", "instrument 'doge-usd'"),
        (f"{BASE}/btc-usd/aggregations/vwap", None),
        (f"{BASE}/btc-usd/trades/", None),
        ("/sandbox/us/v9/data", None),
        ("/sandbox/us/", None),
        ("/sandbox/asia/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades", None),
        ("/sandbox/reference/v1/pools", None),
        ("/sandbox/anything/else", None),
    ],
)
def test_it_answers_404_in_json(api: Client, path: str, words: str | None) -> None:
    body = assert_error(call(api, path), 404)
    assert body["message"].startswith("Not Found")
    if words:
        assert words in body["message"]


# --- 405 and 406 --------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["post", "put", "patch", "delete", "options"])
def test_it_answers_405_with_allow(api: Client, method: str) -> None:
    response = call(api, OHLCV, method=method)
    assert_error(response, 405, "Method Not Allowed")
    assert response["Allow"] == "GET, HEAD"


def test_it_answers_405_on_reference_data(api: Client) -> None:
    response = call(api, "/sandbox/reference/v1/assets", key=None, method="post")
    assert_error(response, 405)
    assert response["Allow"] == "GET, HEAD"


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "application/json;q=0"])
def test_it_answers_406_when_json_is_not_acceptable(api: Client, accept: str) -> None:
    body = assert_error(call(api, OHLCV, Accept=accept), 406)
    assert body["message"].startswith("Not Acceptable")


# --- 429 ----------------------------------------------------------------------------------


def test_it_rate_limits_the_burst_key(api: Client, frozen_now: datetime) -> None:
    assert call(api, OHLCV, key=BURST_KEY).status_code == 200
    assert call(api, OHLCV, key=BURST_KEY).status_code == 200
    response = call(api, OHLCV, key=BURST_KEY)
    assert_error(response, 429, "Rate limit reached")
    # 12:00:03 in a 10-second window that resets at 12:00:10.
    assert response["Retry-After"] == "7"
    # Other keys have their own counters.
    assert call(api, OHLCV, key=DEMO_KEY).status_code == 200


def test_it_sends_rate_limit_headers_with_200s_and_429s(api: Client, frozen_now: datetime) -> None:
    first, second, third = (call(api, OHLCV, key=BURST_KEY) for _ in range(3))
    for response in (first, second, third):
        assert response["RateLimit-Policy"] == '"default";q=2;w=10'
    # 12:00:03 in a 10-second window: 7 seconds to go.
    assert first["RateLimit"] == '"default";r=1;t=7'
    assert second["RateLimit"] == '"default";r=0;t=7'
    assert third.status_code == 429
    assert third["RateLimit"] == '"default";r=0;t=7'
    assert third["Retry-After"] == "7"
    head = call(api, TRADES, method="head")
    assert head["RateLimit-Policy"] == '"default";q=120;w=60'
    assert head["RateLimit"] == '"default";r=119;t=57'


@pytest.mark.parametrize(
    ("key", "status"),
    [(None, 401), ("not-a-real-key", 401), (LIMITED_KEY, 403), (DEMO_KEY, 404)],
)
def test_it_sends_no_rate_limit_headers_with_other_errors(
    api: Client, key: str | None, status: int
) -> None:
    path = ETH_OHLCV if key == LIMITED_KEY else f"{BASE}/doge-usd/trades"
    response = call(api, path, key=key)
    assert response.status_code == status
    for name in RATE_HEADERS + LEGACY_HEADERS + ("Retry-After",):
        assert name not in response


def test_it_sends_no_rate_limit_headers_from_reference_data(api: Client) -> None:
    response = call(api, "/sandbox/reference/v1/assets")
    assert response.status_code == 200
    assert "RateLimit" not in response


def test_it_opens_a_new_window(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    now = [datetime(2025, 6, 1, 12, 0, 8, tzinfo=UTC)]
    monkeypatch.setattr(views, "utc_now", lambda: now[0])
    for _ in range(2):
        call(api, OHLCV, key=BURST_KEY)
    assert call(api, OHLCV, key=BURST_KEY)["Retry-After"] == "2"
    now[0] = datetime(2025, 6, 1, 12, 0, 10, tzinfo=UTC)
    assert call(api, OHLCV, key=BURST_KEY).status_code == 200


def test_it_rate_limits_the_demo_key_at_120_a_minute(api: Client, frozen_now: datetime) -> None:
    statuses = [call(api, OHLCV, data={"page_size": "1"}).status_code for _ in range(121)]
    assert statuses[:120] == [200] * 120
    assert statuses[120] == 429


def test_it_counts_only_requests_that_pass_the_checks(api: Client, frozen_now: datetime) -> None:
    for _ in range(3):
        assert call(api, OHLCV, key=BURST_KEY, data={"interval": "2d"}).status_code == 400
    assert call(api, OHLCV, key=BURST_KEY).status_code == 200


def test_it_answers_429_on_request(api: Client) -> None:
    response = call(api, OHLCV, **{"X-Sandbox-Scenario": "ratelimit"})
    assert_error(response, 429, "Rate limit reached")
    assert response["Retry-After"] == "30"
    assert response["RateLimit-Policy"] == '"default";q=120;w=60'
    assert response["RateLimit"] == '"default";r=0;t=30'
    response = call(api, OHLCV, key=None, **{"X-Sandbox-Scenario": "ratelimit=4"})
    assert response["Retry-After"] == "4"
    # No known key, no quota to tell.
    assert "RateLimit" not in response


@pytest.mark.parametrize("key", [DEMO_KEY, None])
def test_it_answers_429_with_an_http_date(
    api: Client, frozen_now: datetime, key: str | None
) -> None:
    response = call(api, OHLCV, key=key, **{SCENARIO: "ratelimit=date"})
    assert_error(response, 429, "Rate limit reached")
    assert response["Retry-After"] == "Sun, 01 Jun 2025 12:00:33 GMT"
    assert (parsedate_to_datetime(response["Retry-After"]) - frozen_now).total_seconds() == 30
    assert ("RateLimit" in response) is (key is not None)
    assert not any(name in response for name in LEGACY_HEADERS)


@pytest.mark.parametrize(("key", "limit"), [(BURST_KEY, "2"), (None, "120")])
def test_it_answers_429_with_legacy_headers_only(
    api: Client, frozen_now: datetime, key: str | None, limit: str
) -> None:
    response = call(api, OHLCV, key=key, **{SCENARIO: "ratelimit=legacy"})
    assert_error(response, 429, "Rate limit reached")
    assert response["X-RateLimit-Limit"] == limit
    assert response["X-RateLimit-Remaining"] == "0"
    assert response["X-RateLimit-Reset"] == str(int(frozen_now.timestamp()) + 30)
    for name in ("Retry-After", *RATE_HEADERS):
        assert name not in response


# --- 500 and 503 --------------------------------------------------------------------------


def test_it_answers_500_on_request(api: Client) -> None:
    assert_error(call(api, OHLCV, **{"X-Sandbox-Scenario": "fault"}), 500, FAULT)


def test_it_answers_503_on_request(api: Client) -> None:
    response = call(api, OHLCV, **{"X-Sandbox-Scenario": "maintenance"})
    assert_error(response, 503, MAINTENANCE)
    assert response["Retry-After"] == "120"


def test_it_answers_503_while_the_maintenance_switch_is_on(api: Client) -> None:
    state.set_maintenance(on=True, now=datetime(2025, 1, 1, tzinfo=UTC))
    for path in (OHLCV, TRADES, VWAP, "/sandbox/eu/v2/whatever"):
        response = call(api, path)
        assert_error(response, 503, MAINTENANCE)
        assert response["Retry-After"] == "120"
    # The reference-data host is another service: it stays up.
    assert call(api, "/sandbox/reference/v1/assets", key=None).status_code == 200
    state.set_maintenance(on=False, now=datetime(2025, 1, 1, tzinfo=UTC))
    assert call(api, OHLCV).status_code == 200


# --- bodies that are not Kaiko's JSON -----------------------------------------------------


@pytest.mark.parametrize(
    ("scenario", "status", "title"),
    [("gateway", 502, "502 Bad Gateway"), ("gateway-timeout", 504, "504 Gateway Timeout")],
)
@pytest.mark.parametrize(
    ("method", "path", "key"),
    [
        ("get", OHLCV, DEMO_KEY),
        # In front of the API: no route, method or key is looked at.
        ("post", "/sandbox/us/nowhere", None),
        ("get", "/sandbox/reference/v1/assets", None),
    ],
)
def test_it_answers_gateway_errors_in_html(
    api: Client, scenario: str, status: int, title: str, method: str, path: str, key: str | None
) -> None:
    response = call(api, path, key=key, method=method, **{SCENARIO: scenario})
    assert response.status_code == status
    assert response["Content-Type"] == "text/html"
    page = response.content.decode()
    assert page.startswith(f"<html><head><title>{title}</title></head><body><h1>{title}</h1>")
    assert "Retry-After" not in response


def test_it_answers_a_problem_document(api: Client) -> None:
    response = call(api, OHLCV, key=None, **{SCENARIO: "problem"})
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    problem = json.loads(response.content)
    assert set(problem) == {"type", "title", "status", "detail", "instance"}
    assert problem["type"] == "http://testserver/sandbox/#problem"
    assert problem["status"] == 400
    assert problem["instance"] == OHLCV
    # The type URI leads to where the page documents it.
    assert '<tr id="problem">' in Client().get("/sandbox/").content.decode()


def test_it_answers_plain_text(api: Client) -> None:
    response = call(api, "/sandbox/reference/v1/assets", **{SCENARIO: "plain"})
    assert response.status_code == 500
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert response.content.decode().startswith("500 Internal Server Error")


@pytest.mark.parametrize("scenario", ["problem", "plain"])
def test_it_checks_the_protocol_before_the_apis_own_outcomes(api: Client, scenario: str) -> None:
    assert_error(call(api, OHLCV, method="post", **{SCENARIO: scenario}), 405)
    assert_error(call(api, f"{BASE}/btc-usd/nowhere", **{SCENARIO: scenario}), 404)


# --- fail first, then succeed -------------------------------------------------------------


def test_it_answers_429_then_200(api: Client, frozen_now: datetime) -> None:
    first = call(api, OHLCV, **{SCENARIO: "fail-first=1:429"})
    assert_error(first, 429, "Rate limit reached")
    assert first["Retry-After"] == "1"
    assert first["RateLimit"] == '"default";r=0;t=1'
    second = call(api, OHLCV, **{SCENARIO: "fail-first=1:429"})
    assert second.status_code == 200
    assert second.json()["result"] == "success"
    assert call(api, OHLCV, **{SCENARIO: "fail-first=1:429"}).status_code == 200


@pytest.mark.parametrize(
    ("status", "content_type", "retry_after"),
    [
        (429, "application/json", "1"),
        (500, "application/json", None),
        (502, "text/html", None),
        (503, "application/json", "1"),
        (504, "text/html", None),
    ],
)
def test_it_fails_n_times_with_each_status(
    api: Client, status: int, content_type: str, retry_after: str | None
) -> None:
    scenario = {SCENARIO: f"fail-first=3:{status}"}
    for _ in range(3):
        response = call(api, TRADES, data={"page_size": "1"}, **scenario)
        assert response.status_code == status
        assert response["Content-Type"] == content_type
        assert response.get("Retry-After") == retry_after
    assert call(api, TRADES, data={"page_size": "1"}, **scenario).status_code == 200


def test_it_starts_a_new_sequence_for_a_new_value(api: Client) -> None:
    assert call(api, OHLCV, **{SCENARIO: "fail-first=1:503"}).status_code == 503
    assert call(api, OHLCV, **{SCENARIO: "fail-first=1:503"}).status_code == 200
    # Another id, another N, another spelling, another key, another path: a new sequence.
    for key, path, value, failures in [
        (DEMO_KEY, OHLCV, "fail-first=1:503;id=abc", 1),
        (DEMO_KEY, OHLCV, "fail-first=2:503", 2),
        (DEMO_KEY, OHLCV, "fail-first=1:503, slow=0", 1),
        (BURST_KEY, OHLCV, "fail-first=1:503", 1),
        (DEMO_KEY, TRADES, "fail-first=1:503", 1),
    ]:
        statuses = [call(api, path, key=key, **{SCENARIO: value}).status_code for _ in range(3)]
        assert statuses == [503] * failures + [200] * (3 - failures), value
    # The query string is not part of the sequence: this one is over.
    response = call(api, OHLCV, data={"page_size": "2"}, **{SCENARIO: "fail-first=1:503"})
    assert response.status_code == 200


def test_it_fails_first_in_front_of_everything(api: Client) -> None:
    """Without a key, or with POST, the failures come first, then the normal answer."""
    scenario = {SCENARIO: "fail-first=2:502;id=no-key"}
    for _ in range(2):
        assert call(api, OHLCV, key=None, **scenario).status_code == 502
    assert_error(call(api, OHLCV, key=None, **scenario), 401)
    scenario = {SCENARIO: "fail-first=1:503;id=post"}
    assert_error(call(api, OHLCV, method="post", **scenario), 503, MAINTENANCE)
    assert_error(call(api, OHLCV, method="post", **scenario), 405)


def test_it_fails_first_on_reference_data(api: Client) -> None:
    scenario = {SCENARIO: "fail-first=1:500"}
    assert_error(call(api, "/sandbox/reference/v1/assets", key=None, **scenario), 500, FAULT)
    assert call(api, "/sandbox/reference/v1/assets", key=None, **scenario).status_code == 200


class RecordingCache:
    """Django's cache, with the timeouts that add() was given written down."""

    def __init__(self, real: Any) -> None:
        self.real = real
        self.timeouts: dict[str, int] = {}

    def add(self, key: str, value: Any, timeout: int) -> bool:
        self.timeouts[key] = timeout
        return self.real.add(key, value, timeout=timeout)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.real, name)


def test_it_forgets_a_sequence_after_five_minutes(
    api: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    recording = RecordingCache(cache)
    monkeypatch.setattr(state, "cache", recording)
    call(api, OHLCV, key=None, **{SCENARIO: "fail-first=1:429"})
    timeouts = {k: v for k, v in recording.timeouts.items() if k.startswith("sandbox:fail-first")}
    assert list(timeouts.values()) == [300]
    # The key is not in the cache key in clear.
    assert all(DEMO_KEY not in k for k in timeouts)


def test_it_answers_a_refused_fail_first_value_with_400(api: Client) -> None:
    body = assert_error(call(api, OHLCV, **{SCENARIO: "fail-first=1:404"}), 400)
    assert "'X-Sandbox-Scenario'" in body["message"]
    assert "fail-first" in body["message"]


# --- drip ---------------------------------------------------------------------------------


def test_it_drips_a_200_body(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(views, "sleep", slept.append)
    response = call(api, OHLCV, data={"page_size": "3"}, **{SCENARIO: "drip=3"})
    assert response.status_code == 200
    assert response.streaming
    assert slept == []  # nothing waits before the first piece
    chunks = list(response.streaming_content)
    assert len(chunks) == 4
    assert slept == [1, 1, 1]
    body = b"".join(chunks)
    assert int(response["Content-Length"]) == len(body)
    assert response["Content-Type"] == "application/json"
    assert response["RateLimit-Policy"] == '"default";q=120;w=60'
    assert len(json.loads(body)["data"]) == 3


def test_it_drips_reference_data(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(views, "sleep", lambda _seconds: None)
    response = call(api, "/sandbox/reference/v1/assets", key=None, **{SCENARIO: "drip=2"})
    assert json.loads(b"".join(response.streaming_content))["result"] == "success"


@pytest.mark.parametrize(
    ("method", "scenario", "status"),
    [("head", "drip=5", 200), ("get", "drip=5, fault", 500), ("get", "drip=5, gateway", 502)],
)
def test_it_drips_only_200_bodies(
    api: Client, monkeypatch: pytest.MonkeyPatch, method: str, scenario: str, status: int
) -> None:
    monkeypatch.setattr(views, "sleep", lambda _seconds: pytest.fail("dripped"))
    response = call(api, OHLCV, method=method, **{SCENARIO: scenario})
    assert response.status_code == status
    assert not response.streaming


def test_it_really_drips(api: Client) -> None:
    started = datetime.now(tz=UTC)
    response = call(api, OHLCV, data={"page_size": "1"}, **{SCENARIO: "drip=1"})
    assert (datetime.now(tz=UTC) - started).total_seconds() < 1
    b"".join(response.streaming_content)
    assert (datetime.now(tz=UTC) - started).total_seconds() >= 1


# --- echo ---------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["get", "post", "put", "patch", "delete", "options"])
def test_it_echoes_any_method(api: Client, method: str) -> None:
    response = api.generic(
        method.upper(),
        "/sandbox/echo?api_key=q-secret&page=1&page=2",
        data=b'{"password": "b-secret"}',
        content_type="application/json",
        headers={"X-Api-Key": "h-secret", "Authorization": "Bearer t-secret"},
    )
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Cache-Control"] == "no-store"
    echoed = response.json()
    assert echoed["method"] == method.upper()
    assert echoed["path"] == "/sandbox/echo"
    assert echoed["query_string"] == "api_key=q-secret&page=1&page=2"
    assert echoed["query"] == {"api_key": ["q-secret"], "page": ["1", "2"]}
    assert echoed["headers"]["X-Api-Key"] == "h-secret"
    assert echoed["headers"]["Authorization"] == "Bearer t-secret"
    assert echoed["headers"]["Content-Type"] == "application/json"
    assert echoed["api_key_b64"] == base64.b64encode(b"h-secret").decode()
    assert echoed["body"] == '{"password": "b-secret"}'
    assert echoed["body_truncated"] is False


def test_it_echoes_head_and_a_request_without_key(api: Client) -> None:
    assert api.head("/sandbox/echo").status_code == 200
    echoed = api.get("/sandbox/echo").json()
    assert echoed["api_key_b64"] is None
    assert echoed["query"] == {}
    assert echoed["body"] == ""


def test_it_echoes_the_first_64_kib_of_a_big_body(api: Client) -> None:
    body = "é" * 2_000_000  # 4 MB, over Django's 2.5 MB in-memory limit
    response = api.post("/sandbox/echo", data=body.encode(), content_type="text/plain")
    assert response.status_code == 200
    echoed = response.json()
    assert echoed["body_truncated"] is True
    assert echoed["body"] == "é" * 32_768


def test_it_echoes_whatever_scenario_and_switch_say(api: Client) -> None:
    state.set_maintenance(on=True, now=datetime(2025, 1, 1, tzinfo=UTC))
    for value in ("fault", "explode", "fail-first=1:503", "gateway"):
        response = api.post("/sandbox/echo", headers={SCENARIO: value})
        assert response.status_code == 200
        assert response.json()["headers"][SCENARIO] == value


@pytest.mark.django_db
def test_it_does_not_echo_the_dashboards_own_cookies(signed_in: Client) -> None:
    session_id = signed_in.cookies["sessionid"].value
    signed_in.cookies["theme"] = "dark"
    cookie = signed_in.get("/sandbox/echo").json()["headers"]["Cookie"]
    assert session_id not in cookie
    assert "sessionid=[not echoed" in cookie
    assert "theme=dark" in cookie


# --- redirects ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "location"),
    [
        ("/sandbox/redirect/3", "/sandbox/redirect/2"),
        ("/sandbox/redirect/1", "/sandbox/redirect/0"),
        ("/sandbox/redirect/0", "/sandbox/echo"),
        ("/sandbox/redirect/50", "/sandbox/redirect/49"),
        ("/sandbox/redirect/2?api_key=abc&x=1", "/sandbox/redirect/1?api_key=abc&x=1"),
        ("/sandbox/redirect-loop", "/sandbox/redirect-loop"),
        ("/sandbox/redirect-loop?n=1", "/sandbox/redirect-loop?n=1"),
        (
            "/sandbox/redirect/0?next=https://evil.example/",
            "/sandbox/echo?next=https://evil.example/",
        ),
    ],
)
@pytest.mark.parametrize("method", ["get", "post", "head", "delete"])
def test_it_redirects_on_the_sandbox(api: Client, path: str, location: str, method: str) -> None:
    response = getattr(api, method)(path)
    assert response.status_code == 302
    assert response["Location"] == location


def test_it_follows_a_chain_to_the_echo(api: Client) -> None:
    response = api.get("/sandbox/redirect/3?api_key=abc", follow=True)
    assert response.status_code == 200
    assert [hop for hop, _status in response.redirect_chain] == [
        "/sandbox/redirect/2?api_key=abc",
        "/sandbox/redirect/1?api_key=abc",
        "/sandbox/redirect/0?api_key=abc",
        "/sandbox/echo?api_key=abc",
    ]
    assert response.json()["query"] == {"api_key": ["abc"]}


@pytest.mark.parametrize("path", ["/sandbox/redirect/51", "/sandbox/redirect/99999999999999"])
def test_it_refuses_too_long_a_chain(api: Client, path: str) -> None:
    assert_error(api.get(path), 404)


@pytest.mark.parametrize(
    "path", ["/sandbox/redirect/", "/sandbox/redirect/-1", "/sandbox/redirect/x", "/sandbox/echo/"]
)
def test_it_answers_404_around_the_helpers(api: Client, path: str) -> None:
    assert_error(api.get(path), 404)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200))
def test_it_never_redirects_off_the_sandbox(query: str) -> None:
    response = Client().get(f"/sandbox/redirect-loop?{query}")
    assert response.status_code == 302
    assert response["Location"].startswith("/sandbox/redirect-loop")
    assert not response["Location"].startswith("//")


def test_it_waits_when_asked_to_be_slow(api: Client, monkeypatch: pytest.MonkeyPatch) -> None:
    slept: list[float] = []
    monkeypatch.setattr(views, "sleep", slept.append)
    assert call(api, OHLCV, **{"X-Sandbox-Scenario": "slow=2.5"}).status_code == 200
    response = call(api, OHLCV, **{"X-Sandbox-Scenario": "slow=1, fault"})
    assert response.status_code == 500
    assert slept == [2.5, 1.0]


def test_it_really_waits(api: Client) -> None:
    started = datetime.now(tz=UTC)
    assert call(api, OHLCV, **{"X-Sandbox-Scenario": "slow=0.2"}).status_code == 200
    assert (datetime.now(tz=UTC) - started).total_seconds() >= 0.2


# --- the order of checks ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "key", "headers", "params", "status"),
    [
        # maintenance comes before everything: the host is offline
        ("post", "/sandbox/us/nowhere", None, {"X-Sandbox-Scenario": "maintenance"}, {}, 503),
        # an unknown route before the method
        ("post", "/sandbox/us/nowhere", DEMO_KEY, {}, {}, 404),
        # the method before Accept and the key
        ("post", OHLCV, None, {"Accept": "text/html"}, {}, 405),
        # Accept before the key and the scenarios
        ("get", OHLCV, None, {"Accept": "text/html", "X-Sandbox-Scenario": "fault"}, {}, 406),
        # scenarios need no key
        ("get", OHLCV, None, {"X-Sandbox-Scenario": "fault"}, {}, 500),
        # the key before the instrument and the parameters
        ("get", f"{BASE}/doge-usd/trades", None, {}, {"page_size": "0"}, 401),
        # entitlement before the instrument lookup
        ("get", f"{BASE}/doge-usd/trades", LIMITED_KEY, {}, {}, 403),
        ("get", f"{BASE}/doge-usd/trades", NOPERM_KEY, {}, {}, 401),
        # the instrument before the parameters
        ("get", f"{BASE}/doge-usd/trades", DEMO_KEY, {}, {"page_size": "0"}, 404),
    ],
)
def test_it_checks_in_order(
    api: Client,
    method: str,
    path: str,
    key: str | None,
    headers: dict[str, str],
    params: dict[str, str],
    status: int,
) -> None:
    response = call(api, path, key=key, method=method, data=params or None, **headers)
    assert_error(response, status)


def test_it_answers_400_before_429(api: Client, frozen_now: datetime) -> None:
    for _ in range(2):
        call(api, OHLCV, key=BURST_KEY)
    assert call(api, OHLCV, key=BURST_KEY).status_code == 429
    assert call(api, OHLCV, key=BURST_KEY, data={"sort": "up"}).status_code == 400


# --- junk never answers 500 ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("query", "headers", "status"),
    [
        ("page_size=%FF%FE", {}, 400),
        ("interval=%00", {}, 400),
        ("start_time=%F0%9F%92%A5", {}, 400),
        ("continuation_token=" + "A" * 5000, {}, 400),
        ("page_size=1&page_size=0", {}, 400),
        ("sort=asc%00", {}, 400),
        ("&&&===&", {}, 200),
        ("", {"Accept": ";;;;"}, 406),
        ("", {"X-Sandbox-Scenario": "slow=1e9"}, 400),
        ("", {"X-Sandbox-Scenario": "\u00e9"}, 400),
        ("", {"X-Api-Key": "\u00e9\u00e8"}, 401),
    ],
)
def test_it_answers_junk_with_the_right_code(
    api: Client, query: str, headers: dict[str, str], status: int
) -> None:
    response = api.get(f"{OHLCV}?{query}", headers={"X-Api-Key": DEMO_KEY, **headers})
    assert response.status_code == status
    assert response.json()["result"] == ("success" if status == 200 else "error")


def test_it_answers_too_many_parameters_in_json(api: Client) -> None:
    query = "&".join(f"p{number}=1" for number in range(1_500))
    body = assert_error(call(api, f"{OHLCV}?{query}"), 400)
    assert "too many query parameters" in body["message"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    params=st.dictionaries(
        st.sampled_from(
            ["interval", "page_size", "sort", "start_time", "end_time", "continuation_token"]
        ),
        st.text(max_size=40),
        max_size=4,
    ),
    accept=st.one_of(st.none(), st.text(max_size=30)),
)
def test_it_never_fails_on_any_parameters(params: dict[str, str], accept: str | None) -> None:
    cache.clear()
    headers = {"X-Api-Key": DEMO_KEY}
    if accept is not None:
        # Header values travel as latin-1; anything else cannot reach the server.
        headers["Accept"] = accept.encode("latin-1", "replace").decode("latin-1")
    response = Client().get(OHLCV, data=params, headers=headers)
    assert response.status_code in (200, 400, 406)
    assert response.json()["result"] in ("success", "error")


# --- the documentation page and the maintenance switch ------------------------------------


@pytest.mark.django_db
def test_it_documents_the_sandbox(client: Client) -> None:
    response = client.get("/sandbox/")
    assert response.status_code == 200
    page = response.content.decode()
    assert "http://testserver/sandbox/us" in page
    assert "http://testserver/sandbox/eu" in page
    for key in (DEMO_KEY, LIMITED_KEY, NOPERM_KEY, BURST_KEY):
        assert key in page
    for code in ("200", "302", "400", "401", "403", "404", "405", "406", "429", "500", "502"):
        assert f"<strong>{code}</strong>" in page
    for code in ("503", "504", "429, then 200"):
        assert f"<strong>{code}</strong>" in page
    assert "X-Sandbox-Scenario" in page
    for text in (
        "fail-first=N:STATUS",
        "fail-first=1:429;id=abc",
        "ratelimit=date",
        "ratelimit=legacy",
        "gateway-timeout",
        "application/problem+json",
        "drip=N",
        'RateLimit-Policy: "default";q=&lt;limit&gt;',
        "X-RateLimit-Reset",
        "http://testserver/sandbox/echo",
        "http://testserver/sandbox/redirect/3",
        "http://testserver/sandbox/redirect-loop",
        "api_key_b64",
        "outside the access range of your API key",
        "&lt;title&gt;502 Bad Gateway&lt;/title&gt;",
    ):
        assert text in page, text
    assert "http://testserver/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/" in page
    # Anonymous visitors read the page but get no switch.
    assert 'action="/sandbox/maintenance/"' not in page
    assert "Sign in</a> to switch maintenance" in page


@pytest.fixture
def sandy_team(db: None) -> Team:
    return Team.objects.create(name="Sandbox team")


@pytest.fixture
def signed_in(django_user_model: Any, sandy_team: Team) -> Client:
    """A member of a team: the maintenance switch is a team's."""
    user = django_user_model.objects.create_user(username="sandy", password="pw-sandbox-123")
    Membership.objects.create(user=user, team=sandy_team)
    client = Client(enforce_csrf_checks=True)
    client.force_login(user)
    return client


def _csrf_token(client: Client) -> str:
    client.get("/sandbox/")
    return client.cookies["csrftoken"].value


@pytest.mark.django_db
def test_it_switches_maintenance_on_and_off(signed_in: Client, sandy_team: Team) -> None:
    scope = state.team_scope(sandy_team.id)
    team_ohlcv = OHLCV.replace("/sandbox/", f"/sandbox/t/{scope}/")
    page = signed_in.get("/sandbox/").content.decode()
    assert 'action="/sandbox/maintenance/"' in page
    assert "Switch maintenance on" in page
    assert f"http://testserver/sandbox/t/{scope}/us" in page
    token = _csrf_token(signed_in)

    response = signed_in.post(
        "/sandbox/maintenance/", {"state": "on", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert response["Location"] == "/sandbox/#maintenance"
    assert state.maintenance_since(scope=scope) is not None
    assert call(signed_in, team_ohlcv).status_code == 503
    page = signed_in.get("/sandbox/").content.decode()
    assert "Switch maintenance off" in page
    assert "Maintenance is on" in page

    signed_in.post("/sandbox/maintenance/", {"state": "off", "csrfmiddlewaretoken": token})
    assert state.maintenance_since(scope=scope) is None
    assert call(signed_in, team_ohlcv).status_code == 200


@pytest.mark.django_db
def test_one_teams_switch_never_changes_another_teams_answers(
    signed_in: Client, sandy_team: Team
) -> None:
    """Issue 13, row 10: any signed-in user switched maintenance for everyone."""
    token = _csrf_token(signed_in)
    signed_in.post("/sandbox/maintenance/", {"state": "on", "csrfmiddlewaretoken": token})
    other = state.team_scope(Team.objects.create(name="Other").id)
    assert state.maintenance_since(scope=state.team_scope(sandy_team.id)) is not None
    assert call(signed_in, OHLCV.replace("/sandbox/", f"/sandbox/t/{other}/")).status_code == 200
    assert call(signed_in, OHLCV).status_code == 200  # the shared sandbox too


@pytest.mark.django_db
@pytest.mark.usefixtures("frozen_now")
def test_each_team_has_its_own_rate_limit() -> None:
    first, second = (state.team_scope(Team.objects.create(name=n).id) for n in ("A", "B"))
    client = Client()

    def answers(scope: str) -> list[int]:
        path = OHLCV.replace("/sandbox/", f"/sandbox/t/{scope}/")
        return [call(client, path, key=BURST_KEY).status_code for _ in range(4)]

    assert answers(first) == [200, 200, 429, 429]
    assert answers(second) == [200, 200, 429, 429]  # the other team starts afresh


@pytest.mark.django_db
def test_it_refuses_a_bad_switch_value(signed_in: Client) -> None:
    token = _csrf_token(signed_in)
    response = signed_in.post(
        "/sandbox/maintenance/", {"state": "sideways", "csrfmiddlewaretoken": token}
    )
    assert response.status_code == 302
    assert state.maintenance_since() is None


@pytest.mark.django_db
def test_it_needs_a_csrf_token_to_switch(signed_in: Client) -> None:
    assert signed_in.post("/sandbox/maintenance/", {"state": "on"}).status_code == 403
    assert state.maintenance_since() is None


@pytest.mark.django_db
def test_it_needs_a_login_to_switch(client: Client) -> None:
    response = client.post("/sandbox/maintenance/", {"state": "on"})
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert state.maintenance_since() is None


@pytest.mark.django_db
def test_it_only_switches_on_post(signed_in: Client) -> None:
    assert signed_in.get("/sandbox/maintenance/").status_code == 405


# --- oversize answers ---------------------------------------------------------------------

MIB = 1024 * 1024


def test_it_streams_a_large_body_of_n_mib(api: Client) -> None:
    response = api.get("/sandbox/large?mb=2")
    assert response.status_code == 200
    assert response.streaming
    assert response["Content-Type"] == "application/json"
    assert response["Content-Length"] == str(2 * MIB)
    assert "Content-Encoding" not in response
    body = streamed_body(response)
    assert len(body) == 2 * MIB
    assert json.loads(body)["result"] == "success"


@pytest.mark.parametrize(
    ("path", "length"),
    [
        ("/sandbox/large", oversize.DEFAULT_LARGE_MIB * MIB),
        ("/sandbox/large?mb=1024", 1024 * MIB),
        ("/sandbox/bomb", oversize.gzip_bomb(oversize.DEFAULT_BOMB_MIB).length),
        ("/sandbox/gzip-padding", oversize.gzip_padding(oversize.DEFAULT_PADDING_MIB).length),
    ],
)
def test_it_starts_a_big_answer_without_building_it(api: Client, path: str, length: int) -> None:
    response = api.get(path)
    assert response.status_code == 200
    assert response["Content-Length"] == str(length)
    assert isinstance(response, StreamingHttpResponse)
    first = next(iter(response))  # and no more: the rest is never made
    assert 0 < len(first) <= 2 * oversize.CHUNK


def test_it_answers_a_gzip_bomb(api: Client) -> None:
    response = api.get("/sandbox/bomb?mb=2")
    assert response.status_code == 200
    assert response["Content-Encoding"] == "gzip"
    data = streamed_body(response)
    assert len(data) == int(response["Content-Length"]) < 8 * 1024
    decoded = gzip.decompress(data)
    assert len(decoded) > 2 * MIB
    assert json.loads(decoded)["result"] == "success"


def test_it_answers_gzip_padding_that_decodes_to_little(api: Client) -> None:
    response = api.get("/sandbox/gzip-padding?mb=3")
    assert response["Content-Encoding"] == "gzip"
    data = streamed_body(response)
    assert 3 * MIB - 8 <= len(data) == int(response["Content-Length"]) <= 3 * MIB
    assert json.loads(gzip.decompress(data)) == {"result": "success", "data": []}


@pytest.mark.parametrize("layers", [1, 3, 10])
def test_it_answers_a_body_encoded_n_times(api: Client, layers: int) -> None:
    response = api.get(f"/sandbox/layers?n={layers}")
    assert response.status_code == 200
    assert response["Content-Encoding"] == ", ".join(["gzip"] * layers)
    body = response.content
    for _ in range(layers):
        body = gzip.decompress(body)
    assert json.loads(body)["note"] == f"gzipped {layers} times over"


def test_it_encodes_three_times_by_default(api: Client) -> None:
    assert api.get("/sandbox/layers")["Content-Encoding"] == "gzip, gzip, gzip"


@pytest.mark.parametrize("method", ["post", "put", "delete", "head"])
def test_the_oversize_answers_take_any_method(api: Client, method: str) -> None:
    for path in ("/sandbox/large?mb=1", "/sandbox/bomb?mb=1", "/sandbox/layers"):
        response = getattr(api, method)(path)
        assert response.status_code == 200, (method, path)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/sandbox/large?mb=0", "mb"),
        ("/sandbox/large?mb=1025", "mb"),
        ("/sandbox/large?mb=-1", "mb"),
        ("/sandbox/large?mb=", "mb"),
        ("/sandbox/bomb?mb=1.5", "mb"),
        ("/sandbox/bomb?mb=%EF%BC%91", "mb"),  # a full-width digit one
        ("/sandbox/gzip-padding?mb=x", "mb"),
        ("/sandbox/layers?n=0", "n"),
        ("/sandbox/layers?n=11", "n"),
    ],
)
def test_it_refuses_a_bad_size(api: Client, path: str, name: str) -> None:
    body = assert_error(api.get(path), 400)
    assert f"{name} must be a whole number from 1 to" in body["message"]


@pytest.mark.django_db
def test_it_documents_the_oversize_answers_and_the_tls_sandbox(client: Client) -> None:
    page = client.get("/sandbox/").content.decode()
    for text in (
        "http://testserver/sandbox/large?mb=N",
        "http://testserver/sandbox/bomb?mb=N",
        "http://testserver/sandbox/gzip-padding?mb=N",
        "http://testserver/sandbox/layers?n=N",
        "network.response_too_large.compressed_body",
        "network.response_too_large.encoding_layers",
        "manage.py sandbox_tls",
        "EGRESS_EXTRA_CA_BUNDLE",
        "SANDBOX_TLS_PORT",
        "How to get each outcome",
    ):
        assert text in page, text
    ports = django_settings.SANDBOX_TLS_PORTS
    for name, detail in (
        ("good", ""),
        ("expired", "certificate_expired"),
        ("wrong-host", "hostname_mismatch"),
        ("self-signed", "self_signed"),
        ("untrusted", "untrusted_issuer"),
    ):
        # testserver is not a name the certificates are for: the URLs are on localhost.
        assert f"https://localhost:{ports[name]}/" in page
        if detail:
            assert f"network.tls.{detail}" in page
    assert "<strong>too large</strong>" in page
    assert "<strong>TLS</strong>" in page


@pytest.mark.django_db
def test_it_puts_the_tls_urls_on_the_pages_host_when_it_can(client: Client) -> None:
    page = client.get("/sandbox/", HTTP_HOST="127.0.0.1:8000").content.decode()
    assert f"https://127.0.0.1:{django_settings.SANDBOX_TLS_PORTS['expired']}/" in page


@pytest.mark.django_db
@pytest.mark.parametrize(
    "path",
    ["/sandbox/", "/sandbox/echo", "/sandbox/large?mb=1", OHLCV, "/sandbox/maintenance/"],
)
def test_it_answers_404_everywhere_when_the_sandbox_is_off(
    signed_in: Client, sandy_team: Team, path: str, settings: Any
) -> None:
    """Issue 13, row 10: with DEBUG=0 the sandbox was mounted, open and CSRF-exempt."""
    settings.SANDBOX_ENABLED = False
    scoped = path.replace("/sandbox/", f"/sandbox/t/{state.team_scope(sandy_team.id)}/")
    member = Client()  # no CSRF check: a POST reaches the URL resolver
    member.force_login(Membership.objects.get(team=sandy_team).user)
    for client in (member, Client()):
        assert call(client, path).status_code == 404
        assert call(client, path, method="post").status_code == 404
        assert call(client, scoped).status_code == 404
    assert b'href="/sandbox/"' not in signed_in.get("/help/").content


@pytest.mark.django_db
def test_it_caps_large_answers_by_a_setting(api: Client, settings: Any) -> None:
    settings.SANDBOX_MAX_MIB = 4
    assert api.get("/sandbox/large?mb=4").status_code == 200
    response = api.get("/sandbox/large?mb=5")
    assert_error(response, 400)
    assert "from 1 to 4" in response.json()["message"]
    assert api.get("/sandbox/bomb").status_code == 200  # its default, cut to the cap


@pytest.mark.django_db
def test_it_echoes_a_form_post_larger_than_django_reads(api: Client) -> None:
    """The form middleware left the sandbox's stream alone: the echo got an empty body."""
    response = api.post(
        "/sandbox/echo",
        "note=" + "x" * 3_000_000,
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    assert "note=xxxxxxxx" in response.content.decode()
