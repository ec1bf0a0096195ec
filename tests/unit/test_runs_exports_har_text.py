"""The HAR entry written as text (`har_entry_text`, what the export sends) against the
reference: the JSON encoder over `har_entry`'s dict. Same text to the byte, or the same
exception when the stored data cannot be written. Pure: runs and attempts are built, never
saved."""

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from apps.egress.redaction import SECRET_HEADER_NAMES, redact_body
from apps.runs import exports
from apps.runs.models import Attempt, Run
from tests.support.har import RUN_URL, a_run, an_attempt, as_document, har_problems

ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def reference(run: Run, attempt: Attempt) -> str | type[BaseException]:
    try:
        return ENCODE(exports.har_entry(run, attempt, run_url=RUN_URL))
    except Exception as exc:  # the outcome compared is the exception's type
        return type(exc)


def written(run: Run, attempt: Attempt) -> str | type[BaseException]:
    try:
        return exports.har_entry_text(run, attempt, run_url=RUN_URL)
    except Exception as exc:
        return type(exc)


def a_hop(**timings: object) -> dict[str, object]:
    return {
        "timings": {
            "total": 50.0, "blocked": 0.0, "dns": 1.25, "connect": 3.5, "tls": 12.125,
            "send": 0.04, "wait": 30.0, "receive": 3.085, "reused": False, "failed_in": "",
            **timings,
        },
        "connection": {
            "remote_address": "203.0.113.9", "remote_port": 443, "reused": False,
            "local_port": 50123, "http_version": "HTTP/1.1", "bytes_sent": 120,
            "bytes_received": 900, "body_wire_bytes": 500, "body_decoded_bytes": 500,
        },
        "tls": {
            "protocol": "TLSv1.3", "cipher": "TLS_AES_128_GCM_SHA256", "alpn": "http/1.1",
            "verified": True,
            "chain": [
                {"subject": "CN=api.example.com", "issuer": "CN=Example CA",
                 "not_after": "2027-01-01T00:00:00Z", "days_left": 300},
                {"subject": "CN=Example CA", "issuer": "CN=Root"},
            ],
        },
        "status": 200,
    }  # fmt: skip


FAILED: dict[str, object] = {
    "outcome": Run.Outcome.FAILURE,
    "response_status": None,
    "response_reason": "",
    "response_http_version": "",
    "response_headers": [],
    "response_body": "",
    "response_body_bytes": None,
    "failure_kind": "connect_timeout",
    "failure_detail": "",
    "failure_message": "The connection timed out after 5 s.",
}
POSTED: dict[str, object] = {
    "method": "POST",
    "request_headers": [["Content-Type", "application/json"], ["Content-Length", "41"]],
    "request_body": '{"password": "PW-1", "page": 1, "é": "ü"}',
}

# Entries the text path writes itself (no redirect, values of the types stored).
WRITTEN_AS_TEXT: list[tuple[str, dict[str, object], dict[str, object]]] = [
    ("the defaults", {}, {}),
    ("a final hop with its timings, connection and TLS", {}, {"hops": [a_hop()]}),
    ("a reused connection", {}, {"hops": [a_hop(dns=None, connect=None, tls=None, reused=True)]}),
    ("a request failed in TLS", {}, {**FAILED, "hops": [a_hop(
        tls=None, send=None, wait=None, receive=None, failed_in="tls")]}),
    ("phases stored as integers", {}, {"hops": [a_hop(total=5, dns=1, connect=2, wait=2)]}),
    ("a negative zero and long fractions", {}, {"hops": [a_hop(blocked=-0.0, wait=1 / 3)]}),
    ("no timings measured, only the total", {}, {"duration_ms": 17.25}),
    ("no total either", {}, {"duration_ms": None}),
    ("no response", {}, FAILED),
    ("a posted body with a secret", POSTED, {"sent_headers": []}),
    ("a Content-Length that is not a number", {**POSTED, "request_headers": [
        ["Content-Type", "application/json"], ["Content-Length", "many"]]}, {"sent_headers": []}),
    ("a form body", {"method": "POST", "request_body": "a=1&token=T-2"}, {"sent_headers": [
        ["Content-Type", "application/x-www-form-urlencoded"]]}),
    ("secret headers, query and location", {}, {
        "sent_url": "https://h.example/v2?api_key=Q-3&page=1&sig=",
        "sent_headers": [["Authorization", "Bearer H-4"], ["X-Api-Key", ""],
                         ["Referer", "https://h.example/?token=R-5"]],
        "response_headers": [["content-type", "application/json"],
                             ["Set-Cookie", "session=S-6"],
                             ["Location", "https://h.example/next?token=L-7"],
                             ["Content-Type", "text/plain"]],
        "response_body": '{"echo": {"token": "B-8"}, "monkey": 1}',
    }),
    ("a body that names no key but holds 'key'", {}, {
        "response_body": '{"message": "No API key was sent"}'}),
    ("a non-ASCII body with a secret key", {}, {"response_body": '{"tökén": 1, "token": "x"}'}),
    ("an escaped key", {}, {"response_body": '{"t\\u006fken": "v"}'}),
    ("a body that is not JSON", {}, {"response_body": "{not json token", "response_headers": []}),
    ("a cut, compressed body", {}, {
        "response_body": "x" * 10, "response_body_bytes": 10, "response_body_truncated": True,
        "response_headers": [["Content-Type", "text/plain"], ["Content-Encoding", "gzip"]]}),
    ("an empty Content-Encoding first", {}, {"response_headers": [
        ["Content-Encoding", ""], ["Content-Encoding", "gzip"]]}),
    ("no body size stored", {}, {"response_body_bytes": None, "response_body": "ünïcode"}),
    ("no start time", {}, {"started_at": None, "created_at": datetime(2025, 1, 2, tzinfo=UTC)}),
    ("a start time in another zone", {}, {
        "started_at": datetime(2025, 1, 2, 3, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))}),
    ("no member", {"created_by": None}, {}),
    ("quotes, controls and emoji", {"diagnosis_title": 'A "title"\n\t😀 </script>'}, {
        "response_reason": "Gone\u2028", "response_body": '"\\u0000"'}),
    ("HTTP/2", {}, {"response_http_version": "HTTP/2"}),
    ("TLS facts without 'verified'", {}, {"hops": [{**a_hop(), "tls": {
        "protocol": "TLSv1.2", "chain": [None, {"subject": "CN=a"}]}}]}),
    ("a connection without its address", {}, {"hops": [{**a_hop(), "connection": {
        "remote_address": "", "local_port": 5}}]}),
    ("a phase that is not finite", {}, {"hops": [a_hop(wait=float("inf"))]}),
    ("a phase that is not a number", {}, {"hops": [a_hop(receive=float("nan"))]}),
    ("a local port stored as true", {}, {"hops": [{**a_hop(), "connection": {
        "remote_address": "203.0.113.9", "local_port": True}}]}),
]  # fmt: skip

# Entries left to `har_entry`: the text path must give way, and the result be the same.
LEFT_TO_HAR_ENTRY: list[tuple[str, dict[str, object], dict[str, object]]] = [
    ("redirects followed", {}, {
        "redirects": [[302, "https://h.example/a?token=X-1"]],
        "hops": [a_hop(), a_hop(dns=None)]}),
    ("a header value that is not text", {}, {"response_headers": [["Content-Length", 12]]}),
    ("a sent header that is not text", {}, {"sent_headers": [["X-Count", 1]]}),
    ("several hops without a redirect", {}, {"hops": [a_hop(), a_hop()]}),
    ("a phase the labels do not know", {}, {"hops": [a_hop(failed_in="nowhere")]}),
]  # fmt: skip


def _case(run: dict[str, object], attempt: dict[str, object]) -> tuple[Run, Attempt]:
    return a_run(**run), an_attempt(**attempt)


@pytest.mark.parametrize(
    ("run", "attempt"),
    [pytest.param(run, attempt, id=name) for name, run, attempt in WRITTEN_AS_TEXT],
)
def test_the_text_path_writes_what_the_encoder_writes(
    run: dict[str, object], attempt: dict[str, object]
) -> None:
    made = _case(run, attempt)
    text = exports._fast_entry_text(*made, RUN_URL)  # not handed over to har_entry
    assert text == reference(*made)
    assert har_problems(as_document(json.loads(text))) == []


@pytest.mark.parametrize(
    ("run", "attempt"),
    [pytest.param(run, attempt, id=name) for name, run, attempt in LEFT_TO_HAR_ENTRY],
)
def test_what_the_text_path_does_not_expect_is_written_by_har_entry(
    run: dict[str, object], attempt: dict[str, object]
) -> None:
    made = _case(run, attempt)
    with pytest.raises(Exception):  # noqa: B017 - any: har_entry_text gives way
        exports._fast_entry_text(*made, RUN_URL)
    assert written(*made) == reference(*made)


# Every name the policy calls secret, in the forms a body may spell it.
SECRET_NAMES = [
    *SECRET_HEADER_NAMES,
    "api_key", "api-key", "apikey", "key", "token", "access_token", "access-token", "secret",
    "password", "passwd", "pwd", "auth", "signature", "sig", "session", "credential",
    "credentials", "X-SIG", "Session.Id",
    "\u017fig", "\u017fession", "\u212aey",  # a long s, a Kelvin sign: their regex folds them
]  # fmt: skip


@pytest.mark.parametrize("name", SECRET_NAMES)
@pytest.mark.parametrize("mime_type", ["application/json", ""])
def test_a_body_with_any_secret_name_is_redacted(name: str, mime_type: str) -> None:
    text = json.dumps({"data": 1, name: "V-1234"}, ensure_ascii=False)
    assert exports._body_text(text, mime_type) == redact_body(text, mime_type)[0]
    assert "V-1234" not in exports._body_text(text, mime_type)


@pytest.mark.parametrize(
    ("timings", "raised"),
    [({"failed_in": "nowhere"}, KeyError), ({"total": 10**400}, OverflowError)],
)
def test_an_entry_that_cannot_be_written_raises_as_har_entry_does(
    timings: dict[str, object], raised: type[Exception]
) -> None:
    made = _case({}, {"hops": [a_hop(**timings)]})
    assert reference(*made) is raised
    assert written(*made) is raised


# Stored values of every type JSON has, where the egress client stores numbers and text.
NUMBERS = st.one_of(
    st.none(),
    st.floats(min_value=-1e6, max_value=1e6),
    st.floats(),
    st.integers(min_value=-(10**6), max_value=10**6),
    st.booleans(),
    st.just("12"),
)
PHASES = ("blocked", "dns", "connect", "tls", "send", "wait", "receive")
TIMINGS = st.fixed_dictionaries(
    {name: NUMBERS for name in PHASES},
    optional={
        "total": st.one_of(st.floats(min_value=0, max_value=1e5), st.integers(0, 10**5), NUMBERS),
        "reused": st.one_of(st.booleans(), st.none(), st.integers(0, 2), st.just("no")),
        "failed_in": st.sampled_from(["", "connect", "tls", "send", "wait", "receive", "dns"]),
    },
)
CONNECTIONS = st.one_of(
    st.none(),
    st.just("203.0.113.9"),
    st.fixed_dictionaries(
        {},
        optional={
            "remote_address": st.sampled_from(["203.0.113.9", "", "2001:db8::1", 7]),
            "local_port": st.one_of(st.integers(0, 65535), st.none(), st.just("1")),
        },
    ),
)
CERTIFICATES = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "subject": st.one_of(st.text(max_size=8), st.none(), st.integers()),
            "issuer": st.text(max_size=8),
            "not_after": st.sampled_from(["2027-01-01T00:00:00Z", "", None]),
        },
    ),
    st.none(),
    st.text(max_size=3),
)
TLS: st.SearchStrategy[object] = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {},
        optional={
            "protocol": st.sampled_from(["TLSv1.3", "", None]),
            "cipher": st.text(max_size=6),
            "verified": st.one_of(st.booleans(), st.none(), st.integers(0, 1)),
            "chain": st.one_of(st.lists(CERTIFICATES, max_size=3), st.none(), st.just({})),
        },
    ),
)
A_HOP = st.fixed_dictionaries(
    {
        "timings": st.fixed_dictionaries(
            {"total": st.floats(min_value=0, max_value=1e5)},
            optional={
                **{name: st.floats(min_value=-1, max_value=1e5) for name in PHASES},
                "reused": st.booleans(),
            },
        )
    },
    optional={"connection": CONNECTIONS, "tls": TLS},
)
ANY_HOP: st.SearchStrategy[object] = st.one_of(
    st.fixed_dictionaries({"timings": TIMINGS}, optional={"connection": CONNECTIONS, "tls": TLS}),
    st.fixed_dictionaries({"timings": st.one_of(st.none(), st.just([]))}),
    st.none(),
)
HOPS = st.one_of(
    st.lists(A_HOP, min_size=1, max_size=1),  # as the egress client stores them
    st.lists(st.one_of(A_HOP, ANY_HOP), min_size=1, max_size=1),
    st.lists(ANY_HOP, max_size=2),
    st.none(),
    st.just({"timings": {"total": 1.0}}),
)
HEADER_NAMES = st.sampled_from(
    [
        "Content-Type", "content-type", "Content-Length", "Content-Encoding", "Location",
        "Authorization", "X-Api-Key", "Set-Cookie", "Refresh", "Link", "Date", "X-Token-Id",
    ]
)  # fmt: skip
HEADER_VALUES = st.one_of(
    st.sampled_from(
        [
            "", "application/json", "text/plain", "gzip", "12", "Bearer abc",
            "https://h.example/next?token=abc&page=2", "https://u:pw@h.example/", "é",
        ]
    ),
    st.text(max_size=6),
)  # fmt: skip
HEADERS = st.lists(st.tuples(HEADER_NAMES, HEADER_VALUES).map(list), max_size=5)
BODIES = st.one_of(
    st.sampled_from(
        [
            "", '{"token": "abc"}', '{"a": [1, {"password": 2}]}', '{"message": "key"}',
            '{"data": [1, 2]}', "a=1&api_key=2", "[1, 2", '{"t\\u006fken": "v"}', "ünï",
        ]
    ),
    st.text(max_size=12),
)  # fmt: skip
URLS = st.sampled_from(
    [
        "https://h.example/v2/data?page=1",
        "https://h.example/v2?api_key=abc&sig=&x=%20",
        "http://[::1]:8000/a b?c=d#f",
        "https://u:pw@h.example/",
        "not a url",
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    hops=HOPS,
    duration=st.one_of(st.none(), st.floats(min_value=0, max_value=1e5), st.just(-1.0)),
    outcome=st.sampled_from([Run.Outcome.RESPONSE, Run.Outcome.FAILURE]),
    sent_headers=HEADERS,
    request_headers=HEADERS,
    response_headers=HEADERS,
    request_body=BODIES,
    response_body=BODIES,
    body_bytes=st.one_of(st.none(), st.integers(0, 10**6)),
    truncated=st.booleans(),
    sent_url=st.one_of(st.just(""), URLS),
    url=URLS,
    status=st.one_of(st.none(), st.sampled_from([200, 301, 401, 503])),
    redirected=st.booleans(),
)
def test_any_stored_attempt_is_written_as_the_encoder_writes_har_entry(
    hops: object,
    duration: float | None,
    outcome: str,
    sent_headers: list[list[str]],
    request_headers: list[list[str]],
    response_headers: list[list[str]],
    request_body: str,
    response_body: str,
    body_bytes: int | None,
    truncated: bool,
    sent_url: str,
    url: str,
    status: int | None,
    redirected: bool,
) -> None:
    run = a_run(
        method="POST" if request_body else "GET",
        url=url,
        request_headers=request_headers,
        request_body=request_body,
    )
    attempt = an_attempt(
        hops=hops,
        duration_ms=duration,
        outcome=outcome,
        sent_url=sent_url,
        sent_headers=sent_headers,
        response_status=status,
        response_headers=response_headers,
        response_body=response_body,
        response_body_bytes=body_bytes,
        response_body_truncated=truncated,
        redirects=[[302, "https://h.example/?token=abc"]] if redirected else [],
        failure_kind="" if outcome == Run.Outcome.RESPONSE else "dns",
    )
    assert written(run, attempt) == reference(run, attempt)
