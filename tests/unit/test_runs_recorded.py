"""Runs submitted as recorded (apps.runs.recorded): HAR entries read into exchanges, checked
field by field, and stored as finished, diagnosed runs with their secrets kept out."""

import base64
import json
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.egress.types import FailureKind
from apps.runs import secrets
from apps.runs.models import Run
from apps.runs.recorded import (
    MAX_BODY_CHARS,
    MAX_HEADERS,
    RecordedInvalid,
    check_request,
    failure_of,
    record_exchange,
    recorded_from_har_entry,
)

KEY = "recorded-key-0123456789abcdef"


def entry(**response: Any) -> dict[str, Any]:
    return {
        "time": 42.5,
        "request": {
            "method": "get",
            "url": "https://api.example.com/v1/x?page=2",
            "headers": [
                {"name": ":authority", "value": "api.example.com"},
                {"name": "X-Api-Key", "value": KEY},
            ],
        },
        "response": {
            "status": 401,
            "statusText": "Unauthorized",
            "httpVersion": "h2",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {"text": json.dumps({"message": f"bad key {KEY}"})},
            **response,
        },
    }


def invalid(data: object) -> RecordedInvalid:
    with pytest.raises(RecordedInvalid) as caught:
        recorded_from_har_entry(data)
    return caught.value


# --- reading a HAR entry ------------------------------------------------------------------


def test_it_reads_a_har_entry_with_a_response() -> None:
    recorded = recorded_from_har_entry(entry())
    assert (recorded.method, recorded.url) == ("GET", "https://api.example.com/v1/x?page=2")
    assert recorded.headers == [("X-Api-Key", KEY)]  # no HTTP/2 pseudo-header
    assert recorded.elapsed_ms == 42.5
    assert recorded.response is not None and recorded.failure is None
    assert (recorded.response.status, recorded.response.reason) == (401, "Unauthorized")
    assert recorded.response.http_version == "HTTP/2"
    assert recorded.response.content_type == "application/json"
    exchange = recorded.exchange()
    assert exchange.response == recorded.response and exchange.request_headers == recorded.headers


def test_it_decodes_a_base64_body_and_caps_a_long_one() -> None:
    encoded = base64.b64encode(b"caf\xc3\xa9").decode()
    recorded = recorded_from_har_entry(entry(content={"text": encoded, "encoding": "base64"}))
    assert recorded.response is not None and recorded.response.body == "café".encode()
    long = recorded_from_har_entry(entry(content={"text": "x" * (MAX_BODY_CHARS + 5)}))
    assert long.response is not None and len(long.response.body) == MAX_BODY_CHARS


def test_a_bad_base64_body_is_named() -> None:
    error = invalid(entry(content={"text": "not base64!", "encoding": "base64"}))
    assert error.field == "har_entry.response.content.text"


@pytest.mark.parametrize(
    ("error", "kind", "detail"),
    [
        ("net::ERR_NAME_NOT_RESOLVED", FailureKind.DNS, "no_such_host"),
        ("net::ERR_CERT_DATE_INVALID", FailureKind.TLS, "certificate_expired"),
        ("net::ERR_SOMETHING_NEW", FailureKind.OTHER, ""),
    ],
)
def test_a_status_0_is_a_failure_named_by_chromiums_error(
    error: str, kind: FailureKind, detail: str
) -> None:
    recorded = recorded_from_har_entry(entry(status=0, _error=error))
    assert recorded.response is None and recorded.failure is not None
    assert (recorded.failure.kind, recorded.failure.detail, recorded.failure.message) == (
        kind,
        detail,
        error,
    )


def test_a_status_0_with_this_dashboards_failure_keeps_its_kind() -> None:
    failure = {"kind": "read_timeout", "detail": "no_answer"}
    recorded = recorded_from_har_entry(entry(status=0, _failure=failure, comment="Timed out"))
    assert recorded.failure is not None
    assert (recorded.failure.kind, recorded.failure.detail) == (
        FailureKind.READ_TIMEOUT,
        "no_answer",
    )
    assert recorded.failure.message == "Timed out"


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "har_entry"),
        ({"response": {}}, "har_entry.request"),
        ({"request": {"method": "GET", "url": "https://h/"}}, "har_entry.response"),
        (entry(status=600), "har_entry.response.status"),
        (entry(status=True), "har_entry.response.status"),
        (entry(statusText="a\x00b"), "har_entry.response.statusText"),
        (entry(headers="Content-Type: x"), "har_entry.response.headers"),
        (entry(headers=[{"value": "x"}]), "har_entry.response.headers[0]"),
        (
            entry(headers=[{"name": "A", "value": "x"}] * (MAX_HEADERS + 1)),
            "har_entry.response.headers",
        ),
        (entry(status=0, _failure={"kind": "meltdown"}), "har_entry.response._failure.kind"),
    ],
)
def test_it_names_the_field_it_cannot_read(data: object, field: str) -> None:
    assert invalid(data).field == field


@pytest.mark.parametrize("elapsed", [-1, float("nan"), float("inf"), "12", True, 86_400_001])
def test_an_unreadable_duration_is_unknown(elapsed: object) -> None:
    assert recorded_from_har_entry({**entry(), "time": elapsed}).elapsed_ms == 0.0


# --- the request and the failure ----------------------------------------------------------


def test_a_request_is_upper_cased_and_trimmed() -> None:
    assert check_request(method=" post ", url=" http://h/x ") == ("POST", "http://h/x")


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET /", "http://h/", "request.method"),
        ("", "http://h/", "request.method"),
        ("GET", "ftp://h/", "request.url"),
        ("GET", "/relative", "request.url"),
        ("GET", "http://[::1/", "request.url"),
        ("GET", "http://h/\x00", "request.url"),
    ],
)
def test_a_request_it_cannot_send_is_refused(method: str, url: str, field: str) -> None:
    with pytest.raises(RecordedInvalid) as caught:
        check_request(method=method, url=url)
    assert caught.value.field == field


def test_a_failure_defaults_its_message_and_cuts_its_detail() -> None:
    failure = failure_of("dns", detail="d" * 50, where="failure")
    assert (failure.kind, failure.message, failure.detail) == (FailureKind.DNS, "dns", "d" * 40)


# --- storing it ---------------------------------------------------------------------------


@pytest.mark.django_db
def test_it_stores_a_finished_recorded_run_without_its_key(team: Team, owner: User) -> None:
    run = record_exchange(team=team, user=owner, recorded=recorded_from_har_entry(entry()))
    assert run.recorded and run.team == team and run.created_by == owner
    assert run.status != Run.Status.RUNNING
    assert run.response_status == 401 and run.has_api_key
    assert secrets.decrypt(run.secrets_encrypted).api_key == KEY
    attempt = run.attempts.get()
    stored = json.dumps([run.url, run.request_headers, attempt.response_body, attempt.sent_headers])
    assert KEY not in stored
    assert run.diagnosis_code
