"""The sandbox's pure rules: routing, headers, keys, parameters, data and envelopes."""

import base64
import json
from dataclasses import replace
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from urllib.parse import urlsplit

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.sandbox import rules
from apps.sandbox.catalog import INSTRUMENTS, find_instrument
from apps.sandbox.keys import (
    BURST_KEY,
    DEMO_KEY,
    KEY_PLANS,
    LIMITED_KEY,
    NOPERM_KEY,
    KeyPlan,
)
from apps.sandbox.rules import BadParameter, MarketQuery, Refusal

MARKET = "v2/data/trades.v1/exchanges/cbse/spot/btc-usd"
NOW_MS = rules.to_ms(datetime(2025, 6, 1, 12, 0, 30, tzinfo=UTC))
BTC = INSTRUMENTS[("cbse", "spot", "btc-usd")]


def route(endpoint: str = "ohlcv", instrument: str = "btc-usd"):
    tail = "trades" if endpoint == "trades" else f"aggregations/{endpoint}"
    parsed = rules.parse_market_path(
        "us", f"v2/data/trades.v1/exchanges/cbse/spot/{instrument}/{tail}"
    )
    assert parsed is not None
    return parsed


def ms(text: str) -> int:
    return rules.to_ms(datetime.fromisoformat(text))


# --- routing ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("region", "path", "endpoint", "version"),
    [
        ("us", f"{MARKET}/trades", "trades", "v2"),
        ("eu", f"{MARKET}/aggregations/ohlcv", "ohlcv", "v2"),
        ("us", f"{MARKET}/aggregations/count_ohlcv_vwap", "count_ohlcv_vwap", "v2"),
        ("eu", f"{MARKET.replace('v2/', 'v3/', 1)}/trades", "trades", "v3"),
    ],
)
def test_it_routes_market_paths(region: str, path: str, endpoint: str, version: str) -> None:
    parsed = rules.parse_market_path(region, path)
    assert parsed is not None
    assert (parsed.region, parsed.version, parsed.endpoint) == (region, version, endpoint)
    assert (parsed.exchange, parsed.instrument_class, parsed.instrument) == (
        "cbse",
        "spot",
        "btc-usd",
    )
    assert parsed.data_version == "v1"


@pytest.mark.parametrize(
    ("region", "path"),
    [
        ("xx", f"{MARKET}/trades"),
        ("us", ""),
        ("us", MARKET),
        ("us", f"{MARKET}/trades/"),
        ("us", f"{MARKET}/trade"),
        ("us", f"{MARKET}/aggregations/vwap"),
        ("us", f"{MARKET}/aggregations"),
        ("us", f"{MARKET.replace('v2/', 'v1/', 1)}/trades"),
        ("us", f"{MARKET.replace('trades.v1', 'trades.v9')}/trades"),
        ("us", f"{MARKET.replace('/data/', '/info/')}/trades"),
        ("us", "v2/data/trades.v1/exchanges/cbse//btc-usd/trades"),
        ("us", "v2/data/trades.v1/markets/cbse/spot/btc-usd/trades"),
    ],
)
def test_it_finds_no_route_for_other_paths(region: str, path: str) -> None:
    assert rules.parse_market_path(region, path) is None


@pytest.mark.parametrize(
    ("path", "resource"),
    [
        ("v1/instruments", "instruments"),
        ("v1/exchanges", "exchanges"),
        ("v1/assets", "assets"),
        ("v1/assets/", None),
        ("v2/assets", None),
        ("v1/pools", None),
        ("", None),
    ],
)
def test_it_routes_reference_paths(path: str, resource: str | None) -> None:
    assert rules.parse_reference_path(path) == resource


# --- method and Accept --------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_it_allows_get_and_head(method: str) -> None:
    rules.check_method(method)


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH", "OPTIONS", "get", ""])
def test_it_refuses_other_methods_with_allow(method: str) -> None:
    with pytest.raises(Refusal) as caught:
        rules.check_method(method)
    assert caught.value.status == 405
    assert caught.value.headers == {"Allow": "GET, HEAD"}


@pytest.mark.parametrize(
    ("accept", "ok"),
    [
        (None, True),
        ("", True),
        ("   ", True),
        ("application/json", True),
        ("Application/JSON", True),
        ("application/json; charset=utf-8", True),
        ("application/*", True),
        ("*/*", True),
        ("text/html, */*;q=0.8", True),
        ("text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", True),
        ("application/json;q=abc", True),
        ("text/html", False),
        ("text/*", False),
        ("application/xml", False),
        ("application/problem+json", False),
        ("garbage", False),
        (";;;,,,", False),
        ("application/json;q=0", False),
        ("application/json;q=0.000", False),
        ("*/*;q=0", False),
        ("application/json;q=0, */*", False),
        ("*/*;q=0, application/json;q=0.1", True),
    ],
)
def test_it_negotiates_json(accept: str | None, ok: bool) -> None:
    assert rules.accepts_json(accept) is ok


def test_it_answers_406_when_json_is_not_acceptable() -> None:
    with pytest.raises(Refusal) as caught:
        rules.check_accept("text/html")
    assert caught.value.status == 406
    assert caught.value.message.startswith("Not Acceptable")


@given(st.text(max_size=200))
def test_it_never_crashes_on_any_accept_header(accept: str) -> None:
    assert rules.accepts_json(accept) in (True, False)


# --- scenarios ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, rules.Scenario()),
        ("", rules.Scenario()),
        ("maintenance", rules.Scenario(outcome="maintenance")),
        ("MAINTENANCE", rules.Scenario(outcome="maintenance")),
        ("maintenance=600", rules.Scenario(outcome="maintenance", retry_after=600)),
        ("fault", rules.Scenario(outcome="fault")),
        ("ratelimit", rules.Scenario(outcome="ratelimit")),
        ("ratelimit = 7", rules.Scenario(outcome="ratelimit", retry_after=7)),
        ("slow=2", rules.Scenario(delay_seconds=2.0)),
        ("slow=0.25", rules.Scenario(delay_seconds=0.25)),
        ("slow=30", rules.Scenario(delay_seconds=30.0)),
        ("slow=2, fault", rules.Scenario(outcome="fault", delay_seconds=2.0)),
        ("ratelimit=5,slow=1", rules.Scenario(outcome="ratelimit", retry_after=5, delay_seconds=1)),
        ("ratelimit=date", rules.Scenario(outcome="ratelimit", rate_limit_style="date")),
        ("ratelimit=LEGACY", rules.Scenario(outcome="ratelimit", rate_limit_style="legacy")),
        ("gateway", rules.Scenario(outcome="gateway")),
        ("gateway-timeout, slow=3", rules.Scenario(outcome="gateway-timeout", delay_seconds=3)),
        ("problem", rules.Scenario(outcome="problem")),
        ("Plain", rules.Scenario(outcome="plain")),
        ("drip=1", rules.Scenario(drip_seconds=1)),
        ("drip=30, fault", rules.Scenario(outcome="fault", drip_seconds=30)),
        (
            "fail-first=1:429",
            rules.Scenario(outcome="fail-first", fail_first=rules.FailFirst(1, 429)),
        ),
        (
            "fail-first=10:504;id=run-42.b_c",
            rules.Scenario(outcome="fail-first", fail_first=rules.FailFirst(10, 504, "run-42.b_c")),
        ),
        (
            "slow=0.5, fail-first = 2:503 ; id = abc, drip=2",
            rules.Scenario(
                outcome="fail-first",
                fail_first=rules.FailFirst(2, 503, "abc"),
                delay_seconds=0.5,
                drip_seconds=2,
            ),
        ),
    ],
)
def test_it_reads_scenarios(header: str | None, expected: rules.Scenario) -> None:
    assert rules.parse_scenario(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "explode",
        "slow",
        "slow=",
        "slow=31",
        "slow=-1",
        "slow=1e3",
        "slow=nan",
        "fault=1",
        "maintenance=0",
        "maintenance=abc",
        "ratelimit=99999999",
        "fault, maintenance",
        "ratelimit,fault",
        "slow=1, slow=2",
        "fault,",
        "x" * 300,
        "ratelimit=soon",
        "ratelimit=",
        "gateway=1",
        "gateway-timeout=30",
        "problem=json",
        "plain=1",
        "gateway, fault",
        "plain, problem",
        "drip",
        "drip=0",
        "drip=31",
        "drip=1.5",
        "drip=1, drip=2",
        "fail-first",
        "fail-first=",
        "fail-first=1",
        "fail-first=0:429",
        "fail-first=11:429",
        "fail-first=1:404",
        "fail-first=1:200",
        "fail-first=1:429;",
        "fail-first=1:429;id=",
        "fail-first=1:429;id=a b",
        "fail-first=1:429;id=a,b",
        "fail-first=1:429;name=abc",
        "fail-first=1:429:abc",
        "fail-first=1:429;id=" + "x" * 65,
        "fail-first=1:429, ratelimit",
        "maintenance, fail-first=1:503",
        "fail-first=1:429, fail-first=2:429",
    ],
)
def test_it_refuses_malformed_scenarios_naming_the_header(header: str) -> None:
    with pytest.raises(BadParameter) as caught:
        rules.parse_scenario(header)
    assert caught.value.status == 400
    assert "'X-Sandbox-Scenario'" in caught.value.message


@given(st.text(max_size=300))
def test_it_reads_or_refuses_any_scenario_header(header: str) -> None:
    try:
        scenario = rules.parse_scenario(header)
    except BadParameter:
        return
    assert 0 <= scenario.delay_seconds <= rules.MAX_SLOW_SECONDS
    assert 0 <= scenario.drip_seconds <= rules.MAX_DRIP_SECONDS
    assert scenario.outcome in (None, *rules.OUTCOMES)
    assert scenario.rate_limit_style in rules.RATE_LIMIT_STYLES
    if scenario.fail_first is not None:
        assert 1 <= scenario.fail_first.count <= rules.MAX_FAIL_FIRST
        assert scenario.fail_first.status in rules.FAIL_FIRST_STATUSES


@given(
    count=st.integers(1, 10),
    status=st.sampled_from(rules.FAIL_FIRST_STATUSES),
    sequence_id=st.one_of(st.none(), st.from_regex(r"[A-Za-z0-9._-]{1,64}", fullmatch=True)),
)
def test_it_reads_every_valid_fail_first(count: int, status: int, sequence_id: str | None) -> None:
    value = f"fail-first={count}:{status}" + (f";id={sequence_id}" if sequence_id else "")
    assert rules.parse_scenario(value).fail_first == rules.FailFirst(count, status, sequence_id)


NOW_SECONDS = NOW_MS / 1000  # 2025-06-01T12:00:30Z
BURST = KEY_PLANS[BURST_KEY]


@pytest.mark.parametrize(
    ("scenario", "status", "content_type", "retry_after"),
    [
        (rules.Scenario(), None, None, None),
        (rules.Scenario(delay_seconds=1, drip_seconds=2), None, None, None),
        # Step 1 outcomes are not the API's: scenario_refusal leaves them to front_refusal.
        (rules.Scenario(outcome="maintenance"), None, None, None),
        (rules.Scenario(outcome="gateway"), None, None, None),
        (rules.Scenario(outcome="fault"), 500, None, None),
        (rules.Scenario(outcome="ratelimit"), 429, None, "30"),
        (rules.Scenario(outcome="ratelimit", retry_after=3), 429, None, "3"),
        (
            rules.Scenario(outcome="ratelimit", rate_limit_style="date"),
            429,
            None,
            "Sun, 01 Jun 2025 12:01:00 GMT",
        ),
        (rules.Scenario(outcome="ratelimit", rate_limit_style="legacy"), 429, None, None),
        (rules.Scenario(outcome="problem"), 400, "application/problem+json", None),
        (rules.Scenario(outcome="plain"), 500, "text/plain; charset=utf-8", None),
    ],
)
def test_it_turns_scenarios_into_refusals(
    scenario: rules.Scenario,
    status: int | None,
    content_type: str | None,
    retry_after: str | None,
) -> None:
    refusal = rules.scenario_refusal(scenario, now_seconds=NOW_SECONDS)
    if status is None:
        assert refusal is None
        return
    assert refusal is not None
    assert refusal.status == status
    assert refusal.headers.get("Retry-After") == retry_after
    assert getattr(refusal, "content_type", None) == content_type


@pytest.mark.parametrize(
    ("outcome", "status", "title"),
    [
        ("maintenance", 503, None),
        ("gateway", 502, "502 Bad Gateway"),
        ("gateway-timeout", 504, "504 Gateway Timeout"),
        ("fault", None, None),
        ("ratelimit", None, None),
        ("fail-first", None, None),
        (None, None, None),
    ],
)
def test_it_answers_in_front_of_the_api(
    outcome: str | None, status: int | None, title: str | None
) -> None:
    refusal = rules.front_refusal(rules.Scenario(outcome=outcome))
    if status is None:
        assert refusal is None
        return
    assert refusal is not None
    assert refusal.status == status
    if title is not None:
        assert isinstance(refusal, rules.RawRefusal)
        assert refusal.content_type == "text/html"
        assert refusal.text.startswith(
            f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        )
        assert refusal.text.rstrip().endswith("</body></html>")


# --- rate-limit headers -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "remaining", "reset", "policy", "standing"),
    [
        (BURST_KEY, 1, 7, '"default";q=2;w=10', '"default";r=1;t=7'),
        (BURST_KEY, -3, 7, '"default";q=2;w=10', '"default";r=0;t=7'),
        (DEMO_KEY, 119, 60, '"default";q=120;w=60', '"default";r=119;t=60'),
    ],
)
def test_it_writes_the_ietf_draft_headers(
    key: str, remaining: int, reset: int, policy: str, standing: str
) -> None:
    headers = rules.rate_limit_headers(KEY_PLANS[key], remaining=remaining, reset_seconds=reset)
    assert headers == {"RateLimit-Policy": policy, "RateLimit": standing}


@pytest.mark.parametrize(
    ("count", "remaining", "exceeded"),
    [(1, 1, False), (2, 0, False), (3, 0, True), (50, 0, True)],
)
def test_it_tells_where_a_key_stands(count: int, remaining: int, exceeded: bool) -> None:
    window = rules.RateWindow(index=5, retry_after=4)
    assert rules.rate_status(BURST, count=count, window=window) == rules.RateStatus(
        remaining=remaining, reset_seconds=4, exceeded=exceeded
    )


@pytest.mark.parametrize(
    ("style", "plan", "expected"),
    [
        ("seconds", None, {"Retry-After": "30"}),
        (
            "seconds",
            BURST,
            {
                "Retry-After": "30",
                "RateLimit-Policy": '"default";q=2;w=10',
                "RateLimit": '"default";r=0;t=30',
            },
        ),
        ("date", None, {"Retry-After": "Sun, 01 Jun 2025 12:01:00 GMT"}),
        (
            "date",
            BURST,
            {
                "Retry-After": "Sun, 01 Jun 2025 12:01:00 GMT",
                "RateLimit-Policy": '"default";q=2;w=10',
                "RateLimit": '"default";r=0;t=30',
            },
        ),
        (
            "legacy",
            None,
            {
                "X-RateLimit-Limit": "120",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(NOW_MS // 1000 + 30),
            },
        ),
        (
            "legacy",
            BURST,
            {
                "X-RateLimit-Limit": "2",
                "X-RateLimit-Remaining": "0",
                "X-RateLimit-Reset": str(NOW_MS // 1000 + 30),
            },
        ),
    ],
)
def test_it_tells_the_wait_of_a_429_in_each_style(
    style: str, plan: KeyPlan | None, expected: dict[str, str]
) -> None:
    refusal = rules.rate_limit_refusal(30, now_seconds=NOW_SECONDS, plan=plan, style=style)
    assert (refusal.status, refusal.message) == (429, "Rate limit reached")
    assert refusal.headers == expected


def test_it_rounds_the_date_up_to_a_whole_second() -> None:
    refusal = rules.rate_limit_refusal(30, now_seconds=NOW_SECONDS + 0.2, style="date")
    when = parsedate_to_datetime(refusal.headers["Retry-After"])
    assert when.timestamp() - (NOW_SECONDS + 0.2) >= 30


# --- fail-first ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rule", "attempt", "status", "headers"),
    [
        (rules.FailFirst(1, 429), 1, 429, {"Retry-After": "1"}),
        (rules.FailFirst(1, 429), 2, None, None),
        (rules.FailFirst(3, 503), 1, 503, {"Retry-After": "1"}),
        (rules.FailFirst(3, 503), 3, 503, {"Retry-After": "1"}),
        (rules.FailFirst(3, 503), 4, None, None),
        (rules.FailFirst(2, 500), 2, 500, {}),
        (rules.FailFirst(2, 502), 1, 502, {}),
        (rules.FailFirst(10, 504, "x"), 10, 504, {}),
        (rules.FailFirst(10, 504, "x"), 11, None, None),
    ],
)
def test_it_fails_the_first_requests_of_a_sequence(
    rule: rules.FailFirst, attempt: int, status: int | None, headers: dict[str, str] | None
) -> None:
    refusal = rules.fail_first_refusal(rule, attempt, now_seconds=NOW_SECONDS)
    if status is None:
        assert refusal is None
        return
    assert refusal is not None
    assert (refusal.status, refusal.headers) == (status, headers)
    assert isinstance(refusal, rules.RawRefusal) is (status in (502, 504))


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (429, "Rate limit reached"),
        (500, "Internal Server Error -- We had a problem with our service. Try again later."),
        (503, "Service Unavailable -- We're temporarily offline for maintenance."),
        (502, "502 Bad Gateway"),
        (504, "504 Gateway Timeout"),
    ],
)
def test_it_answers_a_failure_as_the_one_off_scenario_does(status: int, message: str) -> None:
    refusal = rules.fail_first_refusal(
        rules.FailFirst(1, status), 1, now_seconds=NOW_SECONDS, plan=BURST
    )
    assert refusal is not None
    assert refusal.message == message
    if status == 429:
        assert refusal.headers["RateLimit"] == '"default";r=0;t=1'


def test_it_counts_sequences_by_exact_value_key_and_path() -> None:
    base = rules.fail_first_counter("fail-first=1:429", DEMO_KEY, "/sandbox/us/x")
    assert base == rules.fail_first_counter(" fail-first=1:429 ", DEMO_KEY, "/sandbox/us/x")
    others = {
        rules.fail_first_counter("fail-first=2:429", DEMO_KEY, "/sandbox/us/x"),
        rules.fail_first_counter("fail-first=1:429;id=a", DEMO_KEY, "/sandbox/us/x"),
        rules.fail_first_counter("FAIL-FIRST=1:429", DEMO_KEY, "/sandbox/us/x"),
        rules.fail_first_counter("fail-first=1:429", BURST_KEY, "/sandbox/us/x"),
        rules.fail_first_counter("fail-first=1:429", None, "/sandbox/us/x"),
        rules.fail_first_counter("fail-first=1:429", DEMO_KEY, "/sandbox/us/y"),
    }
    assert base not in others
    assert len(others) == 6
    # No key and an empty key are the same caller; the key never appears in clear.
    assert rules.fail_first_counter("v", None, "/p") == rules.fail_first_counter("v", "", "/p")
    assert DEMO_KEY not in base
    assert len(base) == 64


# --- other body formats -------------------------------------------------------------------


def test_it_writes_problem_details() -> None:
    refusal = rules.problem_refusal(problem_type="http://h/sandbox/#problem", instance="/p/q")
    assert (refusal.status, refusal.content_type) == (400, "application/problem+json")
    problem = json.loads(refusal.text)
    assert list(problem) == ["type", "title", "status", "detail", "instance"]
    assert problem["type"] == "http://h/sandbox/#problem"
    assert problem["status"] == 400
    assert problem["instance"] == "/p/q"
    assert problem["title"] and problem["detail"]


def test_it_writes_a_plain_text_fault() -> None:
    refusal = rules.plain_refusal()
    assert (refusal.status, refusal.content_type) == (500, "text/plain; charset=utf-8")
    assert refusal.text.startswith("500 Internal Server Error")
    assert "{" not in refusal.text and "<" not in refusal.text


# --- drip ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "seconds", "chunks"),
    [
        (b"abcdefgh", 1, [b"abcd", b"efgh"]),
        (b"abcdefgh", 2, [b"abc", b"def", b"gh"]),
        (b"ab", 3, [b"a", b"b", b"", b""]),
    ],
)
def test_it_cuts_a_body_for_dripping(body: bytes, seconds: int, chunks: list[bytes]) -> None:
    assert rules.drip_chunks(body, seconds) == chunks


@given(body=st.binary(max_size=5_000), seconds=st.integers(1, rules.MAX_DRIP_SECONDS))
def test_it_drips_the_whole_body_in_even_pieces(body: bytes, seconds: int) -> None:
    chunks = rules.drip_chunks(body, seconds)
    assert b"".join(chunks) == body
    assert len(chunks) == seconds + 1
    sizes = [len(chunk) for chunk in chunks]
    assert max(sizes) - min(sizes) <= 1


def test_it_words_maintenance_as_kaiko_does() -> None:
    refusal = rules.maintenance_refusal()
    assert (refusal.status, refusal.headers) == (503, {"Retry-After": "120"})
    assert refusal.message == "Service Unavailable -- We're temporarily offline for maintenance."
    assert rules.maintenance_refusal(9).headers == {"Retry-After": "9"}


# --- keys and entitlements ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("key", "status", "words"),
    [
        (None, 401, "missing"),
        ("", 401, "missing"),
        ("   ", 401, "missing"),
        ("not-a-key", 401, "invalid"),
        ("SANDBOX-DEMO-KEY", 401, "invalid"),
    ],
)
def test_it_refuses_missing_and_unknown_keys(key: str | None, status: int, words: str) -> None:
    with pytest.raises(Refusal) as caught:
        rules.authenticate(key)
    assert caught.value.status == status
    assert words in caught.value.message
    assert "X-Api-Key" in caught.value.message or words == "invalid"


@pytest.mark.parametrize("key", [DEMO_KEY, LIMITED_KEY, NOPERM_KEY, BURST_KEY])
def test_it_knows_the_sandbox_keys(key: str) -> None:
    assert rules.authenticate(key).key == key


@pytest.mark.parametrize(
    ("key", "instrument", "status", "message"),
    [
        (DEMO_KEY, "btc-usd", None, None),
        (DEMO_KEY, "eth-usd", None, None),
        (DEMO_KEY, "doge-usd", None, None),
        (BURST_KEY, "sol-usd", None, None),
        (LIMITED_KEY, "btc-usd", None, None),
        (
            LIMITED_KEY,
            "eth-usd",
            403,
            "Forbidden -- You don't have access to the requested resource.",
        ),
        (
            LIMITED_KEY,
            "doge-usd",
            403,
            "Forbidden -- You don't have access to the requested resource.",
        ),
        (
            NOPERM_KEY,
            "btc-usd",
            401,
            "not authorized: user has no permission over these instruments",
        ),
        (
            NOPERM_KEY,
            "eth-usd",
            401,
            "not authorized: user has no permission over these instruments",
        ),
    ],
)
def test_it_checks_entitlements(
    key: str, instrument: str, status: int | None, message: str | None
) -> None:
    plan = KEY_PLANS[key]
    if status is None:
        rules.check_entitlement(plan, instrument)
        return
    with pytest.raises(Refusal) as caught:
        rules.check_entitlement(plan, instrument)
    assert (caught.value.status, caught.value.message) == (status, message)


@pytest.mark.parametrize(
    ("exchange", "instrument_class", "instrument", "words"),
    [
        ("nope", "spot", "btc-usd", "unknown exchange 'nope'"),
        ("cbse", "future", "btc-usd", "unknown instrument class 'future'"),
        ("cbse", "spot", "doge-usd", "unknown instrument 'doge-usd' on exchange 'cbse'"),
        ("bnce", "spot", "btc-usd", "unknown instrument 'btc-usd' on exchange 'bnce'"),
        ("cbse", "spot", "x" * 500, "..."),
    ],
)
def test_it_answers_404_for_unknown_instruments(
    exchange: str, instrument_class: str, instrument: str, words: str
) -> None:
    parsed = rules.MarketRoute("us", "v2", "v1", exchange, instrument_class, instrument, "trades")
    with pytest.raises(Refusal) as caught:
        rules.find_route_instrument(parsed)
    assert caught.value.status == 404
    assert caught.value.message.startswith("Not Found")
    assert words in caught.value.message
    assert len(caught.value.message) < 200


@pytest.mark.parametrize(
    ("key", "expected"),
    [(None, None), ("", None), ("nope", None), (DEMO_KEY, DEMO_KEY), (f" {BURST_KEY} ", BURST_KEY)],
)
def test_it_looks_up_known_keys_without_refusing(key: str | None, expected: str | None) -> None:
    plan = rules.known_plan(key)
    assert (plan.key if plan else None) == expected


@pytest.mark.parametrize(
    ("key", "start", "end", "words"),
    [
        (LIMITED_KEY, None, None, None),
        (LIMITED_KEY, "2024-01-01T00:00:00+00:00", None, None),
        (LIMITED_KEY, None, "2024-01-01T00:00:00.001+00:00", None),
        (LIMITED_KEY, "2024-03-01T00:00:00+00:00", "2024-04-01T00:00:00+00:00", None),
        (
            LIMITED_KEY,
            "2023-12-31T23:59:59.999+00:00",
            None,
            "start_time 2023-12-31T23:59:59.999Z is before 2024-01-01T00:00:00.000Z",
        ),
        (
            LIMITED_KEY,
            "2020-01-01T00:00:00+00:00",
            "2024-06-01T00:00:00+00:00",
            "start_time 2020-01-01T00:00:00.000Z is before",
        ),
        (
            LIMITED_KEY,
            None,
            "2024-01-01T00:00:00+00:00",
            "end_time 2024-01-01T00:00:00.000Z is not after 2024-01-01T00:00:00.000Z",
        ),
        (DEMO_KEY, "2015-01-01T00:00:00+00:00", None, None),
        (NOPERM_KEY, "1970-01-01T00:00:00+00:00", None, None),
    ],
)
def test_it_checks_the_access_range(
    key: str, start: str | None, end: str | None, words: str | None
) -> None:
    query = MarketQuery(
        start_ms=None if start is None else ms(start), end_ms=None if end is None else ms(end)
    )
    if words is None:
        rules.check_access_range(KEY_PLANS[key], query)
        return
    with pytest.raises(Refusal) as caught:
        rules.check_access_range(KEY_PLANS[key], query)
    refusal = caught.value
    assert refusal.status == 403
    assert refusal.message.startswith(
        "Forbidden -- The requested time range is outside the access range of your API key: "
    )
    assert words in refusal.message
    assert refusal.message.endswith(", the start of your access range.")
    access = {"start_timestamp": 1704067200000, "end_timestamp": None}
    assert rules.refusal_body(refusal) == {
        "result": "error",
        "message": refusal.message,
        "access": {"access_range": access, "data_range": access},
    }


def test_it_finds_known_instruments() -> None:
    assert rules.find_route_instrument(route()) is find_instrument("cbse", "spot", "btc-usd")


# --- rate-limit windows -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("now", "window", "index", "retry_after"),
    [
        (100.0, 10, 10, 10),
        (100.1, 10, 10, 10),
        (109.0, 10, 10, 1),
        (109.9, 10, 10, 1),
        (110.0, 10, 11, 10),
        (61.5, 60, 1, 59),
    ],
)
def test_it_computes_fixed_windows(now: float, window: int, index: int, retry_after: int) -> None:
    assert rules.rate_window(now, window) == rules.RateWindow(index, retry_after)


# --- parameters ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("1s", 1),
        ("59s", 59),
        ("1m", 60),
        ("15m", 900),
        ("4h", 14_400),
        ("24h", 86_400),
        ("1d", 86_400),
        ("1440m", 86_400),
        ("86400s", 86_400),
        ("001h", 3_600),
    ],
)
def test_it_parses_intervals(value: str, seconds: int) -> None:
    assert rules.parse_interval(value) == seconds


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        ("2d", "at most 1d"),
        ("25h", "at most 1d"),
        ("86401s", "at most 1d"),
        ("0m", "at least 1s"),
        ("", "number followed by"),
        ("1", "number followed by"),
        ("h", "number followed by"),
        ("1w", "number followed by"),
        ("1H", "number followed by"),
        ("1.5h", "number followed by"),
        ("-1h", "number followed by"),
        (" 1h", "number followed by"),
        ("1h\n", "number followed by"),
        ("\u0661h", "number followed by"),
        ("9" * 5000 + "s", "number followed by"),
    ],
)
def test_it_refuses_bad_intervals_naming_interval(value: str, reason: str) -> None:
    with pytest.raises(BadParameter) as caught:
        rules.parse_interval(value)
    assert caught.value.name == "interval"
    assert "'interval'" in caught.value.message
    assert reason in caught.value.message


@pytest.mark.parametrize(("value", "size"), [("1", 1), ("100", 100), ("100000", 100_000)])
def test_it_parses_page_sizes(value: str, size: int) -> None:
    assert rules.parse_page_size(value) == size


@pytest.mark.parametrize(
    "value", ["0", "100001", "-1", "+5", "1.0", "ten", "", " 5", "5_0", "9" * 5000, "\uff11"]
)
def test_it_refuses_bad_page_sizes_naming_page_size(value: str) -> None:
    with pytest.raises(BadParameter) as caught:
        rules.parse_page_size(value)
    assert "'page_size'" in caught.value.message


@pytest.mark.parametrize("value", ["ASC", "up", "", "descending"])
def test_it_refuses_bad_sorts_naming_sort(value: str) -> None:
    with pytest.raises(BadParameter) as caught:
        rules.parse_sort(value)
    assert "'sort'" in caught.value.message


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00+00:00"),
        ("2024-01-01T00:00:00.123Z", "2024-01-01T00:00:00.123+00:00"),
        ("2024-01-01T02:00:00+02:00", "2024-01-01T00:00:00+00:00"),
        ("2024-01-01T00:00:00", "2024-01-01T00:00:00+00:00"),
        ("2024-01-01", "2024-01-01T00:00:00+00:00"),
        ("1970-01-01T00:00:00Z", "1970-01-01T00:00:00+00:00"),
    ],
)
def test_it_parses_iso_times(value: str, expected: str) -> None:
    assert rules.parse_time("start_time", value) == ms(expected)


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("yesterday", "ISO 8601"),
        ("1704067200", "ISO 8601"),
        ("2024-13-01T00:00:00Z", "ISO 8601"),
        ("2024-01-01T00:00:00 02:00", "%2B"),
        ("", "ISO 8601"),
        ("2024-01-01T00:00:00Z" + "0" * 100, "ISO 8601"),
        ("1969-12-31T23:59:59Z", "between 1970 and 9999"),
        ("0001-01-01T00:00:00+05:00", "between 1970 and 9999"),
        ("9999-12-31T23:59:59Z", "between 1970 and 9999"),
    ],
)
def test_it_refuses_bad_times_naming_them(value: str, hint: str) -> None:
    with pytest.raises(BadParameter) as caught:
        rules.parse_time("end_time", value)
    assert "'end_time'" in caught.value.message
    assert hint in caught.value.message


@pytest.mark.parametrize(
    ("endpoint", "params", "expected"),
    [
        ("ohlcv", {}, MarketQuery(interval="1d", interval_seconds=86_400)),
        ("trades", {}, MarketQuery()),
        ("trades", {"interval": "junk"}, MarketQuery()),
        ("ohlcv", {"unknown": "x"}, MarketQuery(interval="1d", interval_seconds=86_400)),
        (
            "count_ohlcv_vwap",
            {
                "interval": "1h",
                "page_size": "10",
                "sort": "asc",
                "start_time": "2024-01-01T00:00:00Z",
                "end_time": "2024-01-02T00:00:00Z",
            },
            MarketQuery(
                page_size=10,
                sort="asc",
                start_ms=ms("2024-01-01T00:00:00+00:00"),
                end_ms=ms("2024-01-02T00:00:00+00:00"),
                interval="1h",
                interval_seconds=3_600,
            ),
        ),
        (
            "trades",
            {"start_time": "2024-01-01T00:00:00Z", "end_time": "2024-01-01T00:00:00Z"},
            MarketQuery(
                start_ms=ms("2024-01-01T00:00:00+00:00"), end_ms=ms("2024-01-01T00:00:00+00:00")
            ),
        ),
    ],
)
def test_it_parses_queries(endpoint: str, params: dict[str, str], expected: MarketQuery) -> None:
    assert rules.parse_query(route(endpoint), params) == expected


@pytest.mark.parametrize(
    ("params", "name"),
    [
        ({"interval": "2d"}, "interval"),
        ({"page_size": "0"}, "page_size"),
        ({"sort": "sideways"}, "sort"),
        ({"start_time": "soon"}, "start_time"),
        ({"end_time": "later"}, "end_time"),
        (
            {"start_time": "2024-02-01T00:00:00Z", "end_time": "2024-01-01T00:00:00Z"},
            "start_time",
        ),
        ({"continuation_token": "%%%"}, "continuation_token"),
        # The first bad parameter in check order is the one named.
        ({"interval": "2d", "page_size": "0"}, "interval"),
    ],
)
def test_it_names_the_bad_parameter(params: dict[str, str], name: str) -> None:
    with pytest.raises(BadParameter) as caught:
        rules.parse_query(route("ohlcv"), params)
    assert caught.value.status == 400
    assert caught.value.name == name
    assert f"'{name}'" in caught.value.message


def test_it_says_start_time_must_not_follow_end_time() -> None:
    params = {"start_time": "2024-02-01T00:00:00Z", "end_time": "2024-01-01T00:00:00Z"}
    with pytest.raises(BadParameter) as caught:
        rules.parse_query(route("trades"), params)
    assert "end_time" in caught.value.message


# --- continuation tokens ------------------------------------------------------------------


def test_it_round_trips_continuation_tokens() -> None:
    query = MarketQuery(
        page_size=7,
        sort="asc",
        start_ms=ms("2024-01-01T00:00:00+00:00"),
        end_ms=None,
        interval="4h",
        interval_seconds=14_400,
    )
    token = rules.encode_token(route("ohlcv"), query)
    assert "=" not in token
    # Other parameters sent along with a token are ignored.
    assert rules.parse_query(route("ohlcv"), {"continuation_token": token, "page_size": "0"}) == (
        query
    )


def _token(fields: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(fields).encode()).decode()


@pytest.mark.parametrize(
    "token",
    [
        "not base64!",
        "é",
        "AAAA",
        _token([1, 2]),
        _token({"resource": "x"}),
        _token(dict.fromkeys(rules.TOKEN_FIELDS, 1)),
        _token([[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]),
        "[" * 3000,
        base64.urlsafe_b64encode(b"[" * 1500).decode(),
    ],
)
def test_it_refuses_forged_tokens(token: str) -> None:
    with pytest.raises(BadParameter) as caught:
        rules.parse_query(route("ohlcv"), {"continuation_token": token})
    assert caught.value.name == "continuation_token"


def test_it_refuses_a_token_of_another_instrument() -> None:
    token = rules.encode_token(route("ohlcv", "eth-usd"), MarketQuery(interval="1d"))
    with pytest.raises(BadParameter) as caught:
        rules.parse_query(route("ohlcv"), {"continuation_token": token})
    assert "another" in caught.value.message


def test_it_checks_the_parameters_a_token_carries() -> None:
    fields = {
        "resource": route("ohlcv").resource,
        "interval": "9d",
        "page_size": "10",
        "sort": "asc",
        "start_time": "",
        "end_time": "",
    }
    with pytest.raises(BadParameter) as caught:
        rules.parse_query(route("ohlcv"), {"continuation_token": _token(fields)})
    assert caught.value.name == "interval"


# --- data ---------------------------------------------------------------------------------


def _buckets(query: MarketQuery, *, with_vwap: bool = False, cap: int = 1_000) -> rules.Page:
    low, high = rules.data_bounds(BTC, KEY_PLANS[DEMO_KEY], query, NOW_MS)
    return rules.aggregation_page(
        BTC, query, low_ms=low, high_ms=high, with_vwap=with_vwap, cap=cap
    )


DAY_QUERY = MarketQuery(
    interval="1h",
    interval_seconds=3_600,
    start_ms=ms("2024-01-01T00:00:00+00:00"),
    end_ms=ms("2024-01-02T00:00:00+00:00"),
)


@pytest.mark.parametrize(
    ("sort", "page_size", "first", "count", "more"),
    [
        ("asc", 100, "2024-01-01T00:00:00+00:00", 24, False),
        ("desc", 100, "2024-01-01T23:00:00+00:00", 24, False),
        ("asc", 24, "2024-01-01T00:00:00+00:00", 24, False),
        ("asc", 10, "2024-01-01T00:00:00+00:00", 10, True),
        ("desc", 10, "2024-01-01T23:00:00+00:00", 10, True),
    ],
)
def test_it_generates_aligned_buckets(
    sort: str, page_size: int, first: str, count: int, more: bool
) -> None:
    page = _buckets(replace(DAY_QUERY, sort=sort, page_size=page_size))
    assert len(page.data) == count
    assert page.data[0]["timestamp"] == ms(first)
    assert (page.next_query is not None) is more
    stamps = [bucket["timestamp"] for bucket in page.data]
    assert stamps == sorted(stamps, reverse=sort == "desc")
    assert all(stamp % 3_600_000 == 0 for stamp in stamps)


@pytest.mark.parametrize("sort", ["asc", "desc"])
def test_it_pages_through_buckets_without_gaps_or_repeats(sort: str) -> None:
    query: MarketQuery | None = replace(DAY_QUERY, sort=sort, page_size=5)
    seen: list[int] = []
    pages = 0
    while query is not None:
        page = _buckets(query)
        seen += [bucket["timestamp"] for bucket in page.data]
        query = page.next_query
        pages += 1
    assert pages == 5
    assert sorted(seen) == [
        ms("2024-01-01T00:00:00+00:00") + hour * 3_600_000 for hour in range(24)
    ]
    assert len(set(seen)) == 24


def test_it_caps_a_page_and_continues() -> None:
    query = replace(DAY_QUERY, page_size=100_000, interval="1m", interval_seconds=60)
    page = _buckets(query, cap=1_000)
    assert len(page.data) == 1_000
    assert page.next_query is not None
    assert page.next_query.page_size == 100_000


def test_it_writes_buckets_like_kaiko() -> None:
    bucket = _buckets(DAY_QUERY).data[0]
    assert list(bucket) == ["timestamp", "open", "high", "low", "close", "volume"]
    assert isinstance(bucket["timestamp"], int)
    assert all(isinstance(bucket[field], str) for field in ("open", "high", "low", "close"))
    low, high = float(bucket["low"]), float(bucket["high"])
    assert low <= float(bucket["open"]) <= high
    assert low <= float(bucket["close"]) <= high
    assert float(bucket["volume"]) > 0


def test_it_adds_count_and_vwap() -> None:
    bucket = _buckets(DAY_QUERY, with_vwap=True).data[0]
    assert list(bucket) == ["timestamp", "count", "open", "high", "low", "close", "volume", "price"]
    assert isinstance(bucket["count"], int) and bucket["count"] >= 1
    assert float(bucket["low"]) <= float(bucket["price"]) <= float(bucket["high"])


def test_it_is_deterministic() -> None:
    assert _buckets(DAY_QUERY) == _buckets(DAY_QUERY)


@given(st.integers(min_value=0, max_value=rules.to_ms(datetime(2100, 1, 1, tzinfo=UTC))))
def test_it_keeps_prices_positive_and_plausible(moment_ms: int) -> None:
    for instrument in INSTRUMENTS.values():
        price = rules.price_at(instrument, moment_ms)
        assert 0.5 * instrument.base_price < price < 1.5 * instrument.base_price


@pytest.mark.parametrize(
    ("query", "count"),
    [
        # No data in the future, nor before the instrument started trading.
        (replace(DAY_QUERY, start_ms=NOW_MS + 3_600_000, end_ms=None), 0),
        (replace(DAY_QUERY, start_ms=0, end_ms=ms("2015-01-01T00:00:00+00:00")), 0),
        (replace(DAY_QUERY, start_ms=DAY_QUERY.end_ms), 0),
        # The bucket holding "now" is included.
        (replace(DAY_QUERY, start_ms=NOW_MS - 3_600_000, end_ms=None), 1),
    ],
)
def test_it_bounds_buckets_by_data(query: MarketQuery, count: int) -> None:
    assert len(_buckets(query).data) == count


def test_it_starts_a_limited_key_at_its_access_date() -> None:
    query = MarketQuery(interval="1d", interval_seconds=86_400, sort="asc")
    low, _high = rules.data_bounds(BTC, KEY_PLANS[LIMITED_KEY], query, NOW_MS)
    assert low == ms("2024-01-01T00:00:00+00:00")
    low, _high = rules.data_bounds(BTC, KEY_PLANS[DEMO_KEY], query, NOW_MS)
    assert low == rules.to_ms(BTC.trade_start)


def _trades(query: MarketQuery) -> rules.Page:
    low, high = rules.data_bounds(BTC, KEY_PLANS[DEMO_KEY], query, NOW_MS)
    return rules.trades_page(BTC, query, low_ms=low, high_ms=high)


MINUTE = MarketQuery(
    start_ms=ms("2024-01-01T00:00:00+00:00"), end_ms=ms("2024-01-01T00:01:00+00:00")
)


def test_it_writes_trades_like_kaiko() -> None:
    trades = _trades(MINUTE).data
    assert 5 < len(trades) < 40
    for trade in trades:
        assert list(trade) == ["timestamp", "trade_id", "price", "amount", "taker_side_sell"]
        assert MINUTE.start_ms <= trade["timestamp"] < MINUTE.end_ms
        assert isinstance(trade["trade_id"], str)
        assert float(trade["price"]) > 0 and float(trade["amount"]) > 0
        assert isinstance(trade["taker_side_sell"], bool)


@pytest.mark.parametrize("sort", ["asc", "desc"])
def test_it_pages_through_trades_without_gaps_or_repeats(sort: str) -> None:
    everything = _trades(replace(MINUTE, sort=sort)).data
    query: MarketQuery | None = replace(MINUTE, sort=sort, page_size=3)
    seen: list[dict[str, object]] = []
    while query is not None:
        page = _trades(query)
        assert len(page.data) <= 3
        seen += page.data
        query = page.next_query
    assert seen == everything


def test_it_gives_a_default_trades_page_ending_now() -> None:
    page = _trades(MarketQuery())
    assert len(page.data) == 100
    assert page.next_query is not None
    assert all(trade["timestamp"] <= NOW_MS for trade in page.data)
    assert page.next_query.end_ms == page.data[-1]["timestamp"]


# --- envelopes ----------------------------------------------------------------------------


def test_it_wraps_success_in_kaikos_envelope() -> None:
    the_route = route("ohlcv")
    query = replace(DAY_QUERY, page_size=2)
    page = _buckets(query)
    body = rules.market_body(
        route=the_route,
        query=query,
        page=page,
        plan=KEY_PLANS[LIMITED_KEY],
        now_ms=NOW_MS,
        endpoint_url="http://testserver/sandbox/us/v2/x",
    )
    assert body["result"] == "success"
    assert body["time"] == "2025-06-01T12:00:30.000Z"
    assert body["timestamp"] == NOW_MS
    assert body["query"] == {
        "commodity": "trades",
        "data_version": "v1",
        "exchange": "cbse",
        "instrument_class": "spot",
        "instrument": "btc-usd",
        "page_size": 2,
        "sort": "desc",
        "start_time": "2024-01-01T00:00:00.000Z",
        "end_time": "2024-01-02T00:00:00.000Z",
        "interval": "1h",
        "aggregation": "ohlcv",
        "request_time": "2025-06-01T12:00:30.000Z",
    }
    assert body["access"]["access_range"] == {
        "start_timestamp": ms("2024-01-01T00:00:00+00:00"),
        "end_timestamp": None,
    }
    token = body["continuation_token"]
    assert body["next_url"] == f"http://testserver/sandbox/us/v2/x?continuation_token={token}"


def test_it_leaves_out_the_token_on_the_last_page() -> None:
    page = _buckets(DAY_QUERY)
    body = rules.market_body(
        route=route("ohlcv"),
        query=DAY_QUERY,
        page=page,
        plan=KEY_PLANS[DEMO_KEY],
        now_ms=NOW_MS,
        endpoint_url="http://x/",
    )
    assert "continuation_token" not in body
    assert "next_url" not in body
    assert body["access"]["access_range"] == {"start_timestamp": None, "end_timestamp": None}


def test_it_writes_errors_in_kaikos_envelope() -> None:
    assert rules.error_body("Not Found") == {"result": "error", "message": "Not Found"}


@pytest.mark.parametrize(
    ("resource", "field"),
    [
        ("instruments", "exchange_code"),
        ("exchanges", "kaiko_legacy_slug"),
        ("assets", "asset_class"),
    ],
)
def test_it_serves_reference_data(resource: str, field: str) -> None:
    body = rules.reference_body(resource, NOW_MS)
    assert body["result"] == "success"
    assert body["data"]
    assert all(field in row for row in body["data"])


@pytest.mark.parametrize(
    ("moment_ms", "text"),
    [(0, "1970-01-01T00:00:00.000Z"), (1_704_067_200_123, "2024-01-01T00:00:00.123Z")],
)
def test_it_formats_times_like_kaiko(moment_ms: int, text: str) -> None:
    assert rules.iso_ms(moment_ms) == text


# --- echo and redirects -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("query_string", "expected"),
    [
        ("", {}),
        ("a=1", {"a": ["1"]}),
        ("a=1&a=2&b=", {"a": ["1", "2"], "b": [""]}),
        ("api_key=s%20e+c%2Bret", {"api_key": ["s e c+ret"]}),
        ("flag", {"flag": [""]}),
        ("x=%FF", {"x": ["\ufffd"]}),
        ("a=1;b=2", {"a": ["1;b=2"]}),
    ],
)
def test_it_echoes_query_parameters(query_string: str, expected: dict[str, list[str]]) -> None:
    assert rules.echo_query(query_string) == expected


def _echo(**overrides: object) -> dict[str, object]:
    request: dict[str, object] = {
        "method": "POST",
        "path": "/sandbox/echo",
        "query_string": "api_key=q-secret",
        "headers": {
            "X-Api-Key": "h-secret",
            "Authorization": "Bearer t-secret",
            "Content-Type": "text/plain",
        },
        "body": b"password=b-secret",
        "api_key": "h-secret",
    }
    return rules.echo_body(**(request | overrides))  # type: ignore[arg-type]


def test_it_echoes_the_request_secrets_included() -> None:
    assert _echo() == {
        "method": "POST",
        "path": "/sandbox/echo",
        "query_string": "api_key=q-secret",
        "query": {"api_key": ["q-secret"]},
        "headers": {
            "X-Api-Key": "h-secret",
            "Authorization": "Bearer t-secret",
            "Content-Type": "text/plain",
        },
        "body": "password=b-secret",
        "body_truncated": False,
        "api_key_b64": "aC1zZWNyZXQ=",
    }


@pytest.mark.parametrize(
    ("api_key", "b64"),
    [(None, None), ("", ""), ("sandbox-demo-key", "c2FuZGJveC1kZW1vLWtleQ=="), ("\xe9", "6Q==")],
)
def test_it_encodes_the_key_as_sent(api_key: str | None, b64: str | None) -> None:
    assert _echo(api_key=api_key)["api_key_b64"] == b64


@pytest.mark.parametrize(
    ("size", "kept", "truncated"),
    [(0, 0, False), (65_536, 65_536, False), (65_537, 65_536, True), (200_000, 65_536, True)],
)
def test_it_caps_the_echoed_body(size: int, kept: int, truncated: bool) -> None:
    echoed = _echo(body=b"x" * size)
    assert len(echoed["body"]) == kept  # type: ignore[arg-type]
    assert echoed["body_truncated"] is truncated


def test_it_echoes_any_bytes_as_text() -> None:
    assert _echo(body="h\u00e9 \U0001f4a5".encode() + b"\xff")["body"] == "h\u00e9 \U0001f4a5\ufffd"


def test_it_does_not_echo_this_servers_own_cookies() -> None:
    headers = {"Cookie": "sessionid=s3cr3t; theme=dark; csrftoken=abc;sessionidx=keep"}
    echoed = _echo(headers=headers, own_cookies=frozenset({"sessionid", "csrftoken"}))
    cookie = echoed["headers"]["Cookie"]  # type: ignore[index]
    assert "s3cr3t" not in cookie and "abc" not in cookie
    assert "theme=dark" in cookie and "sessionidx=keep" in cookie
    assert cookie.count(rules.REDACTED_OWN_COOKIE) == 2


@pytest.mark.parametrize(
    ("target", "query_string", "location"),
    [
        ("/sandbox/redirect/2", "", "/sandbox/redirect/2"),
        ("/sandbox/echo", "a=1&b=%20x", "/sandbox/echo?a=1&b=%20x"),
        ("/sandbox/echo", "next=https://evil.example/", "/sandbox/echo?next=https://evil.example/"),
        ("/sandbox/echo", 'a=\u00e9 "<>', "/sandbox/echo?a=%E9%20%22%3C%3E"),
        ("/sandbox/echo", "q=" + "x" * 2_000, "/sandbox/echo"),
    ],
)
def test_it_builds_locations_on_the_sandbox(target: str, query_string: str, location: str) -> None:
    assert rules.redirect_location(target, query_string) == location


@given(st.text(max_size=300))
def test_it_never_redirects_off_the_sandbox(query_string: str) -> None:
    query_string = query_string.encode("latin-1", "replace").decode("latin-1")
    location = rules.redirect_location("/sandbox/redirect-loop", query_string)
    parts = urlsplit(location)
    assert (parts.scheme, parts.netloc, parts.path) == ("", "", "/sandbox/redirect-loop")
    assert location.isascii() and location.isprintable() and " " not in location


@pytest.mark.parametrize(("hops", "ok"), [(0, True), (1, True), (50, True), (51, False)])
def test_it_bounds_redirect_chains(hops: int, ok: bool) -> None:
    if ok:
        rules.check_redirect_hops(hops)
        return
    with pytest.raises(Refusal) as caught:
        rules.check_redirect_hops(hops)
    assert caught.value.status == 404
