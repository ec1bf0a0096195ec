"""Ranked causes and their evidence: the wait and the quota a response announces, the
idempotency rule, local parameter checks, secrets, and diagnoses that never fail."""

import json
import socket
import ssl
from datetime import UTC, datetime
from typing import Any

import pytest
import requests
import urllib3.exceptions
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.diagnosis import lookups
from apps.diagnosis.causes import check_param, distinct_evidence
from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.lookups import get_profile
from apps.diagnosis.results import Diagnosis, DiagnosisContext, Evidence
from apps.egress import client, types
from apps.egress.client import classify
from apps.egress.types import Exchange, Failure, FailureKind, Response

KAIKO = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
KEY = "kaiko-key-5f0c2b7e9d"
DATE = "Tue, 24 Nov 2026 20:00:00 GMT"
NOW = datetime(2026, 11, 24, 20, 0, 0, tzinfo=UTC)


def response(
    status: int = 429, headers: list[tuple[str, str]] | None = None, body: bytes = b""
) -> Response:
    return Response(status=status, reason="", headers=headers or [], body=body, truncated=False)


def exchange_of(
    status: int = 429,
    headers: list[tuple[str, str]] | None = None,
    body: bytes | dict[str, Any] = b"",
    *,
    method: str = "GET",
    url: str = KAIKO,
    request_headers: list[tuple[str, str]] | None = None,
) -> Exchange:
    if isinstance(body, dict):
        body = json.dumps(body).encode()
        headers = [*(headers or []), ("Content-Type", "application/json")]
    return Exchange(
        method=method,
        url=url,
        request_headers=request_headers if request_headers is not None else [("X-Api-Key", KEY)],
        response=response(status, headers, body),
        failure=None,
        elapsed_ms=10.0,
    )


def failed(kind: FailureKind, *, method: str = "GET", detail: str = "") -> Exchange:
    return Exchange(
        method=method,
        url=KAIKO,
        request_headers=[("X-Api-Key", KEY)],
        response=None,
        failure=Failure(kind=kind, message="it failed", detail=detail),
        elapsed_ms=50.0,
    )


# ---------------------------------------------------------------- the idempotency rule


@pytest.mark.parametrize(
    ("method", "auto"),
    [
        ("GET", True),
        ("HEAD", True),
        ("OPTIONS", True),
        ("PUT", True),
        ("DELETE", True),
        ("POST", False),
        ("PATCH", False),
        ("CONNECT", False),
        ("", False),
    ],
)
def test_it_retries_automatically_only_idempotent_methods(method: str, auto: bool) -> None:
    """RFC 9110 §9.2.2: a non-idempotent request must not be retried automatically."""
    for status in (429, 500, 502, 503, 504):
        diagnosis = diagnose(exchange_of(status, method=method), get_profile("http"))
        assert diagnosis.retryable is True
        assert diagnosis.auto_retry is auto, (method, status)
        assert "RFC 9110 §9.2.2" in diagnosis.retry_reason
        if not auto:
            assert "must not be retried automatically" in diagnosis.retry_reason


@pytest.mark.parametrize(
    ("kind", "auto_for_post"),
    [
        (FailureKind.CONNECT_TIMEOUT, True),  # nothing was sent
        (FailureKind.CONNECTION_REFUSED, True),
        (FailureKind.READ_TIMEOUT, False),  # it may have been processed
        (FailureKind.CONNECTION_RESET, False),
        (FailureKind.PROTOCOL, False),
    ],
)
def test_it_retries_a_failed_post_only_when_nothing_was_sent(
    kind: FailureKind, auto_for_post: bool
) -> None:
    post = diagnose(failed(kind, method="POST"), get_profile("kaiko"))
    assert post.retryable is True
    assert post.auto_retry is auto_for_post
    assert diagnose(failed(kind), get_profile("kaiko")).auto_retry is True


def test_it_never_retries_what_retrying_cannot_fix() -> None:
    for status in (400, 401, 403, 404, 405, 406, 422):
        diagnosis = diagnose(exchange_of(status), get_profile("kaiko"))
        assert (diagnosis.retryable, diagnosis.auto_retry) == (False, False)
        assert diagnosis.retry_reason.startswith("Retrying the same request cannot help")
    ok = diagnose(exchange_of(200), get_profile("kaiko"))
    assert (ok.retryable, ok.auto_retry, ok.retry_reason) == (False, False, "")


# ------------------------------------------------------------------ 429: burst or not


@pytest.mark.parametrize(
    ("recent", "code"),
    [(0, "kaiko.429.burst"), (2, "kaiko.429.burst"), (3, "kaiko.429.sustained"),
     (40, "kaiko.429.sustained"), (-1, "kaiko.429.burst")],
)  # fmt: skip
def test_it_tells_a_burst_from_a_sustained_excess(recent: int, code: str) -> None:
    context = DiagnosisContext(recent_rate_limited=recent, window_seconds=300)
    diagnosis = diagnose(exchange_of(429), get_profile("kaiko"), context=context)
    assert diagnosis.code == code
    history = [e for e in diagnosis.causes[0].evidence if e.source == "history"]
    assert history and history[0].value == f"{max(0, recent)} in the last 5 min"


def test_it_words_rate_limits_for_any_api() -> None:
    context = DiagnosisContext(recent_rate_limited=5)
    diagnosis = diagnose(exchange_of(429), get_profile("http"), context=context)
    assert diagnosis.code == "http.429.sustained"
    assert diagnosis.playbooks[0] == "reduce-request-rate"


# ----------------------------------------------------------- local parameter checks


@pytest.mark.parametrize(
    ("name", "value", "problem"),
    [
        ("interval", "1m", None),
        ("interval", "1d", None),
        ("interval", "86400s", None),
        ("interval", "24h", None),
        ("interval", "25h", "Too long"),
        ("interval", "2d", "Too long"),
        ("interval", "0m", "Too short"),
        ("interval", "1w", "Not a number followed by a unit"),
        ("interval", "60", "Not a number followed by a unit"),
        ("interval", "1 h", "Not a number followed by a unit"),
        ("page_size", "1", None),
        ("page_size", "100000", None),
        ("page_size", "0", "Out of range"),
        ("page_size", "100001", "Out of range"),
        ("page_size", "-5", "Not a whole number"),
        ("page_size", "ten", "Not a whole number"),
        ("start_time", "2024-01-01T00:00:00Z", None),
        ("start_time", "2024-01-01T00:00:00.123+01:00", None),
        ("start_time", "2024-01-01", None),
        ("start_time", "2024-01-01T00:00:00 01:00", "A '+' sent unencoded"),
        ("start_time", "yesterday", "Not an ISO 8601 date-time"),
        ("start_time", "1704067200", "Not an ISO 8601 date-time"),
        ("sort", "asc", None),
        ("sort", "DESC", "Not one of asc, desc"),
    ],
)
def test_it_checks_kaikos_parameter_rules(name: str, value: str, problem: str | None) -> None:
    found = check_param(get_profile("kaiko").params[name], value)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_it_names_the_offending_parameter_even_when_kaiko_does_not() -> None:
    url = KAIKO + "?start_time=2024-03-01T00:00:00Z&end_time=2024-02-01T00:00:00Z"
    diagnosis = diagnose(
        exchange_of(400, [], {"result": "error", "message": "Bad Request"}, url=url),
        get_profile("kaiko"),
    )
    assert diagnosis.code == "kaiko.400.param.start_time"
    line = diagnosis.causes[0].evidence[0]
    assert (line.source, line.name, line.value) == ("param", "start_time", "2024-03-01T00:00:00Z")
    assert "Not before end_time" in line.note


# --------------------------------------------------------------------------- secrets


# Shaped like real keys and tokens (a random word would also occur in the catalog's texts).
secret_values = st.from_regex(r"\A[A-Za-z0-9]{4,8}[-_.~][A-Za-z0-9!$*()'@:/]{10,30}\Z").filter(
    lambda s: any(c.isdigit() for c in s) and any(c.isalpha() for c in s)
)


@settings(max_examples=60, deadline=None)
@given(
    secret=secret_values,
    where=st.sampled_from(["x-api-key", "authorization", "api_key", "token", "apikey", "cookie"]),
    status=st.sampled_from([200, 400, 401, 403, 404, 429, 500, 502, 503]),
    echo=st.sampled_from(["message", "html", "text", "header", "problem", "none"]),
    profile=st.sampled_from(["kaiko", "http"]),
)
def test_it_never_keeps_a_secret_sent_in_a_header_or_the_query(
    secret: str, where: str, status: int, echo: str, profile: str
) -> None:
    url = KAIKO + "?interval=1h&start_time=2024-01-01T00:00:00Z"
    request_headers: list[tuple[str, str]] = [("Accept", "application/json")]
    if where == "x-api-key":
        request_headers.append(("X-Api-Key", secret))
    elif where == "authorization":
        request_headers.append(("Authorization", f"Bearer {secret}"))
    elif where == "cookie":
        request_headers.append(("Cookie", f"session={secret}"))
        secret = f"session={secret}"
    else:
        url += f"&{where}={secret}"
    headers: list[tuple[str, str]] = []
    body: bytes | dict[str, Any] = b""
    if echo == "message":
        body = {"result": "error", "message": f"bad key {secret} for interval"}
    elif echo == "problem":
        body = {"type": "about:blank", "title": secret, "status": status, "detail": secret}
        headers = [("Content-Type", "application/problem+json")]
    elif echo == "html":
        body = f"<html><title>{secret}</title><h1>{secret}</h1></html>".encode()
        headers = [("Content-Type", "text/html")]
    elif echo == "text":
        body = f"denied: {secret}".encode()
        headers = [("Content-Type", "text/plain")]
    elif echo == "header":
        headers = [("WWW-Authenticate", f'Bearer error="{secret}"'), ("Retry-After", secret)]
    sent = exchange_of(status, headers, body, url=url, request_headers=request_headers)
    diagnosis = diagnose(sent, get_profile(profile))
    assert diagnosis.code != "diagnosis.unavailable"
    assert secret not in json.dumps(diagnosis.to_dict(), ensure_ascii=False)


def test_it_shows_where_the_key_went_without_its_value() -> None:
    diagnosis = diagnose(
        exchange_of(401, url=KAIKO + f"?api_key={KEY}", request_headers=[]),
        get_profile("kaiko"),
    )
    assert diagnosis.code == "kaiko.401.key_in_query"
    values = {(e.source, e.name): e.value for e in diagnosis.causes[0].evidence}
    assert values[("param", "api_key")] == "[redacted]"
    assert values[("request_header", "X-Api-Key")] == "(not sent)"
    assert KEY not in json.dumps(diagnosis.to_dict())


# ---------------------------------------------------------- never raises (properties)

header_names = st.sampled_from(
    [
        "Retry-After", "Date", "Content-Type", "RateLimit", "RateLimit-Policy",
        "RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset", "X-RateLimit-Limit",
        "X-RateLimit-Remaining", "X-RateLimit-Reset", "Allow", "WWW-Authenticate", "Server",
        "Via", "Location", "Set-Cookie",
    ]
) | st.text(max_size=16)  # fmt: skip
header_values = st.sampled_from(
    [
        "120", "0", "-1", "1.5", "99999999999999999999", "1795550430", "1795550430000",
        "Wed, 21 Oct 2015 07:28:00 GMT", "Mon, 99 Foo 0000", "Tuesday, 24-Nov-26 20:01:00 GMT",
        '"default";r=0;t=30', '"default";q=100;w=10', "limit=1, remaining=0, reset=5",
        '"a";r=;t', '";;,,"', "100, 100;w=60", "application/problem+json", "text/html",
        "application/json; charset=utf-8", "GET, HEAD", 'Bearer error="invalid_token"',
    ]
) | st.text(max_size=60)  # fmt: skip
json_bodies = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=30),
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(
        st.sampled_from(
            ["result", "message", "title", "detail", "type", "status", "error", "errors",
             "access", "access_range", "start_timestamp", "end_timestamp", "data"]
        )
        | st.text(max_size=8),
        children,
        max_size=5,
    ),
    max_leaves=15,
).map(lambda value: json.dumps(value).encode())  # fmt: skip
html_bodies = st.tuples(st.text(max_size=40), st.text(max_size=40)).map(
    lambda t: f"<html><title>{t[0]}</title><h1>{t[1]}</h1></html>".encode()
)
urls = st.one_of(
    st.just(KAIKO),
    st.sampled_from(
        [
            KAIKO + "?interval=2d&page_size=0&sort=up&start_time=x&end_time=2024-01-01",
            "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/COINBASE/SPOT/BTC/trades",
            "https://reference-data-api.kaiko.io/v1/nope?api_key=abcdef123",
            "http://[::1",
            "https:///",
            "",
        ]
    ),
    st.text(max_size=60),
)


@settings(max_examples=250, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.integers(min_value=100, max_value=599),
    headers=st.lists(st.tuples(header_names, header_values), max_size=8),
    body=st.one_of(st.binary(max_size=600), json_bodies, html_bodies),
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "", "get"]),
    request_headers=st.lists(
        st.tuples(
            st.sampled_from(["X-Api-Key", "Authorization", "Accept", "Cookie"])
            | st.text(max_size=10),
            st.text(max_size=30),
        ),
        max_size=4,
    ),
    profile_slug=st.sampled_from(["kaiko", "http"]),
    url=urls,
    recent=st.integers(min_value=-5, max_value=50),
    truncated=st.booleans(),
)
def test_it_diagnoses_any_response_without_failing(
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    method: str,
    request_headers: list[tuple[str, str]],
    profile_slug: str,
    url: str,
    recent: int,
    truncated: bool,
) -> None:
    sent = Exchange(
        method=method,
        url=url,
        request_headers=request_headers,
        response=Response(
            status=status, reason="", headers=headers, body=body, truncated=truncated
        ),
        failure=None,
        elapsed_ms=1.0,
    )
    context = DiagnosisContext(recent_rate_limited=recent)
    diagnosis = diagnose(sent, get_profile(profile_slug), context=context)
    assert diagnosis.code != "diagnosis.unavailable"
    assert diagnosis.status == status
    assert diagnosis.entry_code.split(".")[0] in (profile_slug, "http")
    assert diagnosis.code == (
        diagnosis.causes[0].code if diagnosis.causes else diagnosis.entry_code
    )
    assert diagnosis.wait_seconds is None or diagnosis.wait_seconds >= 0
    for cause in diagnosis.causes:
        assert cause.likelihood in ("likely", "possible") and cause.title
        for slug in cause.playbooks:
            lookups.get_playbook(slug)
    assert Diagnosis.from_dict(json.loads(json.dumps(diagnosis.to_dict()))) == diagnosis


describe = getattr(client, "describe", None)
# Every detail the egress client gives, per kind (apps.egress.types.FAILURE_DETAILS).
EGRESS_DETAILS = [
    (kind.value, detail)
    for kind, details in getattr(types, "FAILURE_DETAILS", {}).items()
    for detail in details
]

KNOWN_DETAILS = sorted(
    {cause.key.split(".", 1)[1] for cause in lookups.failure_details()}
    | {"certificate_expired", "self_signed", "hostname_mismatch", "untrusted_issuer", "loop",
       "limit", "headers", "compressed_body", "encoding_layers", "private_address"}
)  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    kind=st.sampled_from(list(FailureKind)),
    detail=st.one_of(st.sampled_from(["", *KNOWN_DETAILS]), st.text(max_size=30)),
    message=st.text(max_size=200),
    method=st.sampled_from(["GET", "POST", ""]),
    redirects=st.lists(
        st.tuples(st.integers(min_value=300, max_value=399), st.text(max_size=40)), max_size=5
    ),
)
def test_it_diagnoses_any_failure_and_detail(
    kind: FailureKind, detail: str, message: str, method: str, redirects: list[tuple[int, str]]
) -> None:
    sent = Exchange(
        method=method,
        url=KAIKO,
        request_headers=[("X-Api-Key", KEY)],
        response=None,
        failure=Failure(kind=kind, message=message, detail=detail),
        elapsed_ms=3.0,
    )
    object.__setattr__(sent, "redirects", redirects)  # as the egress client may record them
    diagnosis = diagnose(sent, get_profile("kaiko"))
    assert diagnosis.code.startswith(f"network.{kind.value}")
    assert diagnosis.entry_code == f"network.{kind.value}"
    assert len(diagnosis.causes) == 1 and diagnosis.causes[0].playbooks


@pytest.mark.parametrize(("kind", "detail"), [
    (kind, cause.key.split(".", 1)[1])
    for kind, details in lookups.catalog().failure_details.items()
    for cause in details.values()
])  # fmt: skip
def test_it_words_every_failure_detail(kind: str, detail: str) -> None:
    diagnosis = diagnose(failed(FailureKind(kind), detail=detail), get_profile("http"))
    assert diagnosis.code == f"network.{kind}.{detail}"
    assert diagnosis.failure_detail == detail


@pytest.mark.parametrize(("kind", "detail"), EGRESS_DETAILS)
def test_it_words_every_detail_the_egress_client_gives(kind: str, detail: str) -> None:
    assert lookups.catalog().failure_detail(kind, detail) is not None
    diagnosis = diagnose(failed(FailureKind(kind), detail=detail), get_profile("kaiko"))
    assert diagnosis.code == f"network.{kind}.{detail}"
    assert diagnosis.entry_code == f"network.{kind}"


def test_it_reads_why_a_body_was_cut() -> None:
    body = b'{"result": "error", "message": "Rate lim'
    cut = Response(429, "", [("Content-Type", "application/json")], body, True)
    object.__setattr__(cut, "cut", "decoded_bytes")
    sent = Exchange("GET", KAIKO, [("X-Api-Key", KEY)], cut, None, 5.0)
    diagnosis = diagnose(sent, get_profile("kaiko"))
    line = diagnosis.causes[0].evidence[-1]
    assert (line.source, line.name, line.value) == ("body", "cut", "decoded_bytes")
    assert "decompressed to more than" in line.note


def _exception_classes() -> list[type[requests.RequestException]]:
    found: list[type[requests.RequestException]] = []
    pending: list[type[requests.RequestException]] = [requests.RequestException]
    while pending:
        current = pending.pop()
        if current not in found:
            found.append(current)
            pending += current.__subclasses__()
    return sorted(found, key=lambda cls: cls.__name__)


REQUESTS_EXCEPTIONS = _exception_classes()


def _instantiate(cls: type[requests.RequestException], cause: BaseException | None) -> Exception:
    for args in ((cause,) if cause else ("boom",), ("boom", "doc", 0), ()):
        try:
            exc = cls(*args)
        except TypeError:
            continue
        if cause is not None:
            exc.__cause__ = cause
        return exc
    raise AssertionError(f"cannot build {cls}")


def _causes() -> list[BaseException | None]:
    expired = ssl.SSLCertVerificationError(1, "certificate verify failed")
    expired.verify_message = "certificate has expired"
    return [
        None,
        expired,
        ssl.SSLError("WRONG_VERSION_NUMBER"),
        socket.gaierror(-2, "Name or service not known"),
        urllib3.exceptions.NameResolutionError("api.example.com", None, socket.gaierror(-3, "x")),  # type: ignore[arg-type]
        ConnectionRefusedError(111, "Connection refused"),
        ConnectionResetError(104, "Connection reset by peer"),
        TimeoutError("timed out"),
        urllib3.exceptions.ProtocolError("Connection aborted.", BrokenPipeError()),
        urllib3.exceptions.MaxRetryError(None, "/x", ConnectionRefusedError()),  # type: ignore[arg-type]
    ]


def test_it_knows_every_exception_requests_can_raise() -> None:
    names = {cls.__name__ for cls in REQUESTS_EXCEPTIONS}
    assert {"ConnectionError", "ConnectTimeout", "ReadTimeout", "SSLError", "TooManyRedirects",
            "InvalidURL", "MissingSchema", "InvalidSchema", "ChunkedEncodingError",
            "ContentDecodingError"} <= names  # fmt: skip


@settings(max_examples=150, deadline=None)
@given(
    cls=st.sampled_from(REQUESTS_EXCEPTIONS),
    cause=st.sampled_from(_causes()),
    method=st.sampled_from(["GET", "POST"]),
    profile_slug=st.sampled_from(["kaiko", "http"]),
)
def test_it_diagnoses_every_exception_requests_can_raise(
    cls: type[requests.RequestException],
    cause: BaseException | None,
    method: str,
    profile_slug: str,
) -> None:
    exc = _instantiate(cls, cause)
    host = "us.market-api.kaiko.io"
    # classify answers (kind, message); describe, where the client has it, the whole Failure.
    kind, message = classify(exc, host=host)  # type: ignore[arg-type]
    failure = describe(exc, host=host) if describe else Failure(kind, message)
    assert failure.kind == kind
    sent = Exchange(method, KAIKO, [("X-Api-Key", KEY)], None, failure, 12.0)
    diagnosis = diagnose(sent, get_profile(profile_slug))
    assert diagnosis.code.startswith("network.")
    assert diagnosis.code != "diagnosis.unavailable"
    assert diagnosis.causes and diagnosis.causes[0].evidence
    assert diagnosis.retry_reason
    assert KEY not in json.dumps(diagnosis.to_dict())


def test_distinct_evidence_keeps_each_fact_once_with_its_fuller_value() -> None:
    lines = [
        Evidence(source="status", name="status", value="400", note="first"),
        Evidence(source="body", name="error", value="invalid_auth", note="a code"),
        Evidence(source="status", name="status", value="400 Bad Request", note="second"),
        Evidence(source="body", name="error", value="invalid_auth", note="what it says"),
        Evidence(source="body", name="error", value="invalid_key", note="another value"),
    ]
    kept = distinct_evidence(lines)
    assert [(e.name, e.value, e.note) for e in kept] == [
        ("status", "400 Bad Request", "first"),
        ("error", "invalid_auth", "a code"),
        ("error", "invalid_key", "another value"),
    ]


@pytest.mark.parametrize(
    ("slug", "status", "body"),
    [
        (
            "stripe",
            400,
            {
                "error": {
                    "type": "invalid_request_error",
                    "message": "Missing required param: amount.",
                }
            },
        ),
        ("http", 200, {"ok": False, "error": "invalid_auth"}),
        ("kaiko", 401, {"result": "error", "message": "Unauthorized"}),
    ],
)
def test_no_cause_says_the_same_fact_twice(slug: str, status: int, body: dict[str, Any]) -> None:
    exchange = Exchange(
        method="GET",
        url="https://api.example.com/v1/charges",
        request_headers=[("X-Api-Key", KEY)],
        response=response(
            status, [("Content-Type", "application/json")], json.dumps(body).encode()
        ),
        failure=None,
        elapsed_ms=12.0,
    )
    diagnosis = diagnose(exchange, get_profile(slug))
    assert diagnosis.causes
    for cause in diagnosis.causes:
        facts = [(e.source, e.name) for e in cause.evidence if e.source in ("status", "body")]
        assert len(facts) == len(set(facts)), (cause.code, cause.evidence)


def test_a_parameter_the_error_names_but_the_request_lacks_is_said_not_sent() -> None:
    body = {
        "error": {
            "type": "invalid_request_error",
            "message": "Missing required param: amount.",
            "param": "amount",
        }
    }
    exchange = Exchange(
        method="GET",
        url="https://api.stripe.com/v1/charges",
        request_headers=[("Authorization", f"Bearer {KEY}")],
        response=response(400, [("Content-Type", "application/json")], json.dumps(body).encode()),
        failure=None,
        elapsed_ms=12.0,
    )
    lines = [e for c in diagnose(exchange, get_profile("stripe")).causes for e in c.evidence]
    param = next(e for e in lines if e.source == "param" and e.name == "amount")
    assert param.value == "(not sent)" and "did not send" in param.note
