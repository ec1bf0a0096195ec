"""What the sandbox's documentation page lists, built from its absolute root URL.

Pure: the view passes ``root`` (e.g. ``http://127.0.0.1:8000/sandbox/``); every example
URL and command on the page comes from here, so the page and the tests agree.
"""

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.conf import settings

from apps.sandbox import oversize
from apps.sandbox.certificates import CASES, LOOPBACK_NAMES
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
    FAIL_FIRST_RETRY_AFTER,
    MAINTENANCE_RETRY_AFTER,
    MAX_DRIP_SECONDS,
    MAX_SLOW_SECONDS,
    MESSAGE_FAULT,
    MESSAGE_FORBIDDEN,
    MESSAGE_MAINTENANCE,
    MESSAGE_NO_PERMISSION,
    MESSAGE_OUTSIDE_ACCESS_RANGE,
    MESSAGE_RATE_LIMITED,
    SCENARIO_RATELIMIT_RETRY_AFTER,
    MarketQuery,
    Refusal,
    check_access_range,
    echo_body,
    gateway_refusal,
    iso_ms,
    plain_refusal,
    problem_refusal,
    rate_limit_headers,
    refusal_body,
    to_ms,
)

MARKET_PATH = "v2/data/trades.v1/exchanges/{exchange}/spot/{instrument}"
# Where `manage.py sandbox_tls` keeps its CA, as a command run from the project shows it.
DEFAULT_CA_FILE = "var/sandbox-tls/ca.pem"


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


@dataclass(frozen=True)
class TLSRow:
    name: str
    port: int
    url: str
    title: str
    summary: str
    outcome: str  # "200" or the diagnosis code, e.g. "network.tls.certificate_expired"


def tls_rows(root: str, ports: dict[str, int]) -> list[TLSRow]:
    """The TLS sandbox's ports, with URLs on the page's host when the certificates name it
    (else on localhost: the TLS sandbox listens on loopback, next to the web server)."""
    host = urlsplit(root).hostname or ""
    if host not in LOOPBACK_NAMES:
        host = "localhost"
    return [
        TLSRow(
            case.name,
            ports[case.name],
            f"https://{host}:{ports[case.name]}/",
            case.title,
            case.summary,
            case.outcome,
        )
        for case in CASES
    ]


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


def scenario_header(value: str) -> str:
    return f"{SCENARIO_HEADER}: {value}"


def recipes(
    root: str, *, tls_ports: dict[str, int] | None = None, ca_file: str = DEFAULT_CA_FILE
) -> list[Recipe]:
    """The "to get outcome X do Y" table (with the TLS sandbox's rows when its ports are given)."""
    ohlcv = market_url(root, "ohlcv", query="interval=1h&page_size=3")
    demo = key_header(DEMO_KEY)
    before_access = market_url(root, "ohlcv", query="interval=1d&start_time=2023-06-01T00:00:00Z")
    return [
        Recipe(
            "200",
            "Success",
            "A valid key, a known instrument, valid parameters. The answer carries "
            "RateLimit-Policy and RateLimit headers.",
            curl(ohlcv, demo),
        ),
        Recipe(
            "200",
            "Echo",
            f"Any method to {root}echo, no key needed: the request comes back as JSON, "
            "secrets included.",
            curl(f"{root}echo?api_key=abc", demo, method="POST"),
        ),
        Recipe(
            "302",
            "Redirects",
            f"{root}redirect/N redirects N + 1 times, the last hop to the echo; "
            f"{root}redirect-loop redirects to itself for ever.",
            curl(f"{root}redirect/3"),
        ),
        Recipe(
            "400",
            "Bad Request",
            "A bad parameter; the message names it. Here interval is over one day.",
            curl(market_url(root, "ohlcv", query="interval=2d"), demo),
        ),
        Recipe(
            "400",
            "Problem details (RFC 9457)",
            f"Send {SCENARIO_HEADER}: problem for an application/problem+json body "
            "instead of Kaiko's envelope.",
            curl(ohlcv, demo, scenario_header("problem")),
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
            "403",
            "Time range outside the access range",
            f"Use {LIMITED_KEY} with a start_time before 2024-01-01: "
            f"“{MESSAGE_OUTSIDE_ACCESS_RANGE}: …”, with the key's access block.",
            curl(before_access, key_header(LIMITED_KEY)),
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
            "429",
            "Retry-After as an HTTP-date",
            f"Send {SCENARIO_HEADER}: ratelimit=date: Retry-After is a date "
            f"{SCENARIO_RATELIMIT_RETRY_AFTER} seconds ahead.",
            curl(ohlcv, demo, scenario_header("ratelimit=date")),
        ),
        Recipe(
            "429",
            "X-RateLimit-* headers only",
            f"Send {SCENARIO_HEADER}: ratelimit=legacy: X-RateLimit-Limit, -Remaining and "
            "-Reset (a Unix time), no Retry-After.",
            curl(ohlcv, demo, scenario_header("ratelimit=legacy")),
        ),
        Recipe(
            "429, then 200",
            "Fails first, then succeeds",
            f"Send {SCENARIO_HEADER}: fail-first=1:429: the first request answers 429 with "
            f"Retry-After: {FAIL_FIRST_RETRY_AFTER}, the next ones are handled normally. "
            "Also with 500, 502, 503 or 504, and up to 10 failures.",
            curl(ohlcv, demo, scenario_header("fail-first=1:429;id=demo")),
        ),
        Recipe(
            "500",
            "Internal Server Error",
            f"Send {SCENARIO_HEADER}: fault. “{MESSAGE_FAULT}”",
            curl(ohlcv, demo, scenario_header("fault")),
        ),
        Recipe(
            "500",
            "Plain-text error",
            f"Send {SCENARIO_HEADER}: plain for a text/plain body instead of JSON.",
            curl(ohlcv, demo, scenario_header("plain")),
        ),
        Recipe(
            "502",
            "Bad Gateway (HTML)",
            f"Send {SCENARIO_HEADER}: gateway: the proxy in front answers with its HTML page.",
            curl(ohlcv, demo, scenario_header("gateway")),
        ),
        Recipe(
            "503",
            "Service Unavailable",
            f"Send {SCENARIO_HEADER}: maintenance, or switch maintenance on below "
            f"(Retry-After: {MAINTENANCE_RETRY_AFTER}). “{MESSAGE_MAINTENANCE}”",
            curl(ohlcv, demo, scenario_header("maintenance")),
        ),
        Recipe(
            "504",
            "Gateway Timeout (HTML)",
            f"Send {SCENARIO_HEADER}: gateway-timeout (add slow=N to make it wait first).",
            curl(ohlcv, demo, scenario_header("gateway-timeout")),
        ),
        Recipe(
            "—",
            "Read timeout",
            f"Send {SCENARIO_HEADER}: slow=N to wait N seconds (at most {MAX_SLOW_SECONDS}) "
            "before the answer; use a client timeout below N.",
            curl(ohlcv, demo, scenario_header("slow=5")),
        ),
        Recipe(
            "—",
            "Slow body",
            f"Send {SCENARIO_HEADER}: drip=N (at most {MAX_DRIP_SECONDS}): the 200 arrives at "
            "once, its body one piece a second over N seconds. A read timeout of 2 s never "
            "fires; an overall deadline under N does.",
            curl(ohlcv, demo, scenario_header("drip=5")),
        ),
        *oversize_recipes(root),
        *(tls_recipes(root, tls_ports, ca_file) if tls_ports else []),
    ]


def oversize_recipes(root: str) -> list[Recipe]:
    return [
        Recipe(
            "200, cut",
            "Body over the size cap",
            f"{root}large?mb=N: exactly N MiB of JSON (1 to {settings.SANDBOX_MAX_MIB}, default "
            f"{oversize.DEFAULT_LARGE_MIB}), streamed. The dashboard keeps the body up to its "
            "cap, stops reading and marks the body truncated; the diagnosis is the 200's.",
            curl(f"{root}large?mb=8", "Accept-Encoding: identity") + " | head -c 300",
        ),
        Recipe(
            "200, cut",
            "Gzip bomb",
            f"{root}bomb?mb=N: about 1 KiB of gzip per MiB that decodes to N MiB (default "
            f"{oversize.DEFAULT_BOMB_MIB}). The dashboard decodes only up to its body cap: a "
            "200 whose body is cut once decoded, not “response too large”.",
            curl(f"{root}bomb?mb=16") + " | gzip -dc | head -c 300",
        ),
        Recipe(
            "too large",
            "Compressed body over the cap",
            f"{root}gzip-padding?mb=N: about N MiB of gzip (default "
            f"{oversize.DEFAULT_PADDING_MIB}) that decodes to a few bytes. More compressed "
            "bytes than the dashboard reads (twice its body cap, at least 1 MiB): "
            "network.response_too_large.compressed_body.",
            curl(f"{root}gzip-padding?mb=8") + " | wc -c",
        ),
        Recipe(
            "too large",
            "Too many Content-Encoding layers",
            f"{root}layers?n=N: a small JSON body gzipped N times (1 to {oversize.MAX_LAYERS}, "
            f"default {oversize.DEFAULT_LAYERS}), Content-Encoding: gzip, gzip, gzip. More than "
            "2 layers: network.response_too_large.encoding_layers; 1 or 2 decode to a 200.",
            curl(f"{root}layers?n=3"),
        ),
    ]


def tls_recipes(root: str, ports: dict[str, int], ca_file: str) -> list[Recipe]:
    rows = {row.name: row for row in tls_rows(root, ports)}
    good = rows.pop("good")
    cacert = f"--cacert {shlex.quote(ca_file)}"
    recipes = [
        Recipe(
            "200 (TLS)",
            good.title,
            f"The TLS sandbox's port {good.port}: {good.summary}.",
            f"curl -i {cacert} {good.url}",
        )
    ]
    for row in rows.values():
        recipes.append(
            Recipe(
                "TLS",
                row.title,
                f"The TLS sandbox's port {row.port}, a certificate {row.summary}: the "
                f"handshake fails, {row.outcome}.",
                f"curl -i {cacert} {row.url}",
            )
        )
    return recipes


def access_start(key: str) -> str:
    """When a key's access range starts, as Kaiko writes times ("unbounded" without one)."""
    start = KEY_PLANS[key].access_start
    return "unbounded" if start is None else iso_ms(to_ms(start))


def _pretty(body: object) -> str:
    return json.dumps(body, indent=2)


def _refusal_of(check: Callable[[], None]) -> Refusal:
    try:
        check()
    except Refusal as refusal:
        return refusal
    raise AssertionError("the example does not refuse")


def example_answers(root: str) -> dict[str, str]:
    """Bodies and headers shown on the page, produced by the rules themselves."""
    limited = KEY_PLANS[LIMITED_KEY]
    before = MarketQuery(start_ms=to_ms(datetime(2023, 6, 1, tzinfo=UTC)))
    outside = _refusal_of(lambda: check_access_range(limited, before))
    instance = "/sandbox/us/" + MARKET_PATH.format(exchange="cbse", instrument="btc-usd")
    problem = problem_refusal(problem_type=f"{root}#problem", instance=f"{instance}/trades")
    echoed = echo_body(
        method="POST",
        path="/sandbox/echo",
        query_string="api_key=abc&page=1",
        headers={
            "Content-Length": "13",
            "Content-Type": "application/json",
            API_KEY_HEADER: DEMO_KEY,
            "Authorization": "Bearer abc",
        },
        body=b'{"token": 1}\n',
        api_key=DEMO_KEY,
    )
    burst = KEY_PLANS[BURST_KEY]
    headers = rate_limit_headers(burst, remaining=1, reset_seconds=7)
    return {
        "access_range": _pretty(refusal_body(outside)),
        "problem": _pretty(json.loads(problem.text)),
        "gateway": gateway_refusal(502).text.strip(),
        "gateway_timeout": gateway_refusal(504).text.strip(),
        "plain": plain_refusal().text.strip(),
        "echo": _pretty(echoed),
        "rate_limit_headers": "\n".join(f"{name}: {value}" for name, value in headers.items()),
    }
