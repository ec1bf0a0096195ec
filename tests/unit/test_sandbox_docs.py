"""The sandbox's documentation page content (apps.sandbox.docs): recipes, examples, answers."""

import base64
import json
import shlex

import pytest

from apps.sandbox import docs, rules
from apps.sandbox.keys import DEMO_KEY, KEY_PLANS


def test_it_documents_every_status_code() -> None:
    statuses = [recipe.status for recipe in docs.recipes("http://h/sandbox/")]
    for status in ["200", "302", "400", "403", "404", "405", "406", "429", "500", "502", "503"]:
        assert status in statuses
    assert "504" in statuses
    assert "429, then 200" in statuses
    assert statuses.count("401") == 3
    assert statuses.count("403") == 2


@pytest.mark.parametrize(
    "scenario",
    [
        "X-Sandbox-Scenario: fail-first=1:429;id=demo",
        "X-Sandbox-Scenario: ratelimit=date",
        "X-Sandbox-Scenario: ratelimit=legacy",
        "X-Sandbox-Scenario: gateway",
        "X-Sandbox-Scenario: gateway-timeout",
        "X-Sandbox-Scenario: problem",
        "X-Sandbox-Scenario: plain",
        "X-Sandbox-Scenario: drip=5",
    ],
)
def test_it_gives_a_command_for_every_scenario(scenario: str) -> None:
    commands = [recipe.command for recipe in docs.recipes("http://h/sandbox/")]
    assert any(shlex.quote(scenario) in command for command in commands)
    # Every command's header is one the sandbox reads.
    rules.parse_scenario(scenario.partition(": ")[2])


def test_it_shows_answers_the_rules_produce() -> None:
    answers = docs.example_answers("http://h/sandbox/")
    assert json.loads(answers["access_range"])["access"]["access_range"] == {
        "start_timestamp": 1704067200000,
        "end_timestamp": None,
    }
    assert "start_time 2023-06-01T00:00:00.000Z is before" in answers["access_range"]
    assert json.loads(answers["problem"])["type"] == "http://h/sandbox/#problem"
    assert answers["gateway"].startswith("<html><head><title>502 Bad Gateway</title>")
    assert "504 Gateway Timeout" in answers["gateway_timeout"]
    echoed = json.loads(answers["echo"])
    assert echoed["api_key_b64"] == base64.b64encode(DEMO_KEY.encode()).decode()
    assert answers["rate_limit_headers"] == (
        'RateLimit-Policy: "default";q=2;w=10\nRateLimit: "default";r=1;t=7'
    )


def test_it_builds_example_urls_from_the_root() -> None:
    examples = [endpoint.example for endpoint in docs.endpoints("http://h/sandbox/")]
    assert (
        "http://h/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"
        "?interval=1h&page_size=24" in examples
    )
    assert "http://h/sandbox/reference/v1/instruments" in examples
    assert all(example.startswith("http://h/sandbox/") for example in examples)


def test_it_gives_an_example_for_the_eu_host_and_api_v3() -> None:
    urls = [url for _label, url in docs.examples("http://h/sandbox/")]
    assert (
        "http://h/sandbox/eu/v3/data/trades.v1/exchanges/cbse/spot/eth-usd/trades?page_size=5"
        in urls
    )
    assert len(urls) == len(docs.endpoints("http://h/sandbox/")) + 1


PORTS = {"good": 9443, "expired": 9444, "wrong-host": 9445, "self-signed": 9446, "untrusted": 9447}


@pytest.mark.parametrize(
    ("root", "host"),
    [
        ("http://127.0.0.1:8000/sandbox/", "127.0.0.1"),
        ("http://localhost/sandbox/", "localhost"),
        ("http://dashboard.example/sandbox/", "localhost"),
    ],
)
def test_the_tls_rows_are_on_a_host_the_certificates_name(root: str, host: str) -> None:
    rows = docs.tls_rows(root, PORTS)
    assert [(row.name, row.port) for row in rows] == list(PORTS.items())
    assert [row.url for row in rows] == [f"https://{host}:{port}/" for port in PORTS.values()]


def test_the_tls_recipes_come_only_with_the_ports() -> None:
    without = docs.recipes("http://h/sandbox/")
    with_tls = docs.recipes("http://h/sandbox/", tls_ports=PORTS, ca_file="var/my ca.pem")
    added = with_tls[len(without) :]
    assert [recipe.status for recipe in added] == ["200 (TLS)"] + ["TLS"] * 4
    assert all("--cacert 'var/my ca.pem' https://localhost:" in r.command for r in added)
    assert not any("--cacert" in recipe.command for recipe in without)


def test_curl_quotes_every_part() -> None:
    assert docs.curl("http://h/a?b=1&c=2", "X-Api-Key: k", method="HEAD") == (
        "curl -i -X HEAD -H 'X-Api-Key: k' 'http://h/a?b=1&c=2'"
    )
    assert docs.curl("http://h/") == "curl -i http://h/"


def test_market_urls_are_built_on_the_root() -> None:
    assert docs.market_url("http://h/sandbox/", "trades", query="page_size=5") == (
        "http://h/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades?page_size=5"
    )
    assert docs.market_url("http://h/sandbox/", "vwap", instrument="eth-usd").endswith(
        "/spot/eth-usd/aggregations/vwap"
    )


def test_there_is_a_row_for_each_key_with_its_rate() -> None:
    rows = {row.key: row for row in docs.key_rows()}
    assert set(rows) == set(KEY_PLANS)
    assert rows[DEMO_KEY].rate == "120 per 60 s"


def test_it_words_when_a_keys_access_starts() -> None:
    assert docs.access_start(DEMO_KEY) == "unbounded"
    assert docs.access_start("sandbox-limited-key") == "2024-01-01T00:00:00.000Z"
