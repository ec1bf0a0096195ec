"""diagnose(): every outcome explained in the API's own terms, and never an exception."""

import base64
import json
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from apps.diagnosis.diagnose import diagnose, format_seconds
from apps.diagnosis.lookups import get_playbook, get_profile
from apps.diagnosis.results import Diagnosis
from apps.egress.redaction import SecretValues, secret_forms
from apps.egress.types import Exchange, Failure, FailureKind, Response

KAIKO_URL = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
SANDBOX_URL = (
    "http://127.0.0.1:8000/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
)
API_KEY = "kaiko-test-key-0123456789"

# Kaiko's "Error codes" table (the project's seed), copied here word for word:
# status, Kaiko's words, retryable, first playbook.
KAIKO_TABLE = [
    (400, "Bad Request", False, "fix-request"),
    (
        401,
        "Unauthorized -- You are not authenticated properly. See Authentication.",
        False,
        "reauthenticate",
    ),
    (403, "Forbidden -- You don't have access to the requested resource.", False, "check-access"),
    (404, "Not Found", False, "fix-endpoint"),
    (405, "Method Not Allowed", False, "use-allowed-method"),
    (406, "Not Acceptable", False, "fix-accept-header"),
    (429, "Rate limit reached", True, "back-off"),
    (
        500,
        "Internal Server Error -- We had a problem with our service. Try again later.",
        True,
        "retry-later",
    ),
    (
        503,
        "Service Unavailable -- We're temporarily offline for maintenance.",
        True,
        "wait-for-maintenance",
    ),
]

NO_PERMISSION = "not authorized: user has no permission over these instruments"


def exchange(
    status: int = 200,
    body: bytes | str | dict[str, Any] = b"",
    headers: list[tuple[str, str]] | None = None,
    *,
    method: str = "GET",
    url: str = KAIKO_URL,
    content_type: str | None = "application/json",
    request_headers: list[tuple[str, str]] | None = None,
) -> Exchange:
    if isinstance(body, dict):
        body = json.dumps(body)
    if isinstance(body, str):
        body = body.encode()
    response_headers = list(headers or [])
    if content_type:
        response_headers.append(("Content-Type", content_type))
    return Exchange(
        method=method,
        url=url,
        request_headers=request_headers
        if request_headers is not None
        else [("Accept", "application/json"), ("X-Api-Key", API_KEY)],
        response=Response(
            status=status, reason="", headers=response_headers, body=body, truncated=False
        ),
        failure=None,
        elapsed_ms=12.5,
    )


def failed(kind: FailureKind | str, message: str = "it failed", method: str = "GET") -> Exchange:
    return Exchange(
        method=method,
        url=KAIKO_URL,
        request_headers=[("X-Api-Key", API_KEY)],
        response=None,
        failure=Failure(kind=kind, message=message),  # type: ignore[arg-type]
        elapsed_ms=3.0,
    )


def kaiko_error(status: int, message: str, **kwargs: Any) -> Exchange:
    return exchange(status, {"result": "error", "message": message}, **kwargs)


@pytest.fixture
def kaiko() -> Any:
    return get_profile("kaiko")


@pytest.fixture
def generic() -> Any:
    return get_profile("http")


# --------------------------------------------------------------------- Kaiko's table


@pytest.mark.parametrize(("status", "words", "retryable", "first_playbook"), KAIKO_TABLE)
def test_it_explains_each_kaiko_code_in_kaikos_words(
    kaiko: Any, status: int, words: str, retryable: bool, first_playbook: str
) -> None:
    # Kaiko answers with its own words as the message.
    diagnosis = diagnose(kaiko_error(status, words), kaiko)
    assert diagnosis.entry_code == f"kaiko.{status}"
    assert diagnosis.code.startswith(f"kaiko.{status}.")
    assert diagnosis.causes and diagnosis.causes[0].code == diagnosis.code
    assert diagnosis.api_meaning == words
    assert diagnosis.api_name == "Kaiko"
    assert diagnosis.profile == "kaiko"
    assert diagnosis.profile_name == "Kaiko market-data API"
    assert diagnosis.status == status
    assert diagnosis.api_message == words
    assert diagnosis.retryable is retryable
    assert diagnosis.playbooks[0] == first_playbook
    for slug in diagnosis.playbooks:
        assert get_playbook(slug).title
    assert diagnosis.severity in ("warning", "error")
    assert diagnosis.title and diagnosis.explanation
    assert diagnosis.http_meaning and "RFC" in diagnosis.http_meaning
    assert diagnosis.api_docs_url == (
        "https://docs.kaiko.com/rest-api/general/getting-started/error-codes"
    )


def test_it_diagnoses_the_sandbox_as_kaiko(kaiko: Any) -> None:
    diagnosis = diagnose(kaiko_error(401, "invalid key", url=SANDBOX_URL), kaiko)
    assert diagnosis.code == "kaiko.401.key_rejected"
    assert diagnosis.entry_code == "kaiko.401"
    assert diagnosis.playbooks == ["reauthenticate"]


def test_it_reads_a_401_without_permission_as_an_entitlement_problem(kaiko: Any) -> None:
    diagnosis = diagnose(kaiko_error(401, NO_PERMISSION), kaiko)
    assert diagnosis.code == "kaiko.401.entitlement"
    assert diagnosis.status == 401
    assert diagnosis.playbooks[0] == "check-access"
    assert "reauthenticate" not in diagnosis.playbooks
    assert "entitle" in diagnosis.title.lower()
    assert "entitlement problem" in diagnosis.causes[0].explanation
    # Kaiko's words for 401 still come first, and its message is shown.
    assert diagnosis.api_meaning == KAIKO_TABLE[1][1]
    assert diagnosis.api_message == NO_PERMISSION
    assert diagnosis.retryable is False


def test_it_reads_the_permission_message_in_any_case(kaiko: Any) -> None:
    diagnosis = diagnose(kaiko_error(401, NO_PERMISSION.upper()), kaiko)
    assert diagnosis.code == "kaiko.401.entitlement"


def test_it_keeps_a_plain_401_about_the_key(kaiko: Any) -> None:
    diagnosis = diagnose(kaiko_error(401, "invalid api key"), kaiko)
    assert diagnosis.code == "kaiko.401.key_rejected"
    assert diagnosis.playbooks[0] == "reauthenticate"
    assert "X-Api-Key" in diagnosis.explanation
    assert [c.likelihood for c in diagnosis.causes] == ["likely"]


def test_it_keeps_an_entitlement_possible_when_a_401_says_nothing(kaiko: Any) -> None:
    diagnosis = diagnose(exchange(401, b""), kaiko)
    assert [(c.code, c.likelihood) for c in diagnosis.causes] == [
        ("kaiko.401.key_rejected", "likely"),
        ("kaiko.401.entitlement", "possible"),
    ]
    assert diagnosis.playbooks == ["reauthenticate"]


def test_it_falls_back_to_http_for_a_status_kaiko_does_not_list(kaiko: Any) -> None:
    page = "<html><title>502 Bad Gateway</title></html>"
    diagnosis = diagnose(exchange(502, page, content_type="text/html"), kaiko)
    assert diagnosis.entry_code == "http.502"
    assert diagnosis.code == "http.5xx.gateway"
    assert diagnosis.profile == "kaiko"
    assert diagnosis.api_meaning is None
    assert diagnosis.reason == "Bad Gateway"
    assert diagnosis.http_reference == "RFC 9110 §15.6.3"
    assert diagnosis.api_message == "502 Bad Gateway"
    assert diagnosis.retryable is True


def test_it_reports_a_kaiko_success(kaiko: Any) -> None:
    diagnosis = diagnose(exchange(200, {"result": "success", "data": []}), kaiko)
    assert diagnosis.code == "kaiko.200"
    assert diagnosis.severity == "ok"
    assert diagnosis.playbooks == []
    assert diagnosis.retryable is False
    assert diagnosis.retry_hint == ""
    assert diagnosis.api_message is None


# ------------------------------------------------------------------------ generic HTTP


@pytest.mark.parametrize(
    ("status", "code", "severity", "retryable"),
    [
        (200, "http.200", "ok", False),
        (204, "http.204", "ok", False),
        (299, "http.2xx", "ok", False),
        (103, "http.103", "info", False),
        (199, "http.1xx", "info", False),
        (304, "http.304", "info", False),
        (308, "http.308", "warning", False),
        (399, "http.3xx", "info", False),
        (404, "http.404", "error", False),
        (408, "http.408", "warning", True),
        (422, "http.422", "error", False),
        (429, "http.429", "warning", True),
        (451, "http.451", "error", False),
        (499, "http.4xx", "error", False),
        (500, "http.500", "error", True),
        (503, "http.503", "warning", True),
        (504, "http.504", "warning", True),
        (511, "http.511", "error", False),
        (522, "http.522", "warning", True),
        (599, "http.5xx", "error", True),
        (600, "http.other", "error", False),
        (42, "http.other", "error", False),
    ],
)
def test_it_diagnoses_any_status_under_the_generic_profile(
    generic: Any, status: int, code: str, severity: str, retryable: bool
) -> None:
    diagnosis = diagnose(exchange(status, url="https://api.example.com/v1/x"), generic)
    assert (diagnosis.entry_code, diagnosis.severity) == (code, severity)
    assert diagnosis.retryable is retryable
    assert diagnosis.code == (diagnosis.causes[0].code if diagnosis.causes else code)
    assert diagnosis.profile == "http"
    assert diagnosis.api_meaning is None
    assert diagnosis.http_meaning
    for slug in diagnosis.playbooks:
        get_playbook(slug)


def test_it_says_what_http_says(generic: Any) -> None:
    diagnosis = diagnose(exchange(401), generic)
    assert diagnosis.http_meaning == (
        "The request has not been applied because it lacks valid authentication credentials"
        " for the target resource (RFC 9110 §15.5.2)."
    )
    assert diagnosis.http_reference_url == "https://www.rfc-editor.org/rfc/rfc9110#section-15.5.2"


def test_it_keeps_the_servers_reason_for_an_unknown_status(generic: Any) -> None:
    response = Response(
        status=499, reason="Client Closed Request", headers=[], body=b"", truncated=False
    )
    diagnosis = diagnose(Exchange("GET", "https://a.example/", [], response, None, 1.0), generic)
    assert diagnosis.code == "http.4xx"
    assert diagnosis.reason == "Client Closed Request"


# ----------------------------------------------------------------------- network failures


@pytest.mark.parametrize("kind", list(FailureKind))
def test_it_diagnoses_every_failure_kind(kaiko: Any, kind: FailureKind) -> None:
    diagnosis = diagnose(failed(kind, "details here"), kaiko)
    assert diagnosis.code == f"network.{kind.value}"
    assert diagnosis.entry_code == f"network.{kind.value}"
    assert [c.code for c in diagnosis.causes] == [diagnosis.code]
    assert {e.source for e in diagnosis.causes[0].evidence} >= {"failure", "timing"}
    assert diagnosis.failure_kind == kind.value
    assert diagnosis.status is None
    assert diagnosis.api_meaning is None
    assert diagnosis.http_meaning is None
    assert diagnosis.failure_message == "details here"
    assert diagnosis.profile == "kaiko"
    assert diagnosis.severity in ("warning", "error")
    assert diagnosis.playbooks
    for slug in diagnosis.playbooks:
        get_playbook(slug)


@pytest.mark.parametrize(
    ("kind", "first_playbook", "retryable"),
    [
        (FailureKind.DNS, "check-dns", False),
        (FailureKind.BLOCKED, "check-address-policy", False),
        (FailureKind.TLS, "check-tls", False),
        (FailureKind.INVALID_URL, "check-url", False),
        (FailureKind.CONNECT_TIMEOUT, "check-connectivity", True),
        (FailureKind.READ_TIMEOUT, "increase-timeout", True),
        (FailureKind.CONNECTION_REFUSED, "check-connectivity", True),
    ],
)
def test_it_points_each_failure_at_its_fix(
    kaiko: Any, kind: FailureKind, first_playbook: str, retryable: bool
) -> None:
    diagnosis = diagnose(failed(kind), kaiko)
    assert diagnosis.playbooks[0] == first_playbook
    assert diagnosis.retryable is retryable


def test_it_treats_an_unknown_failure_kind_as_other(kaiko: Any) -> None:
    assert diagnose(failed("gremlins"), kaiko).code == "network.other"


def test_it_warns_before_retrying_a_post_that_may_have_arrived(kaiko: Any) -> None:
    post = diagnose(failed(FailureKind.READ_TIMEOUT, method="POST"), kaiko)
    assert "POST is not idempotent" in post.retry_hint
    get = diagnose(failed(FailureKind.READ_TIMEOUT), kaiko)
    assert "idempotent" not in get.retry_hint
    # Nothing was sent: retrying a POST is safe.
    refused = diagnose(failed(FailureKind.CONNECT_TIMEOUT, method="POST"), kaiko)
    assert "idempotent" not in refused.retry_hint


# ------------------------------------------------------------------- the body's message


def test_it_cleans_up_the_message(kaiko: Any) -> None:
    diagnosis = diagnose(kaiko_error(400, "bad\x00 param\x1b[31m  \n\t here" + "!" * 1000), kaiko)
    assert diagnosis.api_message is not None
    assert "\x00" not in diagnosis.api_message and "\x1b" not in diagnosis.api_message
    assert diagnosis.api_message.startswith("bad param [31m here!!!")
    assert len(diagnosis.api_message) == 500
    assert diagnosis.api_message.endswith("…")


def test_it_survives_deeply_nested_json(kaiko: Any) -> None:
    diagnosis = diagnose(exchange(400, "[" * 100_000 + "]" * 100_000), kaiko)
    assert diagnosis.code == "kaiko.400.other"
    assert diagnosis.api_message is None


def test_it_removes_the_key_when_the_message_echoes_it(kaiko: Any) -> None:
    diagnosis = diagnose(kaiko_error(401, f"invalid key {API_KEY} for this host"), kaiko)
    assert API_KEY not in (diagnosis.api_message or "")
    assert diagnosis.api_message == "invalid key [redacted] for this host"
    assert API_KEY not in json.dumps(diagnosis.to_dict())


def test_it_removes_the_key_in_every_encoding_the_redaction_policy_knows(kaiko: Any) -> None:
    # Forms that are not in egress' list of common forms (secret_forms) but that the policy
    # finds: percent-encoding in mixed case, the key inside HTTP Basic credentials of any
    # user. The diagnosis redacts with the same policy as storing and the share page.
    mixed = "".join(
        f"%{byte:02x}" if i % 2 else f"%{byte:02X}" for i, byte in enumerate(API_KEY.encode())
    )
    basic = base64.b64encode(f"alice:{API_KEY}".encode()).decode()
    assert not {mixed, basic} & set(secret_forms([API_KEY]))
    for echo in (mixed, basic):
        diagnosis = diagnose(kaiko_error(401, f"invalid key {echo}"), kaiko)
        assert diagnosis.api_message == "invalid key [redacted]"
        shown = json.dumps(diagnosis.to_dict())
        assert echo not in shown
        assert not SecretValues([API_KEY]).found_in(shown)


def test_it_removes_the_password_of_basic_credentials_when_echoed(generic: Any) -> None:
    basic = "Basic " + base64.b64encode(b"alice:pa55-word-secret").decode()
    sent = exchange(
        401,
        {"message": "wrong password pa55-word-secret for alice"},
        url="https://api.example.com/v1/x",
        request_headers=[("Authorization", basic)],
    )
    diagnosis = diagnose(sent, generic)
    assert diagnosis.api_message == "wrong password [redacted] for alice"
    assert "pa55-word-secret" not in json.dumps(diagnosis.to_dict())


def test_it_removes_a_token_from_the_query_or_authorization(generic: Any) -> None:
    sent = exchange(
        401,
        {"message": "token sekrit-token-1 and bearer abcdefgh-token are wrong"},
        url="https://api.example.com/v1/x?access_token=sekrit-token-1",
        request_headers=[("Authorization", "Bearer abcdefgh-token")],
    )
    diagnosis = diagnose(sent, generic)
    assert diagnosis.api_message == "token [redacted] and bearer [redacted] are wrong"


# ---------------------------------------------------------------------------- retrying


@pytest.mark.parametrize(
    ("headers", "seconds"),
    [
        ([("Retry-After", "120")], 120),
        ([("retry-after", " 0 ")], 0),
        (
            [
                ("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
                ("Date", "Wed, 21 Oct 2015 07:27:30 GMT"),
            ],
            30,
        ),
        (
            [
                ("Retry-After", "Wed, 21 Oct 2015 07:28:00 GMT"),
                ("Date", "Wed, 21 Oct 2015 08:00:00 GMT"),
            ],
            0,
        ),
        ([("Retry-After", "soon")], None),
        ([("Retry-After", "-5")], None),
        ([("Retry-After", "1.5")], None),
        ([("Retry-After", "²")], None),
        ([("Retry-After", "9" * 5000)], None),
        ([], None),
    ],
)
def test_it_reads_retry_after(kaiko: Any, headers: list[tuple[str, str]], seconds: int) -> None:
    diagnosis = diagnose(kaiko_error(429, "Rate limit reached", headers=headers), kaiko)
    assert diagnosis.retry_after_seconds == seconds


def test_it_says_how_long_to_wait(kaiko: Any) -> None:
    diagnosis = diagnose(kaiko_error(429, "slow down", headers=[("Retry-After", "90")]), kaiko)
    assert diagnosis.retryable is True
    assert "wait 1 min 30 s (Retry-After)" in diagnosis.retry_hint
    without = diagnose(kaiko_error(429, "slow down"), kaiko)
    assert "exponential backoff" in without.retry_hint


def test_it_says_retrying_will_not_help_a_bad_request(kaiko: Any) -> None:
    diagnosis = diagnose(kaiko_error(400, "bad"), kaiko)
    assert "will not help" in diagnosis.retry_hint


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (45, "45 s"),
        (60, "1 min"),
        (125, "2 min 5 s"),
        (3600, "1 h"),
        (4500, "1 h 15 min"),
        (86400, "1 d"),
        (97200, "1 d 3 h"),
    ],
)
def test_it_formats_seconds(seconds: int, text: str) -> None:
    assert format_seconds(seconds) == text


# ------------------------------------------------------------------------ storing it


def test_it_round_trips_through_json(kaiko: Any) -> None:
    diagnosis = diagnose(kaiko_error(429, "slow", headers=[("Retry-After", "5")]), kaiko)
    stored = json.loads(json.dumps(diagnosis.to_dict()))
    assert stored["version"] == Diagnosis.SCHEMA_VERSION == 3
    assert stored["code"] == "kaiko.429.burst"
    assert stored["causes"][0]["evidence"][0] == {
        "source": "status",
        "name": "status",
        "value": "429 Too Many Requests",
        "note": "The rate limit was reached.",
    }
    assert Diagnosis.from_dict(stored) == diagnosis


def test_it_reads_a_dict_from_another_version(kaiko: Any) -> None:
    stored = diagnose(kaiko_error(401, NO_PERMISSION), kaiko).to_dict()
    for key in ("api_name", "retry_hint", "http_reference_url", "playbooks", "retryable"):
        del stored[key]
    stored["causes"] = [{"rank": 1}, "nonsense", {"code": "x.1", "evidence": [3, {"name": "n"}]}]
    stored["quota"] = ["not", "a", "dict"]
    stored["a_later_field"] = {"x": 1}
    diagnosis = Diagnosis.from_dict(stored)
    assert diagnosis.code == "kaiko.401.entitlement"
    assert diagnosis.api_name == "" and diagnosis.retry_hint == ""
    assert diagnosis.playbooks == [] and diagnosis.retryable is False
    assert [c.code for c in diagnosis.causes] == ["x.1"]
    assert diagnosis.causes[0].evidence[0].name == "n"
    assert diagnosis.causes[0].likelihood == "possible"
    assert diagnosis.quota == {}
    assert Diagnosis.from_dict({}).code == "unknown"


def test_it_is_frozen(kaiko: Any) -> None:
    diagnosis = diagnose(exchange(200), kaiko)
    with pytest.raises(AttributeError):
        diagnosis.code = "x"  # type: ignore[misc]


# --------------------------------------------------------------- never raises (property)

header_names = st.one_of(
    st.sampled_from(["Retry-After", "Content-Type", "Date", "retry-after", "X-Api-Key"]),
    st.text(max_size=20),
)
header_values = st.one_of(
    st.sampled_from(
        [
            "120",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "application/problem+json",
            "text/html",
            "application/json; charset=utf-8",
            "-1",
            "99999999999999999999",
            "Mon, 99 Foo 0000",
        ]
    ),
    st.text(max_size=60),
)
bodies = st.one_of(
    st.binary(max_size=512),
    st.text(max_size=512).map(str.encode),
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=40),
        lambda children: (
            st.lists(children, max_size=4)
            | st.dictionaries(
                st.sampled_from(
                    [
                        "message",
                        "title",
                        "detail",
                        "type",
                        "status",
                        "error",
                        "errors",
                        "error_description",
                        "result",
                    ]
                )
                | st.text(max_size=8),
                children,
                max_size=5,
            )
        ),
        max_leaves=12,
    ).map(lambda value: json.dumps(value).encode()),
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    status=st.integers(min_value=100, max_value=599),
    headers=st.lists(st.tuples(header_names, header_values), max_size=6),
    body=bodies,
    method=st.sampled_from(["GET", "POST", "PUT", "DELETE", "PATCH", "", "get"]),
    profile_slug=st.sampled_from(["kaiko", "http"]),
    url=st.one_of(st.just(KAIKO_URL), st.text(max_size=40)),
)
def test_it_never_raises_for_any_response(
    status: int,
    headers: list[tuple[str, str]],
    body: bytes,
    method: str,
    profile_slug: str,
    url: str,
) -> None:
    sent = Exchange(
        method=method,
        url=url,
        request_headers=[("X-Api-Key", API_KEY), *headers[:2]],
        response=Response(status=status, reason="", headers=headers, body=body, truncated=False),
        failure=None,
        elapsed_ms=1.0,
    )
    diagnosis = diagnose(sent, get_profile(profile_slug))
    assert diagnosis.code.split(".")[0] in (profile_slug, "http")
    assert diagnosis.status == status
    assert diagnosis.severity in ("ok", "info", "warning", "error")
    assert diagnosis.retry_after_seconds is None or diagnosis.retry_after_seconds >= 0
    assert diagnosis.api_message is None or 0 < len(diagnosis.api_message) <= 500
    assert API_KEY not in (diagnosis.api_message or "")
    assert Diagnosis.from_dict(json.loads(json.dumps(diagnosis.to_dict()))) == diagnosis


@settings(max_examples=100, deadline=None)
@given(
    kind=st.one_of(st.sampled_from(list(FailureKind)), st.text(max_size=10)),
    message=st.text(max_size=200),
)
def test_it_never_raises_for_any_failure(kind: FailureKind | str, message: str) -> None:
    diagnosis = diagnose(failed(kind, message), get_profile("kaiko"))
    assert diagnosis.code.startswith("network.")
    assert diagnosis.status is None
