"""Synthetic runs that look like a team's real history: for benchmarks and the demo.

Nothing here touches the network. Each kind of exchange (a host, a request, an outcome) is
built in memory and diagnosed once with the real rules (`diagnose`), so the codes, titles
and stored diagnoses of the generated runs are exactly those a real run would get. Runs are
then drawn from these kinds with a seeded random generator: spread over a time window with
a daily and hourly rhythm, a realistic mix of outcomes, per-host log-normal durations.

Rows are written in batches, each in its own transaction: with PostgreSQL's COPY (psycopg 3)
when the database is PostgreSQL, else with one multi-row INSERT per batch.
"""

import bisect
import json
import math
import random
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from functools import partial
from typing import Any
from urllib.parse import urlencode, urlsplit

from django.contrib.auth.models import User
from django.db import connection, transaction
from django.db.models import Field, Model
from django.utils import timezone

from apps.accounts.models import Team
from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.lookups import profile_for_url
from apps.diagnosis.results import Diagnosis, DiagnosisContext
from apps.egress.client import USER_AGENT
from apps.egress.redaction import REDACTED
from apps.egress.types import Exchange, Failure, FailureKind, Response
from apps.runs import rollups
from apps.runs.models import Attempt, Run
from apps.runs.phases import FINAL_FIELDS
from apps.runs.secrets import API_KEY_HEADER

DEFAULT_SANDBOX_BASE = "http://127.0.0.1:8000/sandbox"
BATCH_SIZE = 5000
TIMEOUT_SECONDS = 10.0
WRITERS = ("auto", "copy", "insert")

# Requests per hour of the day (UTC), relative: quiet nights, a working-day peak.
HOURLY = (
    0.15, 0.1, 0.1, 0.1, 0.15, 0.25, 0.5, 0.9, 1.4, 1.8, 2.0, 1.9,
    1.6, 1.8, 2.0, 2.0, 1.8, 1.5, 1.1, 0.8, 0.6, 0.45, 0.3, 0.2,
)  # fmt: skip
WEEKEND = 0.35  # Saturday and Sunday, relative to a working day

OHLCV = "/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"
TRADES = "/v2/data/trades.v1/exchanges/cbse/spot/eth-usd/trades"
VWAP = "/v2/data/trades.v1/exchanges/krkn/spot/btc-eur/aggregations/count_ohlcv_vwap"
WINDOW = "/v2/data/trades.v1/exchanges/bnce/spot/btc-usdt/trades"


@dataclass(frozen=True)
class Endpoint:
    path: str
    params: tuple[tuple[str, str], ...] = ()


MARKET_ENDPOINTS = (
    Endpoint(OHLCV, (("interval", "1h"), ("page_size", "100"))),
    Endpoint(TRADES, (("page_size", "100"),)),
    Endpoint(VWAP, (("interval", "1d"),)),
    Endpoint(
        WINDOW, (("start_time", "2024-01-01T00:00:00Z"), ("end_time", "2024-01-02T00:00:00Z"))
    ),
)
REFERENCE_ENDPOINTS = (
    Endpoint("/v1/instruments"),
    Endpoint("/v1/exchanges"),
    Endpoint("/v1/assets"),
)

# Kinds of host: the Kaiko market-data hosts, Kaiko's legacy gateway (read with the generic
# HTTP profile), the reference-data API (no key) and the dashboard's own sandbox.
MARKET, GATEWAY, REFERENCE, SANDBOX = "market", "gateway", "reference", "sandbox"
WITH_KEY = frozenset({MARKET, GATEWAY, SANDBOX})
ANY_HOST = frozenset({MARKET, GATEWAY, REFERENCE, SANDBOX})


@dataclass(frozen=True)
class Host:
    kind: str
    origin: str  # scheme://host[:port][/prefix]
    weight: float
    median_ms: float  # durations are log-normal around this median
    sigma: float
    key: str = ""  # the API key sent (a made-up one; the sandbox's demo key for the sandbox)

    @property
    def name(self) -> str:
        return urlsplit(self.origin).hostname or ""

    @property
    def endpoints(self) -> tuple[Endpoint, ...]:
        return REFERENCE_ENDPOINTS if self.kind == REFERENCE else MARKET_ENDPOINTS


def hosts(*, sandbox_base: str = DEFAULT_SANDBOX_BASE) -> list[Host]:
    key = "5f0c2d7e9a4b41c6b8e3d2a1f0e9c8b7"
    return [
        Host(MARKET, "https://us.market-api.kaiko.io", 0.50, 140.0, 0.5, key),
        Host(MARKET, "https://eu.market-api.kaiko.io", 0.20, 70.0, 0.45, key),
        Host(GATEWAY, "https://gateway-v0-http.kaiko.ovh", 0.07, 320.0, 0.7, key),
        Host(REFERENCE, "https://reference-data-api.kaiko.io", 0.03, 45.0, 0.4),
        Host(SANDBOX, f"{sandbox_base.rstrip('/')}/us", 0.20, 12.0, 0.6, "sandbox-demo-key"),
    ]


JSON = "application/json"
HTML = "text/html"
NGINX_502 = (
    "<html>\n<head><title>502 Bad Gateway</title></head>\n<body>\n"
    "<center><h1>502 Bad Gateway</h1></center>\n<hr><center>nginx</center>\n</body>\n</html>\n"
)
CLOUDFRONT_504 = (
    '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01 Transitional//EN">\n'
    "<HTML><HEAD><TITLE>ERROR: The request could not be satisfied</TITLE></HEAD><BODY>\n"
    "<H1>504 Gateway Timeout ERROR</H1>\n<H2>The request could not be satisfied.</H2>\n"
    "We can't connect to the server for this app or website at this time.\n</BODY></HTML>\n"
)
RATE_LIMITED = (("Retry-After", "30"), ("RateLimit-Policy", '"default";q=120;w=60'))


def _error(message: str) -> str:
    return json.dumps({"result": "error", "message": message})


@dataclass(frozen=True)
class Scenario:
    """One outcome, as the server (or the network) produced it."""

    slug: str
    weight: float  # relative share of runs, among the scenarios a host allows
    kinds: frozenset[str] = ANY_HOST
    status: int | None = None
    reason: str = ""
    body: str = ""
    content_type: str = JSON
    headers: tuple[tuple[str, str], ...] = ()
    failure: FailureKind | None = None
    failure_detail: str = ""
    failure_message: str = ""  # "{host}" is replaced by the host name
    send_key: bool = True
    key: str = ""  # a key sent instead of the host's
    method: str = "GET"
    endpoint: Endpoint | None = None  # the request this outcome needs, else any of the host's
    duration_factor: float = 1.0
    fixed_ms: float | None = None  # timeouts take as long as the limit
    recent_rate_limited: int = 0


SCENARIOS = (
    Scenario("ok", 81.0, status=200, reason="OK"),
    Scenario(
        "no-key", 2.4, WITH_KEY, 401, "Unauthorized", _error("Unauthorized"), send_key=False
    ),
    Scenario(
        "key-rejected", 1.4, WITH_KEY, 401, "Unauthorized", _error("Unauthorized"),
        key='"5f0c2d7e9a4b41c6b8e3d2a1f0e9c8b7"',
    ),
    Scenario(
        "entitlement", 0.7, WITH_KEY, 401, "Unauthorized",
        _error("not authorized: user has no permission over these instruments"),
    ),
    Scenario(
        "forbidden", 1.1, WITH_KEY, 403, "Forbidden",
        _error("Forbidden -- You don't have access to the requested resource."),
    ),
    Scenario(
        "rate-limited", 3.0, ANY_HOST, 429, "Too Many Requests", _error("Rate limit reached"),
        headers=RATE_LIMITED, duration_factor=0.3,
    ),
    Scenario(
        "rate-limited-sustained", 0.8, ANY_HOST, 429, "Too Many Requests",
        _error("Rate limit reached"), headers=RATE_LIMITED, duration_factor=0.3,
        recent_rate_limited=6,
    ),
    Scenario(
        "bad-interval", 1.2, WITH_KEY, 400, "Bad Request",
        _error("Bad Request -- invalid parameter 'interval': must be at most 1d, got '2d'."),
        endpoint=Endpoint(OHLCV, (("interval", "2d"),)), duration_factor=0.4,
    ),
    Scenario(
        "bad-page-size", 0.4, WITH_KEY, 400, "Bad Request",
        _error(
            "Bad Request -- invalid parameter 'page_size': must be between 1 and 100000, "
            "got '500000'."
        ),
        endpoint=Endpoint(TRADES, (("page_size", "500000"),)), duration_factor=0.4,
    ),
    Scenario(
        "unknown-instrument", 0.8, WITH_KEY, 404, "Not Found",
        _error("Not Found -- unknown instrument 'BTC-USD' on exchange 'cbse'."),
        endpoint=Endpoint(TRADES.replace("eth-usd", "BTC-USD")), duration_factor=0.4,
    ),
    Scenario(
        "unknown-path", 0.3, ANY_HOST, 404, "Not Found", _error("Not Found"),
        endpoint=Endpoint("/v2/data/trade.v1/exchanges/cbse/spot/btc-usd/trades"),
        duration_factor=0.4,
    ),
    Scenario(
        "post", 0.2, WITH_KEY, 405, "Method Not Allowed", _error("Method Not Allowed"),
        headers=(("Allow", "GET"),), method="POST", duration_factor=0.4,
    ),
    Scenario(
        "server-error", 0.5, ANY_HOST, 500, "Internal Server Error",
        _error(
            "Internal Server Error -- We had a problem with our service. Try again later."
        ),
        duration_factor=2.0,
    ),
    Scenario(
        "bad-gateway", 0.7, ANY_HOST, 502, "Bad Gateway", NGINX_502, HTML,
        (("Server", "nginx"),), duration_factor=3.0,
    ),
    Scenario(
        "maintenance", 0.4, ANY_HOST, 503, "Service Unavailable",
        _error("Service Unavailable -- We're temporarily offline for maintenance."),
        headers=(("Retry-After", "120"),), duration_factor=0.5,
    ),
    Scenario(
        "gateway-timeout", 0.4, ANY_HOST, 504, "Gateway Timeout", CLOUDFRONT_504, HTML,
        (("Server", "CloudFront"), ("X-Cache", "Error from cloudfront")), fixed_ms=30000.0,
    ),
    Scenario(
        "dns", 0.4, frozenset({MARKET, GATEWAY, REFERENCE}), failure=FailureKind.DNS,
        failure_detail="resolution_failed",
        failure_message="The host name {host} could not be resolved "
        "([Errno -3] Temporary failure in name resolution).",
        duration_factor=0.2,
    ),
    Scenario(
        "connect-timeout", 0.4, frozenset({MARKET, GATEWAY, REFERENCE}),
        failure=FailureKind.CONNECT_TIMEOUT,
        failure_message="No connection to {host} could be made in time.", fixed_ms=5000.0,
    ),
    Scenario(
        "read-timeout", 0.6, frozenset({MARKET, GATEWAY}), failure=FailureKind.READ_TIMEOUT,
        failure_detail="no_answer",
        failure_message="{host} accepted the connection but did not answer in time.",
        fixed_ms=TIMEOUT_SECONDS * 1000,
    ),
    Scenario(
        "tls-hostname", 0.15, frozenset({GATEWAY}), failure=FailureKind.TLS,
        failure_detail="hostname_mismatch",
        failure_message="The TLS handshake with {host} failed "
        "(certificate is not valid for this host name).",
        duration_factor=0.5,
    ),
    Scenario(
        "refused", 2.5, frozenset({SANDBOX}), failure=FailureKind.CONNECTION_REFUSED,
        failure_message="{host} refused the connection: nothing is listening on that port.",
        duration_factor=0.2,
    ),
)  # fmt: skip


def _success_body(host: Host, endpoint: Endpoint) -> str:
    """A small success envelope; "@TIME@" stands for the time of the answer."""
    if host.kind == REFERENCE:
        name = endpoint.path.rsplit("/", 1)[-1]
        samples = {
            "instruments": [{"kaiko_legacy_exchange_slug": "cbse", "code": "btc-usd"}],
            "exchanges": [{"code": "cbse", "name": "Coinbase"}, {"code": "krkn", "name": "Kraken"}],
            "assets": [{"code": "btc", "name": "Bitcoin"}, {"code": "eth", "name": "Ethereum"}],
        }
        return json.dumps({"result": "success", "data": samples.get(name, [])})
    rows = [
        {"timestamp": 1795550400000, "open": "76007.89", "high": "76267.16", "low": "75964.03",
         "close": "75975.41", "volume": "492.05285321"},
        {"timestamp": 1795546800000, "open": "76151.35", "high": "76406.23", "low": "75945.40",
         "close": "76007.89", "volume": "611.30572019"},
    ]  # fmt: skip
    if endpoint.path.endswith("/trades"):
        rows = [
            {"timestamp": 1795553877012, "trade_id": "714350110", "price": "3012.55",
             "amount": "0.41", "taker_side_sell": False},
            {"timestamp": 1795553876410, "trade_id": "714350109", "price": "3012.61",
             "amount": "1.2", "taker_side_sell": True},
        ]  # fmt: skip
    return json.dumps(
        {
            "result": "success",
            "time": "@TIME@",
            "query": {"page_size": 100, "sort": "desc", "request_time": "@TIME@"},
            "data": rows,
            "access": {"access_range": {"start_timestamp": None, "end_timestamp": None}},
        }
    )


@dataclass(frozen=True)
class RunKind:
    """Everything a generated run of this kind shares; the rest is drawn per run."""

    host: Host
    scenario: Scenario
    run: dict[str, object]  # Run columns
    attempt: dict[str, object]  # Attempt columns
    response_headers: tuple[str, str]  # the JSON of the headers, around the Date value
    body: str  # may hold "@TIME@"
    diagnosis: Diagnosis


def run_kinds(*, sandbox_base: str = DEFAULT_SANDBOX_BASE) -> list[RunKind]:
    """Every kind of run the generator draws from, each diagnosed once."""
    kinds = []
    for host in hosts(sandbox_base=sandbox_base):
        for scenario in SCENARIOS:
            if host.kind not in scenario.kinds:
                continue
            endpoints = (scenario.endpoint,) if scenario.endpoint else host.endpoints
            for endpoint in endpoints:
                kinds.append(_run_kind(host, scenario, endpoint))
    return kinds


def _run_kind(host: Host, scenario: Scenario, endpoint: Endpoint) -> RunKind:
    url = f"{host.origin}{endpoint.path}"
    sent_url = f"{url}?{urlencode(endpoint.params)}" if endpoint.params else url
    request_headers = [["Accept", JSON]]
    key = (scenario.key or host.key) if scenario.send_key else ""
    sent = [("User-Agent", USER_AGENT), ("Accept", JSON)]
    if key:
        sent.append((API_KEY_HEADER, key))
    body = ""
    response = None
    failure = None
    headers: list[tuple[str, str]] = []
    if scenario.status is not None:
        body = scenario.body or _success_body(host, endpoint)
        headers = [("Content-Type", scenario.content_type), *scenario.headers]
        response = Response(
            status=scenario.status,
            reason=scenario.reason,
            headers=[*headers, ("Content-Length", str(len(body.encode())))],
            body=body.encode(),
            truncated=False,
        )
    else:
        assert scenario.failure is not None
        failure = Failure(
            kind=scenario.failure,
            message=scenario.failure_message.format(host=host.name),
            detail=scenario.failure_detail,
        )
    exchange = Exchange(
        method=scenario.method,
        url=sent_url,
        request_headers=sent,
        response=response,
        failure=failure,
        elapsed_ms=scenario.fixed_ms or host.median_ms * scenario.duration_factor,
    )
    profile = profile_for_url(url)
    context = DiagnosisContext(recent_rate_limited=scenario.recent_rate_limited)
    diagnosis = diagnose(exchange, profile, context=context)
    outcome = Run.Outcome.RESPONSE if response is not None else Run.Outcome.FAILURE
    run = {
        "status": Run.Status.DONE,
        "method": scenario.method,
        "url": url,
        "host": host.name,
        "query": json.dumps([list(pair) for pair in endpoint.params]),
        "request_headers": json.dumps(request_headers),
        "request_body": "",
        "timeout_seconds": TIMEOUT_SECONDS,
        "follow_redirects": False,
        "profile": profile.slug,
        "has_api_key": bool(key),
        "secrets_encrypted": b"",
        "retry_policy": "{}",
        "outcome": outcome,
        "response_status": scenario.status,
        "failure_kind": failure.kind.value if failure else "",
        "diagnosis_code": diagnosis.code,
        "diagnosis_title": diagnosis.title[:200],
        "severity": diagnosis.severity,
    }
    shown_sent = [[name, REDACTED if name == API_KEY_HEADER else value] for name, value in sent]
    attempt = {
        "number": 1,
        "reason": Attempt.Reason.FIRST,
        "status": Attempt.Status.DONE,
        "not_before": None,
        "wait_reason": "",
        "deliveries": 1,
        "sent_url": sent_url,
        "sent_headers": json.dumps(shown_sent),
        "redirects": "[]",
        "outcome": outcome,
        "response_status": scenario.status,
        "response_reason": scenario.reason,
        "response_http_version": "HTTP/1.1" if response is not None else "",
        "response_body_truncated": False,
        "failure_kind": failure.kind.value if failure else "",
        "failure_detail": failure.detail if failure else "",
        "failure_message": failure.message if failure else "",
        "diagnosis_code": diagnosis.code,
        "diagnosis": json.dumps(diagnosis.to_dict()),
    }
    if response is not None:
        # The body's time ("@TIME@") is replaced by a fixed-width ISO time, so its length
        # is known here; the Date header is filled in per run.
        length = len(body.replace("@TIME@", "2026-01-01T00:00:00.000Z").encode())
        listed = [[name, value] for name, value in headers]
        listed += [["Content-Length", str(length)], ["Date", "@DATE@"]]
        head, tail = json.dumps(listed).split('"@DATE@"')
        response_headers = (head, tail)
    else:
        response_headers = ("", "")
    return RunKind(host, scenario, run, attempt, response_headers, body, diagnosis)


# Drawing runs ----------------------------------------------------------------------------


@dataclass
class _Draw:
    """The seeded choices of one generation: kinds by host, members, the time window."""

    rng: random.Random
    kinds: list[RunKind]
    member_ids: list[int | None]
    start: datetime
    days: float
    host_cum: list[float] = field(default_factory=list)
    by_host: list[tuple[list[RunKind], list[float]]] = field(default_factory=list)
    member_cum: list[float] = field(default_factory=list)
    addresses: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        names: dict[str, list[RunKind]] = {}
        for kind in self.kinds:
            names.setdefault(kind.host.origin, []).append(kind)
        total = 0.0
        for group in names.values():
            total += group[0].host.weight
            self.host_cum.append(total)
            # A scenario's weight is shared by the endpoints it may use.
            per_scenario: dict[str, int] = {}
            for kind in group:
                per_scenario[kind.scenario.slug] = per_scenario.get(kind.scenario.slug, 0) + 1
            cum, running = [], 0.0
            for kind in group:
                running += kind.scenario.weight / per_scenario[kind.scenario.slug]
                cum.append(running)
            self.by_host.append((group, cum))
        # A few people do most of the work: weights 1, 1/2^0.8, 1/3^0.8, ...
        running = 0.0
        for index in range(len(self.member_ids)):
            running += 1 / (index + 1) ** 0.8
            self.member_cum.append(running)

    def address(self, host: str) -> str:
        """A documentation address (RFC 5737) standing for the host's, one per host."""
        known = self.addresses.setdefault(host, f"203.0.113.{len(self.addresses) + 10}")
        return known

    def pick(self, cum: list[float]) -> int:
        return bisect.bisect(cum, self.rng.random() * cum[-1])

    def kind(self) -> RunKind:
        group, cum = self.by_host[self.pick(self.host_cum)]
        return group[self.pick(cum)]

    def member(self) -> int | None:
        return self.member_ids[self.pick(self.member_cum)]

    def times(self, count: int) -> list[float]:
        """`count` offsets in seconds from the start of the window, oldest first."""
        hours = max(1, math.ceil(self.days * 24))
        cum, running = [], 0.0
        for hour in range(hours):
            moment = self.start + timedelta(hours=hour)
            weight = HOURLY[moment.hour] * (WEEKEND if moment.weekday() >= 5 else 1.0)
            running += weight
            cum.append(running)
        limit = self.days * 86400
        offsets = [min(limit, (self.pick(cum) + self.rng.random()) * 3600) for _ in range(count)]
        offsets.sort()
        return offsets

    def duration(self, kind: RunKind) -> float:
        scenario = kind.scenario
        if scenario.fixed_ms is not None:
            return round(scenario.fixed_ms + self.rng.uniform(0, 40), 1)
        median = kind.host.median_ms * scenario.duration_factor
        return round(self.rng.lognormvariate(math.log(median), kind.host.sigma), 1)


RUN_COLUMNS = (
    "id", "team_id", "created_by_id", "created_at", "status", "source_id", "method", "url",
    "host", "query", "request_headers", "request_body", "timeout_seconds", "follow_redirects",
    "profile", "has_api_key", "secrets_encrypted", "retry_policy", "attempt_count", "outcome",
    "response_status", "failure_kind", "diagnosis_code", "diagnosis_title", "severity",
    "duration_ms", "finished_at",
)  # fmt: skip
# Where the columns the trends' hourly rollups count are in a run row.
_ROLLUP_INDEXES = tuple(RUN_COLUMNS.index(name) for name in rollups.RUN_FIELDS)
ATTEMPT_COLUMNS = (
    "id", "run_id", "number", "reason", "status", "created_at", "not_before", "wait_reason",
    "started_at", "finished_at", "deliveries", "sent_url", "sent_headers", "redirects",
    "outcome", "response_status", "response_reason", "response_http_version",
    "response_headers", "response_body", "response_body_truncated", "response_body_bytes",
    "failure_kind", "failure_detail", "failure_message", "duration_ms", "diagnosis_code",
    "diagnosis", "hops", *FINAL_FIELDS,
)  # fmt: skip
# Requests that go over a connection kept from an earlier one (no DNS, connect or TLS).
REUSED_SHARE = 0.7


def _final_hop(
    draw: "_Draw", kind: RunKind, duration: float
) -> tuple[str, tuple[float | None, ...]]:
    """The JSON of the measured phases and connection of a response's one request (as
    `HopFacts.to_dict` writes them), drawn around the run's duration, which they add up to;
    and the values of the attempt's FINAL_FIELDS (`phases.final_phases` of that JSON)."""
    rng = draw.rng
    https = kind.host.origin.startswith("https:")
    address = kind.host.name
    by_name = not address.replace(".", "").isdigit()
    reused = rng.random() < REUSED_SHARE
    dns = connect = tls = None
    left = duration
    if not reused:
        dns = round(min(left * 0.2, rng.uniform(0.3, 12.0)), 3) if by_name else None
        connect = round(min(left * 0.2, rng.uniform(0.2, 25.0)), 3)
        tls = round(min(left * 0.2, rng.uniform(4.0, 40.0)), 3) if https else None
        left -= (dns or 0.0) + connect + (tls or 0.0)
    send = round(min(left * 0.05, rng.uniform(0.02, 0.4)), 3)
    receive = round(left * rng.uniform(0.01, 0.15), 3)
    wait = round(max(0.0, left - send - receive), 3)
    # The JSON `json.dumps([hop.to_dict()])` writes, from a template: a million of them.
    port = 443 if https else (urlsplit(kind.host.origin).port or 80)
    hop = _HOP_JSON.format(
        total=_json_number(duration), dns=_json_number(dns), connect=_json_number(connect),
        tls=_json_number(tls), send=_json_number(send), wait=_json_number(wait),
        receive=_json_number(receive), reused="true" if reused else "false",
        address=draw.address(address) if by_name else address, port=port,
        local_port=rng.randrange(32768, 61000), status=kind.attempt["response_status"],
    )  # fmt: skip
    finals = (duration, dns, connect, tls, send, wait, receive)  # in FINAL_FIELDS' order
    return hop, tuple(None if value is None else float(value) for value in finals)


_HOP_JSON = (
    '[{{"timings": {{"total": {total}, "blocked": 0.0, "dns": {dns}, "connect": {connect}, '
    '"tls": {tls}, "send": {send}, "wait": {wait}, "receive": {receive}, "reused": {reused}, '
    '"failed_in": ""}}, "connection": {{"remote_address": "{address}", "remote_port": {port}, '
    '"reused": {reused}, "local_port": {local_port}, "http_version": "HTTP/1.1", '
    '"bytes_sent": 0, "bytes_received": 0, "body_wire_bytes": 0, "body_decoded_bytes": 0}}, '
    '"tls": null, "status": {status}}}]'
)


_UNMEASURED: tuple[float | None, ...] = (None,) * len(FINAL_FIELDS)


def _json_number(value: float | None) -> str:
    return "null" if value is None else repr(float(value))


def _rows(
    draw: _Draw, *, team_id: uuid.UUID, count: int, with_attempts: bool
) -> Iterator[tuple[tuple[object, ...], tuple[object, ...] | None]]:
    """(run row, attempt row or None) in column order, oldest run first."""
    for offset in draw.times(count):
        kind = draw.kind()
        created = draw.start + timedelta(seconds=offset)
        queued_ms = draw.rng.uniform(15, 400)
        duration = draw.duration(kind)
        started = created + timedelta(milliseconds=queued_ms)
        finished = started + timedelta(milliseconds=duration + 3)
        run_id = uuid.uuid4()
        values = kind.run
        run = (
            run_id, team_id, draw.member(), created, values["status"], None, values["method"],
            values["url"], values["host"], values["query"], values["request_headers"], "",
            TIMEOUT_SECONDS, False, values["profile"], values["has_api_key"], b"",
            values["retry_policy"], 1 if with_attempts else 0, values["outcome"],
            values["response_status"], values["failure_kind"], values["diagnosis_code"],
            values["diagnosis_title"], values["severity"], duration, finished,
        )  # fmt: skip
        if not with_attempts:
            yield run, None
            continue
        a = kind.attempt
        body = kind.body
        headers = "[]"
        size = None
        if a["outcome"] == Run.Outcome.RESPONSE:
            stamp = finished.strftime("%Y-%m-%dT%H:%M:%S.") + f"{finished.microsecond // 1000:03d}Z"
            body = body.replace("@TIME@", stamp)
            date = formatdate(finished.timestamp(), usegmt=True)
            head, tail = kind.response_headers
            headers = f'{head}"{date}"{tail}'
            size = len(body.encode())
        hops, finals = "[]", _UNMEASURED
        if a["outcome"] == Run.Outcome.RESPONSE:
            hops, finals = _final_hop(draw, kind, duration)
        attempt = (
            uuid.uuid4(), run_id, 1, a["reason"], a["status"], created, None, "", started,
            finished, 1, a["sent_url"], a["sent_headers"], "[]", a["outcome"],
            a["response_status"], a["response_reason"], a["response_http_version"], headers,
            body, False, size, a["failure_kind"], a["failure_detail"], a["failure_message"],
            duration, a["diagnosis_code"], a["diagnosis"], hops, *finals,
        )  # fmt: skip
        yield run, attempt


# Writing ---------------------------------------------------------------------------------


def _defaults(model: type[Model], columns: Sequence[str]) -> tuple[list[str], tuple]:
    """The model's other columns and their default values (JSON as text), so that rows
    stay complete when the model gains a column."""
    extra = [f for f in model._meta.concrete_fields if f.column not in columns]
    values = tuple(
        json.dumps(f.get_default()) if f.get_internal_type() == "JSONField" else f.get_default()
        for f in extra
    )
    return [str(f.column) for f in extra], values


def _copy(model: type[Model], columns: Sequence[str], rows: list[tuple[object, ...]]) -> None:
    """PostgreSQL's COPY FROM STDIN, through psycopg 3."""
    extra, defaults = _defaults(model, columns)
    names = ", ".join(connection.ops.quote_name(column) for column in [*columns, *extra])
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        raw = cursor.cursor  # the psycopg cursor under Django's wrapper
        with raw.copy(
            f"COPY {table} ({names}) FROM STDIN",
        ) as copy:
            for row in rows:
                copy.write_row(row + defaults)


def _as_is(value: Any) -> Any:
    return value


def _prepared(field: Field, value: Any) -> Any:
    return field.get_db_prep_save(value, connection)


def _insert(model: type[Model], columns: Sequence[str], rows: list[tuple[object, ...]]) -> None:
    """A multi-row INSERT per chunk, values prepared by the model's fields for this database.

    (`bulk_create` would replace the generated `created_at` values: the field is auto_now_add.)
    """
    extra, defaults = _defaults(model, columns)
    if extra:
        columns = [*columns, *extra]
        rows = [row + defaults for row in rows]
    fields: list[Field] = [
        next(f for f in model._meta.concrete_fields if f.column == column) for column in columns
    ]
    json_columns = {i for i, f in enumerate(fields) if f.get_internal_type() == "JSONField"}
    prepare: list[Callable[[Any], Any]] = [
        _as_is if i in json_columns else partial(_prepared, f) for i, f in enumerate(fields)
    ]
    names = ", ".join(connection.ops.quote_name(column) for column in columns)
    table = connection.ops.quote_name(model._meta.db_table)
    placeholders = "(" + ", ".join(["%s"] * len(columns)) + ")"
    # SQLite allows 32766 parameters per statement; stay well under it.
    chunk = max(1, 30000 // len(columns))
    with connection.cursor() as cursor:
        for start in range(0, len(rows), chunk):
            part = rows[start : start + chunk]
            params = [prep(value) for row in part for prep, value in zip(prepare, row, strict=True)]
            values = ", ".join([placeholders] * len(part))
            cursor.execute(f"INSERT INTO {table} ({names}) VALUES {values}", params)  # noqa: S608


@dataclass(frozen=True)
class Generated:
    runs: int
    attempts: int
    seconds: float
    writer: str  # "copy" or "insert"

    @property
    def runs_per_second(self) -> float:
        return self.runs / self.seconds if self.seconds else 0.0


def generate_runs(
    *,
    team: Team,
    count: int,
    members: Sequence[User],
    days: float = 30.0,
    seed: int | None = None,
    with_attempts: bool = False,
    now: datetime | None = None,
    sandbox_base: str = DEFAULT_SANDBOX_BASE,
    writer: str = "auto",
    batch_size: int = BATCH_SIZE,
    progress: Callable[[int], None] | None = None,
    count_in_rollups: bool = True,
) -> Generated:
    """Write `count` finished runs of `team` over the `days` before `now`, made by `members`.

    The same seed, `now` and arguments give the same runs. `writer` is "copy" (PostgreSQL
    only), "insert" or "auto" (COPY on PostgreSQL). `progress` is called with the number of
    runs written so far after each batch. With `count_in_rollups` False the runs are not
    counted in the trends' rollups as they are written: call `rollups.rebuild_team` after
    (one statement on PostgreSQL, much faster for a million runs).
    """
    if count < 0:
        raise ValueError("count must not be negative")
    if days <= 0:
        raise ValueError("days must be positive")
    if writer not in WRITERS:
        raise ValueError(f"writer must be one of {', '.join(WRITERS)}")
    if writer == "auto":
        writer = "copy" if connection.vendor == "postgresql" else "insert"
    if writer == "copy" and connection.vendor != "postgresql":
        raise ValueError("COPY needs PostgreSQL")
    end = (now or timezone.now()).astimezone(UTC)
    draw = _Draw(
        rng=random.Random(seed),  # noqa: S311 - repeatable test data, not secrets
        kinds=run_kinds(sandbox_base=sandbox_base),
        member_ids=[member.pk for member in members] or [None],
        start=end - timedelta(days=days),
        days=days,
    )
    began = time.monotonic()
    written = 0
    rows = _rows(draw, team_id=team.pk, count=count, with_attempts=with_attempts)
    while written < count:
        batch = [next(rows) for _ in range(min(batch_size, count - written))]
        runs = [run for run, _ in batch]
        attempts = [attempt for _, attempt in batch if attempt is not None]
        with transaction.atomic():
            if writer == "copy":
                _copy(Run, RUN_COLUMNS, runs)
                if attempts:
                    _copy(Attempt, ATTEMPT_COLUMNS, attempts)
            else:
                _insert(Run, RUN_COLUMNS, runs)
                if attempts:
                    _insert(Attempt, ATTEMPT_COLUMNS, attempts)
            if count_in_rollups:
                rollups.add_rows(tuple(run[index] for index in _ROLLUP_INDEXES) for run in runs)
        written += len(batch)
        if progress is not None:
            progress(written)
    return Generated(
        runs=written,
        attempts=written if with_attempts else 0,
        seconds=time.monotonic() - began,
        writer=writer,
    )
