"""Pure rules of the sandbox upstream: routing, header and parameter checks, entitlements,
rate-limit windows, deterministic data and Kaiko's response envelope.

Nothing here sees a Django request or the cache: the views pass plain strings, numbers and
times in, and turn a ``Refusal`` into an error response. That keeps every rule testable
with a table.
"""

import base64
import hashlib
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, quote

from apps.sandbox.catalog import (
    ASSETS,
    EXCHANGES,
    INSTRUMENT_CLASSES,
    INSTRUMENTS,
    Instrument,
    find_instrument,
)
from apps.sandbox.keys import API_KEY_HEADER, DEMO_KEY, KEY_PLANS, SCENARIO_HEADER, KeyPlan

# Kaiko's own wording (its "Error codes" page), used as is or as the start of a message.
MESSAGE_BAD_REQUEST = "Bad Request"
MESSAGE_UNAUTHORIZED = "Unauthorized -- You are not authenticated properly."
MESSAGE_NO_PERMISSION = "not authorized: user has no permission over these instruments"
MESSAGE_FORBIDDEN = "Forbidden -- You don't have access to the requested resource."
MESSAGE_NOT_FOUND = "Not Found"
MESSAGE_METHOD_NOT_ALLOWED = "Method Not Allowed"
MESSAGE_NOT_ACCEPTABLE = "Not Acceptable"
MESSAGE_RATE_LIMITED = "Rate limit reached"
MESSAGE_FAULT = "Internal Server Error -- We had a problem with our service. Try again later."
MESSAGE_MAINTENANCE = "Service Unavailable -- We're temporarily offline for maintenance."
# Not from Kaiko's page: the sandbox's wording, in Kaiko's "Header -- message" form. The
# prefix is stable, the rest names the time at fault.
MESSAGE_OUTSIDE_ACCESS_RANGE = (
    "Forbidden -- The requested time range is outside the access range of your API key"
)

REGIONS = ("us", "eu")
API_VERSIONS = ("v2", "v3")
DATA_VERSIONS = {"trades.v1": "v1"}
ENDPOINTS: dict[tuple[str, ...], str] = {
    ("trades",): "trades",
    ("aggregations", "ohlcv"): "ohlcv",
    ("aggregations", "count_ohlcv_vwap"): "count_ohlcv_vwap",
}
AGGREGATIONS = ("ohlcv", "count_ohlcv_vwap")
REFERENCE_RESOURCES = ("instruments", "exchanges", "assets")
ALLOWED_METHODS = ("GET", "HEAD")

DEFAULT_INTERVAL = "1d"
MAX_INTERVAL_SECONDS = 86_400
DEFAULT_PAGE_SIZE = 100
MAX_PAGE_SIZE = 100_000
# page_size up to MAX_PAGE_SIZE is accepted, but a page never holds more items than this;
# the rest follows through the continuation token.
MAX_ITEMS_PER_PAGE = 1_000
DEFAULT_SORT = "desc"
SORTS = ("asc", "desc")

MAINTENANCE_RETRY_AFTER = 120
SCENARIO_RATELIMIT_RETRY_AFTER = 30
MAX_RETRY_AFTER = 86_400
MAX_SLOW_SECONDS = 30
MAX_DRIP_SECONDS = 30
# fail-first=N:STATUS
MAX_FAIL_FIRST = 10
FAIL_FIRST_STATUSES = (429, 500, 502, 503, 504)
FAIL_FIRST_RETRY_AFTER = 1
FAIL_FIRST_TTL_SECONDS = 300
# How a forced 429 tells the client when to come back.
RATE_LIMIT_STYLES = ("seconds", "date", "legacy")
# The quota that legacy X-RateLimit-* headers describe when no known key was sent.
DEFAULT_PLAN = KEY_PLANS[DEMO_KEY]
RATE_LIMIT_POLICY_NAME = "default"
# /sandbox/echo and /sandbox/redirect/<n>
ECHO_BODY_CAP = 64 * 1024
MAX_REDIRECT_HOPS = 50
MAX_REDIRECT_QUERY_LENGTH = 1_500
MAX_TOKEN_LENGTH = 2_048
MAX_HEADER_LENGTH = 256

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LATEST_MOMENT = datetime(9999, 1, 1, tzinfo=UTC)
MS = timedelta(milliseconds=1)
DAY_MS = 86_400_000
UNIT_SECONDS = {"s": 1, "m": 60, "h": 3_600, "d": 86_400}
INTERVAL_PATTERN = re.compile(r"([0-9]{1,6})([smhd])", re.ASCII)
PAGE_SIZE_PATTERN = re.compile(r"[0-9]{1,12}", re.ASCII)
SECONDS_PATTERN = re.compile(r"[0-9]{1,6}", re.ASCII)
DELAY_PATTERN = re.compile(r"[0-9]{1,2}(\.[0-9]{1,3})?", re.ASCII)
DRIP_PATTERN = re.compile(r"[0-9]{1,2}", re.ASCII)
FAIL_FIRST_PATTERN = re.compile(
    r"(?P<count>[0-9]{1,2}):(?P<status>[0-9]{3})"
    r"(?:\s*;\s*id\s*=\s*(?P<id>[A-Za-z0-9._-]{1,64}))?",
    re.ASCII,
)
QVALUE_PATTERN = re.compile(r"0(\.[0-9]{0,3})?|1(\.0{0,3})?", re.ASCII)


class Refusal(Exception):
    """An error answer: HTTP status, Kaiko-style message, extra headers and, rarely, extra
    members of the JSON body (the ``access`` block of an access-range 403)."""

    def __init__(
        self,
        status: int,
        message: str,
        headers: Mapping[str, str] | None = None,
        *,
        fields: Mapping[str, Any] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})
        self.fields = dict(fields or {})


class RawRefusal(Refusal):
    """An error answer that is not Kaiko's JSON envelope: a proxy's HTML page, an RFC 9457
    problem document, plain text. ``text`` is the whole body."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        content_type: str,
        text: str,
        headers: Mapping[str, str] | None = None,
    ):
        super().__init__(status, message, headers)
        self.content_type = content_type
        self.text = text


class BadParameter(Refusal):
    """A 400 whose message names the parameter (or header) at fault."""

    def __init__(self, name: str, reason: str, *, kind: str = "parameter"):
        super().__init__(400, f"{MESSAGE_BAD_REQUEST} -- invalid {kind} '{name}': {reason}")
        self.name = name


def echo(value: str, limit: int = 40) -> str:
    """A caller's value quoted for a message, cut to a readable length."""
    if len(value) > limit:
        return repr(value[:limit]) + "..."
    return repr(value)


def iso_ms(moment_ms: int) -> str:
    """Kaiko's metadata time format: ISO 8601, UTC, millisecond precision."""
    moment = EPOCH + timedelta(milliseconds=moment_ms)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment_ms % 1000:03d}Z"


def to_ms(moment: datetime) -> int:
    return (moment - EPOCH) // MS


# --- routing ------------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketRoute:
    """A market-data path, split. Existence of exchange and instrument is checked later."""

    region: str
    version: str
    data_version: str
    exchange: str
    instrument_class: str
    instrument: str
    endpoint: str

    @property
    def is_aggregation(self) -> bool:
        return self.endpoint in AGGREGATIONS

    @property
    def resource(self) -> str:
        """What a continuation token is bound to."""
        return f"{self.exchange}/{self.instrument_class}/{self.instrument}/{self.endpoint}"


def parse_market_path(region: str, api_path: str) -> MarketRoute | None:
    """Split ``v2/data/trades.v1/exchanges/{e}/{class}/{i}/{endpoint}``; None when no route."""
    if region not in REGIONS:
        return None
    parts = api_path.split("/")
    if len(parts) < 8:
        return None
    version, data, commodity, exchanges, exchange, instrument_class, instrument = parts[:7]
    endpoint = ENDPOINTS.get(tuple(parts[7:]))
    if (
        version not in API_VERSIONS
        or data != "data"
        or commodity not in DATA_VERSIONS
        or exchanges != "exchanges"
        or endpoint is None
        or not (exchange and instrument_class and instrument)
    ):
        return None
    return MarketRoute(
        region=region,
        version=version,
        data_version=DATA_VERSIONS[commodity],
        exchange=exchange,
        instrument_class=instrument_class,
        instrument=instrument,
        endpoint=endpoint,
    )


def parse_reference_path(api_path: str) -> str | None:
    """``v1/instruments`` → ``instruments``; None when no route."""
    version, _, resource = api_path.partition("/")
    if version == "v1" and resource in REFERENCE_RESOURCES:
        return resource
    return None


# --- protocol checks ----------------------------------------------------------------------


def check_method(method: str) -> None:
    if method not in ALLOWED_METHODS:
        raise Refusal(405, MESSAGE_METHOD_NOT_ALLOWED, {"Allow": ", ".join(ALLOWED_METHODS)})


def _quality(params: list[str]) -> float:
    for param in params:
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            value = value.strip()
            # A malformed q-value is read as 1: the client did list the range.
            return float(value) if QVALUE_PATTERN.fullmatch(value) else 1.0
    return 1.0


def accepts_json(accept: str | None) -> bool:
    """Whether an Accept header admits application/json (absent or empty admits all).

    The most specific matching range decides, as RFC 9110 §12.5.1 says: with
    ``application/json;q=0, */*`` JSON is refused.
    """
    if accept is None or not accept.strip():
        return True
    specificity = {"*/*": 1, "application/*": 2, "application/json": 3}
    best_rank, best_quality = 0, 0.0
    for item in accept.split(","):
        media, *params = item.split(";")
        rank = specificity.get(media.strip().lower(), 0)
        if rank == 0:
            continue
        quality = _quality(params)
        if rank > best_rank or (rank == best_rank and quality > best_quality):
            best_rank, best_quality = rank, quality
    return best_rank > 0 and best_quality > 0


def check_accept(accept: str | None) -> None:
    if not accepts_json(accept):
        raise Refusal(406, f"{MESSAGE_NOT_ACCEPTABLE} -- this API only answers application/json.")


# --- test scenarios -----------------------------------------------------------------------

# Forced outcomes checked in step 1, before the route: they come from the host or from the
# gateway in front of it, whatever the request.
FRONT_OUTCOMES = ("maintenance", "gateway", "gateway-timeout", "fail-first")
# Forced outcomes checked in step 5, after the route, the method and Accept: the API's own.
API_OUTCOMES = ("fault", "ratelimit", "problem", "plain")
OUTCOMES = FRONT_OUTCOMES + API_OUTCOMES


@dataclass(frozen=True)
class FailFirst:
    """``fail-first=N:STATUS[;id=NAME]``: the first N requests of a sequence answer STATUS.

    ``sequence_id`` is never read: it only makes the header value, hence the sequence, new.
    """

    count: int
    status: int
    sequence_id: str | None = None


@dataclass(frozen=True)
class Scenario:
    """What ``X-Sandbox-Scenario`` asks for: one forced outcome and/or a delay or a drip."""

    outcome: str | None = None  # one of OUTCOMES
    retry_after: int | None = None  # maintenance=N, ratelimit=N
    delay_seconds: float = 0.0  # slow=N
    rate_limit_style: str = "seconds"  # ratelimit=date, ratelimit=legacy
    fail_first: FailFirst | None = None
    drip_seconds: int = 0  # drip=N


SCENARIO_HELP = (
    "use one of maintenance[=seconds], fault, ratelimit[=seconds|date|legacy], gateway, "
    "gateway-timeout, problem, plain, fail-first=N:STATUS[;id=NAME], with slow=seconds "
    f"(0 to {MAX_SLOW_SECONDS}) and/or drip=seconds (1 to {MAX_DRIP_SECONDS}), "
    "separated by commas"
)


def _scenario_error(reason: str) -> BadParameter:
    return BadParameter(SCENARIO_HEADER, f"{reason}; {SCENARIO_HELP}.", kind="header")


def _retry_after_argument(name: str, argument: str) -> int:
    if not SECONDS_PATTERN.fullmatch(argument) or not 1 <= int(argument) <= MAX_RETRY_AFTER:
        raise _scenario_error(
            f"{name} takes a Retry-After of 1 to {MAX_RETRY_AFTER} whole seconds, "
            f"got {echo(argument)}"
        )
    return int(argument)


def parse_fail_first(argument: str) -> FailFirst:
    match = FAIL_FIRST_PATTERN.fullmatch(argument)
    statuses = ", ".join(map(str, FAIL_FIRST_STATUSES))
    if (
        match is None
        or not 1 <= int(match["count"]) <= MAX_FAIL_FIRST
        or int(match["status"]) not in FAIL_FIRST_STATUSES
    ):
        raise _scenario_error(
            f"fail-first takes N:STATUS with N from 1 to {MAX_FAIL_FIRST} and STATUS one of "
            f"{statuses}, optionally followed by ;id=NAME (letters, digits, '.', '_', '-'), "
            f"got {echo(argument)}"
        )
    return FailFirst(
        count=int(match["count"]), status=int(match["status"]), sequence_id=match["id"]
    )


def _parse_outcome(name: str, has_value: str, argument: str) -> Scenario:
    """One forced outcome and its argument, as a Scenario holding only them."""
    if name == "maintenance":
        retry_after = _retry_after_argument(name, argument) if has_value else None
        return Scenario(outcome=name, retry_after=retry_after)
    if name == "ratelimit":
        style = argument.lower()
        if has_value and style in ("date", "legacy"):
            return Scenario(outcome=name, rate_limit_style=style)
        retry_after = _retry_after_argument(name, argument) if has_value else None
        return Scenario(outcome=name, retry_after=retry_after)
    if name == "fail-first":
        return Scenario(outcome=name, fail_first=parse_fail_first(argument))
    if has_value:
        raise _scenario_error(f"{name} takes no value")
    return Scenario(outcome=name)


def parse_scenario(value: str | None) -> Scenario:
    """Read ``X-Sandbox-Scenario``; absent or empty means no scenario."""
    if value is None or not value.strip():
        return Scenario()
    if len(value) > MAX_HEADER_LENGTH:
        raise _scenario_error("too long")
    scenario = Scenario()
    seen: set[str] = set()
    for item in value.split(","):
        name, has_value, argument = (part.strip() for part in item.partition("="))
        name = name.lower()
        if name in seen:
            raise _scenario_error(f"{name} is given twice")
        seen.add(name)
        if name == "slow":
            if not DELAY_PATTERN.fullmatch(argument) or float(argument) > MAX_SLOW_SECONDS:
                raise _scenario_error(f"slow needs a number of seconds, got {echo(argument)}")
            scenario = replace(scenario, delay_seconds=float(argument))
        elif name == "drip":
            if not DRIP_PATTERN.fullmatch(argument) or not 1 <= int(argument) <= MAX_DRIP_SECONDS:
                raise _scenario_error(
                    f"drip needs 1 to {MAX_DRIP_SECONDS} whole seconds, got {echo(argument)}"
                )
            scenario = replace(scenario, drip_seconds=int(argument))
        elif name in OUTCOMES:
            if scenario.outcome is not None:
                raise _scenario_error(f"{scenario.outcome} and {name} cannot both happen")
            outcome = _parse_outcome(name, has_value, argument)
            scenario = replace(
                outcome, delay_seconds=scenario.delay_seconds, drip_seconds=scenario.drip_seconds
            )
        else:
            raise _scenario_error(f"unknown scenario {echo(name)}")
    return scenario


def http_date(epoch_seconds: float) -> str:
    """An IMF-fixdate (RFC 9110 §5.6.7), e.g. ``Sun, 01 Jun 2025 12:00:33 GMT``."""
    return formatdate(epoch_seconds, usegmt=True)


def rate_limit_headers(plan: KeyPlan, *, remaining: int, reset_seconds: int) -> dict[str, str]:
    """The IETF draft's fields: the key's quota per window, what is left and when it resets."""
    name = RATE_LIMIT_POLICY_NAME
    return {
        "RateLimit-Policy": f'"{name}";q={plan.rate_limit};w={plan.rate_window_seconds}',
        "RateLimit": f'"{name}";r={max(0, remaining)};t={max(0, reset_seconds)}',
    }


def legacy_rate_limit_headers(plan: KeyPlan, *, reset_at: int) -> dict[str, str]:
    """The older de facto fields; ``X-RateLimit-Reset`` is a Unix time in seconds."""
    return {
        "X-RateLimit-Limit": str(plan.rate_limit),
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": str(reset_at),
    }


def rate_limit_refusal(
    retry_after: int,
    *,
    now_seconds: float,
    plan: KeyPlan | None = None,
    style: str = "seconds",
) -> Refusal:
    """429 "Rate limit reached". ``plan`` is the known key's (None: no key or an unknown one).

    - seconds: ``Retry-After: <seconds>``, plus RateLimit-Policy / RateLimit for a known key;
    - date: the same with ``Retry-After`` as an HTTP-date ``retry_after`` seconds from now;
    - legacy: only X-RateLimit-Limit / -Remaining / -Reset (the known key's quota, else the
      demo key's), no Retry-After.
    """
    reset_at = math.ceil(now_seconds) + retry_after
    if style == "legacy":
        headers = legacy_rate_limit_headers(plan or DEFAULT_PLAN, reset_at=reset_at)
        return Refusal(429, MESSAGE_RATE_LIMITED, headers)
    value = http_date(reset_at) if style == "date" else str(retry_after)
    headers = {"Retry-After": value}
    if plan is not None:
        headers |= rate_limit_headers(plan, remaining=0, reset_seconds=retry_after)
    return Refusal(429, MESSAGE_RATE_LIMITED, headers)


def maintenance_refusal(retry_after: int | None = None) -> Refusal:
    seconds = retry_after or MAINTENANCE_RETRY_AFTER
    return Refusal(503, MESSAGE_MAINTENANCE, {"Retry-After": str(seconds)})


GATEWAY_PAGES = {
    502: ("Bad Gateway", "The proxy received an invalid response from the upstream server."),
    504: ("Gateway Timeout", "The proxy did not receive a timely response from the upstream."),
}


def gateway_refusal(status: int) -> RawRefusal:
    """A proxy's own error page (nginx-like HTML), not the API's JSON."""
    reason, explanation = GATEWAY_PAGES[status]
    title = f"{status} {reason}"
    page = (
        f"<html><head><title>{title}</title></head><body><h1>{title}</h1>"
        f"<p>{explanation}</p><hr><address>sandbox-gateway</address></body></html>\n"
    )
    return RawRefusal(status, title, content_type="text/html", text=page)


PROBLEM_TITLE = "Request refused"
PROBLEM_DETAIL = (
    "The request was refused with an RFC 9457 problem document, as the "
    f"{SCENARIO_HEADER} header asked (problem)."
)
PLAIN_TEXT = (
    "500 Internal Server Error\n\nThe server encountered an unexpected condition that "
    "prevented it from fulfilling the request.\n"
)


def problem_refusal(*, problem_type: str, instance: str) -> RawRefusal:
    """400 as ``application/problem+json`` (RFC 9457): type, title, status, detail, instance."""
    problem = {
        "type": problem_type,
        "title": PROBLEM_TITLE,
        "status": 400,
        "detail": PROBLEM_DETAIL,
        "instance": instance,
    }
    return RawRefusal(
        400, PROBLEM_TITLE, content_type="application/problem+json", text=json.dumps(problem)
    )


def plain_refusal() -> RawRefusal:
    return RawRefusal(
        500, "Internal Server Error", content_type="text/plain; charset=utf-8", text=PLAIN_TEXT
    )


def front_refusal(scenario: Scenario) -> Refusal | None:
    """Step 1 outcomes that need no state: maintenance, gateway, gateway-timeout."""
    if scenario.outcome == "maintenance":
        return maintenance_refusal(scenario.retry_after)
    if scenario.outcome == "gateway":
        return gateway_refusal(502)
    if scenario.outcome == "gateway-timeout":
        return gateway_refusal(504)
    return None


def fail_first_counter(scenario_value: str, api_key: str | None, path: str) -> str:
    """What a fail-first sequence is counted under: the exact header value, key and path.

    Hashed, so the cache never holds a key in clear and the name has a fixed length.
    """
    identity = json.dumps([scenario_value.strip(), api_key or "", path])
    return hashlib.sha256(identity.encode()).hexdigest()


def fail_first_refusal(
    rule: FailFirst, attempt: int, *, now_seconds: float, plan: KeyPlan | None = None
) -> Refusal | None:
    """The answer to the ``attempt``-th request (from 1) of a fail-first sequence: STATUS for
    the first ``rule.count`` ones, as the one-off scenario for that status answers it (with
    a Retry-After of 1 second for 429 and 503), then None (handled normally)."""
    if attempt > rule.count:
        return None
    if rule.status == 429:
        return rate_limit_refusal(FAIL_FIRST_RETRY_AFTER, now_seconds=now_seconds, plan=plan)
    if rule.status == 503:
        return maintenance_refusal(FAIL_FIRST_RETRY_AFTER)
    if rule.status == 500:
        return Refusal(500, MESSAGE_FAULT)
    return gateway_refusal(rule.status)


def scenario_refusal(
    scenario: Scenario,
    *,
    now_seconds: float,
    plan: KeyPlan | None = None,
    problem_type: str = "about:blank",
    instance: str = "/",
) -> Refusal | None:
    """Step 5: the API's own forced outcomes (fault, ratelimit, problem, plain)."""
    if scenario.outcome == "fault":
        return Refusal(500, MESSAGE_FAULT)
    if scenario.outcome == "ratelimit":
        return rate_limit_refusal(
            scenario.retry_after or SCENARIO_RATELIMIT_RETRY_AFTER,
            now_seconds=now_seconds,
            plan=plan,
            style=scenario.rate_limit_style,
        )
    if scenario.outcome == "problem":
        return problem_refusal(problem_type=problem_type, instance=instance)
    if scenario.outcome == "plain":
        return plain_refusal()
    return None


def drip_chunks(body: bytes, seconds: int) -> list[bytes]:
    """A body cut into ``seconds + 1`` parts of (nearly) equal size: the first is sent at
    once, then one a second, so the whole body takes ``seconds`` to arrive."""
    parts = seconds + 1
    size, extra = divmod(len(body), parts)
    chunks: list[bytes] = []
    start = 0
    for index in range(parts):
        end = start + size + (1 if index < extra else 0)
        chunks.append(body[start:end])
        start = end
    return chunks


# --- echo and redirects -------------------------------------------------------------------

REDACTED_OWN_COOKIE = "[not echoed: a cookie of this server]"


def echo_query(query_string: str) -> dict[str, list[str]]:
    """Query parameters, every value of each, in order (percent-escapes read as UTF-8)."""
    params: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string, keep_blank_values=True, errors="replace"):
        params.setdefault(name, []).append(value)
    return params


def _hide_own_cookies(cookie_header: str, own_cookies: frozenset[str]) -> str:
    """The Cookie header with the values of this server's own cookies (session, CSRF)
    replaced: echoing them would hand an HttpOnly session cookie to any script that can
    fetch this origin. Every other cookie is echoed as sent."""
    pairs = []
    for pair in cookie_header.split(";"):
        name, has_value, _value = pair.partition("=")
        if has_value and name.strip() in own_cookies:
            pair = f"{name}={REDACTED_OWN_COOKIE}"
        pairs.append(pair)
    return ";".join(pairs)


def echo_body(
    *,
    method: str,
    path: str,
    query_string: str,
    headers: Mapping[str, str],
    body: bytes,
    api_key: str | None,
    own_cookies: frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """What ``/sandbox/echo`` answers: the request as received, secrets included on purpose
    (the dashboard must redact them), the body as text cut at ECHO_BODY_CAP bytes, and the
    X-Api-Key value base64-encoded (to prove redaction finds encoded forms too)."""
    echoed_headers = dict(headers)
    for name, value in headers.items():
        if name.lower() == "cookie":
            echoed_headers[name] = _hide_own_cookies(value, own_cookies)
    api_key_b64 = None
    if api_key is not None:
        # Header values arrive as latin-1 text: this gives back the bytes that were sent.
        api_key_b64 = base64.b64encode(api_key.encode("latin-1", "replace")).decode("ascii")
    return {
        "method": method,
        "path": path,
        "query_string": query_string,
        "query": echo_query(query_string),
        "headers": echoed_headers,
        "body": body[:ECHO_BODY_CAP].decode("utf-8", "replace"),
        "body_truncated": len(body) > ECHO_BODY_CAP,
        "api_key_b64": api_key_b64,
    }


# RFC 3986 query characters, plus '%' so that escapes already there stay as they are.
_QUERY_SAFE = "!$&'()*+,;=:@/?%-._~"


def redirect_location(target_path: str, query_string: str) -> str:
    """A Location on this server: ``target_path`` (a path of the sandbox, never a URL taken
    from the request) and the request's query string, kept unless it is too long."""
    query = quote(query_string.encode("latin-1", "replace"), safe=_QUERY_SAFE)
    if query and len(query) <= MAX_REDIRECT_QUERY_LENGTH:
        return f"{target_path}?{query}"
    return target_path


def check_redirect_hops(hops: int) -> None:
    if hops > MAX_REDIRECT_HOPS:
        raise Refusal(
            404,
            f"{MESSAGE_NOT_FOUND} -- a redirect chain is 0 to {MAX_REDIRECT_HOPS} hops long.",
        )


# --- keys and entitlements ----------------------------------------------------------------


def authenticate(api_key: str | None) -> KeyPlan:
    if api_key is None or not api_key.strip():
        raise Refusal(
            401,
            f"{MESSAGE_UNAUTHORIZED} The API key is missing: send it in the "
            f"{API_KEY_HEADER} header.",
        )
    plan = KEY_PLANS.get(api_key.strip())
    if plan is None:
        raise Refusal(401, f"{MESSAGE_UNAUTHORIZED} The API key is invalid.")
    return plan


def known_plan(api_key: str | None) -> KeyPlan | None:
    """The plan of a key the sandbox knows, without refusing anything (for the rate-limit
    headers of answers decided before the key is checked)."""
    if api_key is None:
        return None
    return KEY_PLANS.get(api_key.strip())


def check_entitlement(plan: KeyPlan, instrument: str) -> None:
    """401 for a key that holds no instrument at all (Kaiko's wording), 403 for one outside."""
    if plan.no_permission:
        raise Refusal(401, MESSAGE_NO_PERMISSION)
    if plan.instruments is not None and instrument not in plan.instruments:
        raise Refusal(403, MESSAGE_FORBIDDEN)


def find_route_instrument(route: MarketRoute) -> Instrument:
    if route.exchange not in EXCHANGES:
        raise Refusal(404, f"{MESSAGE_NOT_FOUND} -- unknown exchange {echo(route.exchange)}.")
    if route.instrument_class not in INSTRUMENT_CLASSES:
        raise Refusal(
            404,
            f"{MESSAGE_NOT_FOUND} -- unknown instrument class {echo(route.instrument_class)}.",
        )
    instrument = find_instrument(route.exchange, route.instrument_class, route.instrument)
    if instrument is None:
        raise Refusal(
            404,
            f"{MESSAGE_NOT_FOUND} -- unknown instrument {echo(route.instrument)} "
            f"on exchange {echo(route.exchange)}.",
        )
    return instrument


# --- rate-limit windows -------------------------------------------------------------------


@dataclass(frozen=True)
class RateWindow:
    """A fixed window: its number and the whole seconds until it resets (at least 1)."""

    index: int
    retry_after: int


def rate_window(now_seconds: float, window_seconds: int) -> RateWindow:
    index = int(now_seconds // window_seconds)
    reset_at = (index + 1) * window_seconds
    return RateWindow(index=index, retry_after=max(1, math.ceil(reset_at - now_seconds)))


@dataclass(frozen=True)
class RateStatus:
    """A key's standing after a request was counted in its window."""

    remaining: int
    reset_seconds: int
    exceeded: bool


def rate_status(plan: KeyPlan, *, count: int, window: RateWindow) -> RateStatus:
    """``count`` is the number of requests in the window, this one included."""
    return RateStatus(
        remaining=max(0, plan.rate_limit - count),
        reset_seconds=window.retry_after,
        exceeded=count > plan.rate_limit,
    )


# --- parameters ---------------------------------------------------------------------------


@dataclass(frozen=True)
class MarketQuery:
    """The parameters of a market-data request, checked and with defaults applied."""

    page_size: int = DEFAULT_PAGE_SIZE
    sort: str = DEFAULT_SORT
    start_ms: int | None = None
    end_ms: int | None = None
    interval: str | None = None
    interval_seconds: int | None = None


def parse_interval(value: str) -> int:
    """``15m`` → 900. A number followed by s, m, h or d; at least 1s, at most 1d."""
    match = INTERVAL_PATTERN.fullmatch(value)
    if match is None:
        raise BadParameter(
            "interval",
            f"must be a number followed by s, m, h or d (e.g. 1m, 4h, 1d), got {echo(value)}.",
        )
    seconds = int(match.group(1)) * UNIT_SECONDS[match.group(2)]
    if seconds == 0:
        raise BadParameter("interval", f"must be at least 1s, got {echo(value)}.")
    if seconds > MAX_INTERVAL_SECONDS:
        raise BadParameter("interval", f"must be at most 1d, got {echo(value)}.")
    return seconds


def parse_page_size(value: str) -> int:
    if not PAGE_SIZE_PATTERN.fullmatch(value) or not (1 <= int(value) <= MAX_PAGE_SIZE):
        raise BadParameter(
            "page_size", f"must be a whole number from 1 to {MAX_PAGE_SIZE}, got {echo(value)}."
        )
    return int(value)


def parse_sort(value: str) -> str:
    if value not in SORTS:
        raise BadParameter("sort", f"must be asc or desc, got {echo(value)}.")
    return value


def parse_time(name: str, value: str) -> int:
    """An ISO 8601 date-time (UTC when no offset is given) → milliseconds since the epoch."""
    hint = " (a '+' in a URL must be sent as %2B)" if " " in value else ""
    try:
        if len(value) > 64:
            raise ValueError(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise BadParameter(
            name,
            f"must be an ISO 8601 date-time such as 2024-01-01T00:00:00Z, got {echo(value)}{hint}.",
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    if not EPOCH <= moment < LATEST_MOMENT:
        raise BadParameter(name, f"must be between 1970 and 9999, got {echo(value)}.")
    return to_ms(moment)


def check_access_range(plan: KeyPlan, query: MarketQuery) -> None:
    """403 when the requested times fall before the key's access range: a start_time before
    its start, or an end_time at or before it (the range asked for is then wholly outside).
    Without start_time the data simply starts at the access start (see ``data_bounds``)."""
    if plan.access_start is None:
        return
    access_ms = to_ms(plan.access_start)
    if query.start_ms is not None and query.start_ms < access_ms:
        reason = f"start_time {iso_ms(query.start_ms)} is before"
    elif query.end_ms is not None and query.end_ms <= access_ms:
        reason = f"end_time {iso_ms(query.end_ms)} is not after"
    else:
        return
    raise Refusal(
        403,
        f"{MESSAGE_OUTSIDE_ACCESS_RANGE}: {reason} {iso_ms(access_ms)}, "
        "the start of your access range.",
        fields={"access": access_block(plan)},
    )


def encode_token(route: MarketRoute, query: MarketQuery) -> str:
    """A continuation token: the next page's query, bound to the route it came from."""
    fields = {
        "resource": route.resource,
        "interval": query.interval or "",
        "page_size": str(query.page_size),
        "sort": query.sort,
        "start_time": "" if query.start_ms is None else iso_ms(query.start_ms),
        "end_time": "" if query.end_ms is None else iso_ms(query.end_ms),
    }
    raw = json.dumps(fields, separators=(",", ":"), sort_keys=True).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


TOKEN_FIELDS = frozenset({"resource", "interval", "page_size", "sort", "start_time", "end_time"})


def decode_token(route: MarketRoute, token: str) -> dict[str, str]:
    """The parameters a continuation token carries (to be checked like any others)."""
    invalid = BadParameter("continuation_token", "is not a token issued by this API.")
    if len(token) > MAX_TOKEN_LENGTH:
        raise invalid
    try:
        raw = base64.b64decode(token + "=" * (-len(token) % 4), altchars=b"-_", validate=True)
        fields = json.loads(raw.decode("utf-8"))
    except (ValueError, RecursionError):
        raise invalid from None
    if (
        not isinstance(fields, dict)
        or set(fields) != TOKEN_FIELDS
        or not all(isinstance(value, str) for value in fields.values())
    ):
        raise invalid
    if fields.pop("resource") != route.resource:
        raise BadParameter(
            "continuation_token", "belongs to another endpoint, exchange or instrument."
        )
    return {name: value for name, value in fields.items() if value}


def parse_query(route: MarketRoute, params: Mapping[str, str]) -> MarketQuery:
    """Check the query string of a market-data request, in a fixed order.

    A continuation token carries the whole query: when one is sent, the other parameters
    are ignored (Kaiko asks clients to send only the token after the first page).
    Parameters this API does not know are ignored.
    """
    token = params.get("continuation_token", "")
    if token:
        params = decode_token(route, token)
    interval: str | None = None
    interval_seconds: int | None = None
    if route.is_aggregation:
        interval = params.get("interval", DEFAULT_INTERVAL)
        interval_seconds = parse_interval(interval)
    page_size = parse_page_size(params["page_size"]) if "page_size" in params else DEFAULT_PAGE_SIZE
    sort = parse_sort(params["sort"]) if "sort" in params else DEFAULT_SORT
    start_ms = parse_time("start_time", params["start_time"]) if "start_time" in params else None
    end_ms = parse_time("end_time", params["end_time"]) if "end_time" in params else None
    if start_ms is not None and end_ms is not None and start_ms > end_ms:
        raise BadParameter(
            "start_time",
            f"must not be after end_time (start_time {iso_ms(start_ms)}, "
            f"end_time {iso_ms(end_ms)}).",
        )
    return MarketQuery(
        page_size=page_size,
        sort=sort,
        start_ms=start_ms,
        end_ms=end_ms,
        interval=interval,
        interval_seconds=interval_seconds,
    )


# --- deterministic data -------------------------------------------------------------------


def _units(*parts: object, count: int) -> list[float]:
    """``count`` numbers in [0, 1), fixed for the same parts."""
    digest = hashlib.blake2b("|".join(map(str, parts)).encode(), digest_size=8 * count).digest()
    return [int.from_bytes(digest[i : i + 8]) / 2**64 for i in range(0, 8 * count, 8)]


def price_at(instrument: Instrument, moment_ms: int) -> float:
    """A smooth, always positive made-up price path around the instrument's base price."""
    (phase,) = _units(instrument.exchange, instrument.code, "phase", count=1)
    phase *= 2 * math.pi
    days = moment_ms / DAY_MS
    wave = (
        0.30 * math.sin(2 * math.pi * days / 365.25 + phase)
        + 0.08 * math.sin(2 * math.pi * days / 27.3 + 2 * phase)
        + 0.015 * math.sin(2 * math.pi * days / 0.73 + 3 * phase)
        + 0.004 * math.sin(2 * math.pi * days / 0.041 + phase)
    )
    return instrument.base_price * (1 + wave)


def _price(instrument: Instrument, value: float) -> str:
    return f"{value:.{instrument.price_decimals}f}"


def ohlcv_bucket(
    instrument: Instrument, start_ms: int, interval_ms: int, *, with_vwap: bool
) -> dict[str, Any]:
    """One bucket as Kaiko writes it: timestamp in ms, prices and volume as strings."""
    open_, close = price_at(instrument, start_ms), price_at(instrument, start_ms + interval_ms)
    fraction = interval_ms / DAY_MS
    spread = 0.001 + 0.02 * math.sqrt(fraction)
    u_high, u_low, u_volume, u_count, u_vwap = _units(
        instrument.exchange, instrument.code, "bucket", start_ms, interval_ms, count=5
    )
    high = max(open_, close) * (1 + spread * u_high)
    low = min(open_, close) * (1 - spread * u_low)
    volume = instrument.daily_volume * fraction * (0.4 + 1.2 * u_volume)
    bucket: dict[str, Any] = {"timestamp": start_ms}
    if with_vwap:
        bucket["count"] = max(1, round(instrument.daily_trades * fraction * (0.4 + 1.2 * u_count)))
    bucket |= {
        "open": _price(instrument, open_),
        "high": _price(instrument, high),
        "low": _price(instrument, low),
        "close": _price(instrument, close),
        "volume": f"{volume:.8f}",
    }
    if with_vwap:
        bucket["price"] = _price(instrument, low + (high - low) * (0.25 + 0.5 * u_vwap))
    return bucket


TRADE_DENSITY = 0.35  # share of seconds that hold a trade (at most one per second)


def trade_in_second(instrument: Instrument, second: int) -> dict[str, Any] | None:
    """The trade made in this second, if any."""
    present, u_ms, u_price, u_amount, u_side = _units(
        instrument.exchange, instrument.code, "trade", second, count=5
    )
    if present >= TRADE_DENSITY:
        return None
    moment_ms = second * 1000 + int(u_ms * 1000)
    price = price_at(instrument, moment_ms) * (1 + 0.0004 * (u_price - 0.5))
    amount = instrument.daily_volume / instrument.daily_trades * (0.05 + 3 * u_amount**3)
    first_second = to_ms(instrument.trade_start) // 1000
    return {
        "timestamp": moment_ms,
        "trade_id": str(second - first_second),
        "price": _price(instrument, price),
        "amount": f"{amount:.8f}",
        "taker_side_sell": u_side < 0.5,
    }


@dataclass(frozen=True)
class Page:
    data: list[dict[str, Any]]
    next_query: MarketQuery | None


def data_bounds(
    instrument: Instrument, plan: KeyPlan, query: MarketQuery, now_ms: int
) -> tuple[int, int]:
    """The half-open range [low, high) of data this key gets for this query."""
    low = to_ms(instrument.trade_start)
    if plan.access_start is not None:
        low = max(low, to_ms(plan.access_start))
    if query.start_ms is not None:
        low = max(low, query.start_ms)
    high = now_ms + 1 if query.end_ms is None else min(query.end_ms, now_ms + 1)
    return low, high


def aggregation_page(
    instrument: Instrument,
    query: MarketQuery,
    *,
    low_ms: int,
    high_ms: int,
    with_vwap: bool,
    cap: int = MAX_ITEMS_PER_PAGE,
) -> Page:
    """Buckets starting in [low_ms, high_ms), aligned on the interval, one page of them."""
    assert query.interval_seconds is not None
    step = query.interval_seconds * 1000
    first = -(-low_ms // step) * step
    last = (high_ms - 1) // step * step
    total = (last - first) // step + 1 if last >= first else 0
    limit = min(query.page_size, cap)
    if query.sort == "asc":
        starts = [first + i * step for i in range(min(limit, total))]
    else:
        starts = [last - i * step for i in range(min(limit, total))]
    data = [ohlcv_bucket(instrument, start, step, with_vwap=with_vwap) for start in starts]
    next_query = None
    if total > limit:
        if query.sort == "asc":
            next_query = replace(query, start_ms=starts[-1] + step)
        else:
            next_query = replace(query, end_ms=starts[-1])
    return Page(data=data, next_query=next_query)


def trades_page(
    instrument: Instrument,
    query: MarketQuery,
    *,
    low_ms: int,
    high_ms: int,
    cap: int = MAX_ITEMS_PER_PAGE,
) -> Page:
    """Trades made in [low_ms, high_ms), one page of them."""
    limit = min(query.page_size, cap)
    first_second, last_second = low_ms // 1000, (high_ms - 1) // 1000
    if query.sort == "asc":
        seconds = range(first_second, last_second + 1)
    else:
        seconds = range(last_second, first_second - 1, -1)
    found: list[dict[str, Any]] = []
    for second in seconds:
        trade = trade_in_second(instrument, second)
        if trade is not None and low_ms <= trade["timestamp"] < high_ms:
            found.append(trade)
            # One more than a page tells whether there is a next page.
            if len(found) > limit:
                break
    data, more = found[:limit], len(found) > limit
    next_query = None
    if more:
        if query.sort == "asc":
            next_query = replace(query, start_ms=data[-1]["timestamp"] + 1)
        else:
            next_query = replace(query, end_ms=data[-1]["timestamp"])
    return Page(data=data, next_query=next_query)


def market_page(
    route: MarketRoute, instrument: Instrument, plan: KeyPlan, query: MarketQuery, now_ms: int
) -> Page:
    low_ms, high_ms = data_bounds(instrument, plan, query, now_ms)
    if route.endpoint == "trades":
        return trades_page(instrument, query, low_ms=low_ms, high_ms=high_ms)
    return aggregation_page(
        instrument,
        query,
        low_ms=low_ms,
        high_ms=high_ms,
        with_vwap=route.endpoint == "count_ohlcv_vwap",
    )


# --- envelopes ----------------------------------------------------------------------------


def error_body(message: str) -> dict[str, Any]:
    return {"result": "error", "message": message}


def refusal_body(refusal: Refusal) -> dict[str, Any]:
    """Kaiko's error envelope for a refusal, with its extra members (if any) after it."""
    return error_body(refusal.message) | refusal.fields


def access_block(plan: KeyPlan) -> dict[str, Any]:
    start = None if plan.access_start is None else to_ms(plan.access_start)
    window = {"start_timestamp": start, "end_timestamp": None}
    return {"access_range": dict(window), "data_range": dict(window)}


def query_echo(route: MarketRoute, query: MarketQuery, request_ms: int) -> dict[str, Any]:
    echo_: dict[str, Any] = {
        "commodity": "trades",
        "data_version": route.data_version,
        "exchange": route.exchange,
        "instrument_class": route.instrument_class,
        "instrument": route.instrument,
        "page_size": query.page_size,
        "sort": query.sort,
        "start_time": None if query.start_ms is None else iso_ms(query.start_ms),
        "end_time": None if query.end_ms is None else iso_ms(query.end_ms),
    }
    if route.is_aggregation:
        echo_ |= {"interval": query.interval, "aggregation": route.endpoint}
    echo_["request_time"] = iso_ms(request_ms)
    return echo_


def market_body(
    *,
    route: MarketRoute,
    query: MarketQuery,
    page: Page,
    plan: KeyPlan,
    now_ms: int,
    endpoint_url: str,
) -> dict[str, Any]:
    """Kaiko's success envelope; ``endpoint_url`` is the absolute URL without query."""
    body: dict[str, Any] = {
        "result": "success",
        "time": iso_ms(now_ms),
        "timestamp": now_ms,
        "query": query_echo(route, query, now_ms),
        "data": page.data,
        "access": access_block(plan),
    }
    if page.next_query is not None:
        token = encode_token(route, page.next_query)
        body["continuation_token"] = token
        body["next_url"] = f"{endpoint_url}?continuation_token={token}"
    return body


def reference_data(resource: str) -> list[dict[str, Any]]:
    if resource == "assets":
        return [
            {"code": asset.code, "name": asset.name, "asset_class": asset.asset_class}
            for asset in ASSETS.values()
        ]
    if resource == "exchanges":
        return [
            {
                "code": exchange.code,
                "name": exchange.name,
                "kaiko_legacy_slug": exchange.legacy_slug,
            }
            for exchange in EXCHANGES.values()
        ]
    return [
        {
            "exchange_code": instrument.exchange,
            "class": instrument.instrument_class,
            "code": instrument.code,
            "base_asset": instrument.base_asset,
            "quote_asset": instrument.quote_asset,
            "kaiko_legacy_exchange_slug": EXCHANGES[instrument.exchange].legacy_slug,
            "trade_start_time": iso_ms(to_ms(instrument.trade_start)),
            "trade_start_timestamp": to_ms(instrument.trade_start),
            "trade_end_time": None,
            "trade_end_timestamp": None,
        }
        for instrument in INSTRUMENTS.values()
    ]


def reference_body(resource: str, now_ms: int) -> dict[str, Any]:
    return {
        "result": "success",
        "time": iso_ms(now_ms),
        "timestamp": now_ms,
        "data": reference_data(resource),
    }
