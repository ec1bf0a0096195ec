"""What the sandbox's documentation page lists, built from its absolute root URL.

Pure: the view passes ``root`` (e.g. ``http://127.0.0.1:8000/sandbox/``); every example
URL and command on the page comes from here, so the page and the tests agree.
"""

import shlex
from dataclasses import dataclass

from apps.sandbox.keys import (
    API_KEY_HEADER,
    BURST_KEY,
    DEMO_KEY,
    KEY_PLANS,
    LIMITED_KEY,
    NOPERM_KEY,
    SCENARIO_HEADER,
)
from apps.sandbox.rules import (
    MAINTENANCE_RETRY_AFTER,
    MAX_SLOW_SECONDS,
    MESSAGE_FAULT,
    MESSAGE_FORBIDDEN,
    MESSAGE_MAINTENANCE,
    MESSAGE_NO_PERMISSION,
    MESSAGE_RATE_LIMITED,
    SCENARIO_RATELIMIT_RETRY_AFTER,
)

MARKET_PATH = "v2/data/trades.v1/exchanges/{exchange}/spot/{instrument}"


@dataclass(frozen=True)
class Endpoint:
    name: str
    method: str
    path: str
    example: str
    needs_key: bool
    params: str


@dataclass(frozen=True)
class KeyRow:
    key: str
    summary: str
    rate: str


@dataclass(frozen=True)
class Recipe:
    status: str
    label: str
    how: str
    command: str


def market_url(root: str, endpoint: str, *, instrument: str = "btc-usd", query: str = "") -> str:
    path = MARKET_PATH.format(exchange="cbse", instrument=instrument)
    tail = "trades" if endpoint == "trades" else f"aggregations/{endpoint}"
    return f"{root}us/{path}/{tail}" + (f"?{query}" if query else "")


def curl(url: str, *headers: str, method: str = "") -> str:
    parts = ["curl", "-i"]
    if method:
        parts += ["-X", method]
    for header in headers:
        parts += ["-H", header]
    parts.append(url)
    return " ".join(shlex.quote(part) for part in parts)


def key_header(key: str) -> str:
    return f"{API_KEY_HEADER}: {key}"


MARKET_PREFIX = (
    "/{us|eu}/{v2|v3}/data/trades.v1/exchanges/{exchange}/{instrument_class}/{instrument}"
)


def endpoints(root: str) -> list[Endpoint]:
    """Market-data paths are given after MARKET_PREFIX; reference-data paths in full."""
    aggregation_params = "interval, page_size, sort, start_time, end_time, continuation_token"
    trade_params = "page_size, sort, start_time, end_time, continuation_token"
    reference = [
        Endpoint(
            name.capitalize(),
            "GET",
            f"/reference/v1/{name}",
            f"{root}reference/v1/{name}",
            False,
            "none",
        )
        for name in ("instruments", "exchanges", "assets")
    ]
    return [
        Endpoint(
            "Trades",
            "GET",
            "…/trades",
            market_url(root, "trades", query="page_size=5"),
            True,
            trade_params,
        ),
        Endpoint(
            "OHLCV",
            "GET",
            "…/aggregations/ohlcv",
            market_url(root, "ohlcv", query="interval=1h&page_size=24"),
            True,
            aggregation_params,
        ),
        Endpoint(
            "Count, OHLCV and VWAP",
            "GET",
            "…/aggregations/count_ohlcv_vwap",
            market_url(root, "count_ohlcv_vwap", query="interval=1d&page_size=7"),
            True,
            aggregation_params,
        ),
        *reference,
    ]


def examples(root: str) -> list[tuple[str, str]]:
    """(label, URL) pairs to copy: one per endpoint, plus the EU host and API v3."""
    rows = [(endpoint.name, endpoint.example) for endpoint in endpoints(root)]
    eu_v3 = market_url(root, "trades", instrument="eth-usd", query="page_size=5")
    rows.insert(3, ("Trades on the EU host, API v3", eu_v3.replace("/us/v2/", "/eu/v3/")))
    return rows


def key_rows() -> list[KeyRow]:
    return [
        KeyRow(plan.key, plan.summary, f"{plan.rate_limit} per {plan.rate_window_seconds} s")
        for plan in KEY_PLANS.values()
    ]


def recipes(root: str) -> list[Recipe]:
    """The "to get code X do Y" table."""
    ohlcv = market_url(root, "ohlcv", query="interval=1h&page_size=3")
    demo = key_header(DEMO_KEY)
    return [
        Recipe(
            "200",
            "Success",
            "A valid key, a known instrument, valid parameters.",
            curl(ohlcv, demo),
        ),
        Recipe(
            "400",
            "Bad Request",
            "A bad parameter; the message names it. Here interval is over one day.",
            curl(market_url(root, "ohlcv", query="interval=2d"), demo),
        ),
        Recipe(
            "401",
            "Missing key",
            f"Send no {API_KEY_HEADER} header.",
            curl(ohlcv),
        ),
        Recipe(
            "401",
            "Invalid key",
            "Send a key the sandbox does not know.",
            curl(ohlcv, key_header("not-a-real-key")),
        ),
        Recipe(
            "401",
            "Entitlement wearing a 401",
            f"Use {NOPERM_KEY}: the message is “{MESSAGE_NO_PERMISSION}”.",
            curl(ohlcv, key_header(NOPERM_KEY)),
        ),
        Recipe(
            "403",
            "Forbidden",
            f"Use {LIMITED_KEY} on anything but btc-usd: “{MESSAGE_FORBIDDEN}”",
            curl(market_url(root, "ohlcv", instrument="eth-usd"), key_header(LIMITED_KEY)),
        ),
        Recipe(
            "404",
            "Not Found",
            "An unknown exchange, instrument class, instrument or path.",
            curl(market_url(root, "ohlcv", instrument="doge-usd"), demo),
        ),
        Recipe(
            "405",
            "Method Not Allowed",
            "Any method but GET or HEAD; the answer carries Allow: GET, HEAD.",
            curl(ohlcv, demo, method="POST"),
        ),
        Recipe(
            "406",
            "Not Acceptable",
            "An Accept header that admits no JSON.",
            curl(ohlcv, demo, "Accept: text/html"),
        ),
        Recipe(
            "429",
            "Rate limit reached",
            f"Send {BURST_KEY} three times within 10 seconds (Retry-After counts the seconds "
            f"to the window's end), or send {SCENARIO_HEADER}: ratelimit for a one-off "
            f"“{MESSAGE_RATE_LIMITED}” with Retry-After: {SCENARIO_RATELIMIT_RETRY_AFTER}.",
            curl(ohlcv, key_header(BURST_KEY)),
        ),
        Recipe(
            "500",
            "Internal Server Error",
            f"Send {SCENARIO_HEADER}: fault. “{MESSAGE_FAULT}”",
            curl(ohlcv, demo, f"{SCENARIO_HEADER}: fault"),
        ),
        Recipe(
            "503",
            "Service Unavailable",
            f"Send {SCENARIO_HEADER}: maintenance, or switch maintenance on below "
            f"(Retry-After: {MAINTENANCE_RETRY_AFTER}). “{MESSAGE_MAINTENANCE}”",
            curl(ohlcv, demo, f"{SCENARIO_HEADER}: maintenance"),
        ),
        Recipe(
            "—",
            "Read timeout",
            f"Send {SCENARIO_HEADER}: slow=N to wait N seconds (at most {MAX_SLOW_SECONDS}) "
            "before the answer; use a client timeout below N.",
            curl(ohlcv, demo, f"{SCENARIO_HEADER}: slow=5"),
        ),
    ]
