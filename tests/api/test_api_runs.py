"""The API's endpoints over runs, the log, exports, share links and diagnose-only runs:
the same validation as the pages, problems that name fields, keyset pages, no secrets."""

import base64
import json
import uuid
from datetime import timedelta
from typing import Any
from urllib.parse import quote

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Team
from apps.api import api as api_module
from apps.egress.types import Exchange, Response
from apps.runs import execution
from apps.runs.models import Run
from apps.sharing.models import ShareLink
from tests.api.conftest import ApiClient
from tests.support.factories import finished_run
from tests.support.har import VALIDATOR

pytestmark = pytest.mark.django_db

KAIKO = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
SECRETS = {
    "api_key": "KSECRET-api-0001",
    "header": "HSECRET-hdr-0002",
    "query": "QSECRET-qry-0003",
    "body": "BSECRET-bdy-0004",
}


def all_forms(value: str) -> list[str]:
    encoded = base64.b64encode(value.encode()).decode()
    return [value, encoded, encoded.rstrip("="), quote(value, safe="")]


def assert_no_secret(text: str) -> None:
    for value in SECRETS.values():
        for form in all_forms(value):
            assert form not in text, f"{form!r} leaked"


# Submitting -----------------------------------------------------------------------------


def test_it_submits_a_run_as_the_form_does(owner_api: ApiClient, owner: User, team: Team) -> None:
    response = owner_api.post(
        "/api/v1/runs",
        {
            "method": "get",
            "url": KAIKO,
            "params": [{"name": "page_size", "value": "10"}],
            "headers": [{"name": "Accept", "value": "application/json"}],
            "api_key": "k-123456",
        },
    )
    assert response.status_code == 201
    body = response.json()
    run = Run.objects.get(pk=body["id"])
    assert (run.team, run.created_by, run.method) == (team, owner, "GET")
    assert run.query == [["page_size", "10"]] and run.has_api_key
    assert body["status"] == "queued" and body["finished"] is False
    assert body["url"].endswith(f"/runs/{run.id}/")
    assert body["request"]["profile"] == "kaiko"
    assert "k-123456" not in response.content.decode()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"url": "ftp://example.com/"}, "url", "http and https"),
        ({"url": KAIKO, "method": "BREW"}, "method", "valid choice"),
        (
            {"url": KAIKO, "headers": [{"name": "X-Api-Key", "value": "k"}]},
            "headers",
            "API key field",
        ),
        (
            {"url": KAIKO, "headers": [{"name": "Bad Name", "value": "v"}]},
            "headers",
            "not a valid header name",
        ),
        ({"url": KAIKO, "method": "GET", "body": "x"}, "body", "without a body"),
        ({"url": KAIKO, "timeout": 10_000}, "timeout", "less than or equal"),
        (
            {"url": KAIKO, "headers": [{"name": "A", "value": "b\r\nX-Injected: 1"}]},
            "headers[0]",
            "Line breaks",
        ),
        ({"method": "GET"}, "url", "required"),
        ({"url": KAIKO, "params": "not a list"}, "params", ""),
    ],
)
def test_it_answers_a_problem_naming_the_field(
    owner_api: ApiClient, payload: dict, field: str, message: str
) -> None:
    response = owner_api.post("/api/v1/runs", payload)
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["status"] == 422 and problem["title"]
    fields = {error["field"]: error["message"] for error in problem["errors"]}
    assert field in fields, fields
    assert message in fields[field]
    assert Run.objects.count() == 0


def test_it_answers_a_problem_for_a_body_that_is_not_json(owner_api: ApiClient) -> None:
    response = owner_api.client.post(
        "/api/v1/runs", "{not json", content_type="application/json", headers=owner_api.headers
    )
    assert response.status_code in {400, 422}
    assert response["Content-Type"] == "application/problem+json"


def test_wait_holds_the_answer_until_the_run_is_finished(
    owner_api: ApiClient, team: Team, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = finished_run(team, owner, response_status=429)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    polls = []

    def finish_on_second_poll(seconds: float) -> None:
        polls.append(seconds)
        if len(polls) == 2:
            Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE)

    monkeypatch.setattr(api_module.time, "sleep", finish_on_second_poll)
    body = owner_api.get(f"/api/v1/runs/{run.id}", wait=5).json()
    assert body["finished"] is True and body["status"] == "done"
    assert len(polls) == 2
    assert body["result"]["status"] == 429


def test_wait_gives_up_after_the_seconds_asked(
    owner_api: ApiClient, team: Team, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = finished_run(team, owner)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.QUEUED)
    clock = iter(range(0, 1000, 1))
    monkeypatch.setattr(api_module.time, "monotonic", lambda: next(clock))
    monkeypatch.setattr(api_module.time, "sleep", lambda seconds: None)
    body = owner_api.get(f"/api/v1/runs/{run.id}", wait=3).json()
    assert body["status"] == "queued" and body["finished"] is False


@pytest.mark.parametrize("wait", [-1, 31, "soon"])
def test_wait_is_bounded(owner_api: ApiClient, team: Team, owner: User, wait: object) -> None:
    run = finished_run(team, owner)
    response = owner_api.get(f"/api/v1/runs/{run.id}", wait=wait)
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "wait"


# Reading: the documented shape, and no secrets ----------------------------------------------


@pytest.fixture
def run_with_secrets(owner_api: ApiClient) -> Run:
    """Submitted through the API with a secret in each place, then answered by an upstream
    that echoes them back (as they are and in base64)."""
    response = owner_api.post(
        "/api/v1/runs",
        {
            "method": "POST",
            "url": f"{KAIKO}?api_key={SECRETS['query']}&page=1",
            "headers": [
                {"name": "Content-Type", "value": "application/json"},
                {"name": "Authorization", "value": f"Bearer {SECRETS['header']}"},
            ],
            "body": json.dumps({"password": SECRETS["body"], "page": 1}),
            "api_key": SECRETS["api_key"],
        },
    )
    assert response.status_code == 201, response.content
    run = Run.objects.get(pk=response.json()["id"])
    echoed = json.dumps(
        {
            "message": "Unauthorized",
            "seen": list(SECRETS.values()),
            "b64": [base64.b64encode(v.encode()).decode() for v in SECRETS.values()],
        }
    )
    exchange = Exchange(
        method="POST",
        url=f"{KAIKO}?api_key={SECRETS['query']}&page=1",
        request_headers=[("X-Api-Key", SECRETS["api_key"])],
        response=Response(
            status=401,
            reason="Unauthorized",
            headers=[("Content-Type", "application/json"), ("X-Echo", SECRETS["header"])],
            body=echoed.encode(),
            truncated=False,
        ),
        failure=None,
        elapsed_ms=12.0,
    )
    attempt = run.attempts.get()
    secret_values = list(SECRETS.values())
    assert execution.store_result(attempt=attempt, exchange=exchange, secret_values=secret_values)
    return run


def test_a_run_has_its_result_diagnosis_and_attempts(
    owner_api: ApiClient, run_with_secrets: Run
) -> None:
    body = owner_api.get(f"/api/v1/runs/{run_with_secrets.id}").json()
    assert body["finished"] is True
    assert body["result"]["status"] == 401
    diagnosis = body["diagnosis"]
    assert diagnosis["code"].startswith("kaiko.401")
    assert diagnosis["severity"] == "error"
    assert diagnosis["causes"] and diagnosis["causes"][0]["evidence"]
    assert all(p["url"].startswith("http://testserver/help/") for p in diagnosis["playbooks"])
    assert [a["number"] for a in body["attempts"]] == [1]
    assert "$API_KEY" in body["request"]["curl"]


def test_no_answer_holds_a_secret_in_any_encoding(
    owner_api: ApiClient, run_with_secrets: Run, team: Team, owner: User
) -> None:
    plain = finished_run(team, owner, response_status=200)  # to compare it with
    answers = [
        owner_api.get(f"/api/v1/runs/{run_with_secrets.id}"),
        owner_api.get(f"/api/v1/runs/{run_with_secrets.id}/compare/{plain.id}"),
        owner_api.get(f"/api/v1/runs/{plain.id}/compare/{run_with_secrets.id}"),
        owner_api.get("/api/v1/runs"),
        owner_api.post(f"/api/v1/runs/{run_with_secrets.id}/retry"),
        owner_api.post(f"/api/v1/runs/{run_with_secrets.id}/share-links", {"lifetime": "1h"}),
        owner_api.get(f"/api/v1/runs/{run_with_secrets.id}/share-links"),
    ]
    exports = [owner_api.get("/api/v1/exports/runs.csv"), owner_api.get("/api/v1/exports/runs.har")]
    for response in answers:
        assert response.status_code in {200, 201}
        assert_no_secret(response.content.decode())
    for response in exports:
        assert response.status_code == 200
        assert_no_secret(b"".join(response.streaming_content).decode())
    shown = answers[0].json()
    assert shown["redacted"]  # and the answer says what kind of thing was removed where
    assert "[redacted]" in json.dumps(shown["result"])


# The log -------------------------------------------------------------------------------------


def test_the_log_pages_with_the_keyset_cursor(
    owner_api: ApiClient, team: Team, owner: User
) -> None:
    runs = [finished_run(team, owner, response_status=500 + i) for i in range(5)]
    seen: list[str] = []
    page = owner_api.get("/api/v1/runs", limit=2).json()
    while True:
        seen.extend(row["id"] for row in page["runs"])
        if page["next"] is None:
            break
        assert page["next_cursor"] in page["next"]
        page = owner_api.get("/api/v1/runs", limit=2, before=page["next_cursor"]).json()
    assert seen == [str(run.id) for run in reversed(runs)]


def test_the_log_takes_the_pages_filters(owner_api: ApiClient, team: Team, owner: User) -> None:
    server = finished_run(team, owner, response_status=503)
    finished_run(team, owner, response_status=404)
    rows = owner_api.get("/api/v1/runs", **{"class": "5xx"}).json()["runs"]
    assert [row["id"] for row in rows] == [str(server.id)]
    assert rows[0]["api_url"].endswith(f"/api/v1/runs/{server.id}")


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"class": "9xx"}, "class"),
        ({"status": "abc"}, "status"),
        ({"q": "ab"}, "q"),
        ({"member": "nobody"}, "member"),
        ({"since": "yesterday"}, "since"),
        ({"before": "not-a-cursor"}, "before"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_a_bad_filter_is_a_problem_naming_it(
    owner_api: ApiClient, params: dict, field: str
) -> None:
    response = owner_api.get("/api/v1/runs", **params)
    assert response.status_code == 422
    assert field in {error["field"] for error in response.json()["errors"]}


def test_exports_are_the_filtered_log(owner_api: ApiClient, team: Team, owner: User) -> None:
    finished_run(team, owner, response_status=503)
    finished_run(team, owner, response_status=404)
    csv = owner_api.get("/api/v1/exports/runs.csv", **{"class": "5xx"})
    assert csv["Content-Type"].startswith("text/csv")
    lines = b"".join(csv.streaming_content).decode().strip().splitlines()
    assert len(lines) == 2 and ",503," in lines[1]
    har = owner_api.get("/api/v1/exports/runs.har")
    document = json.loads(b"".join(har.streaming_content))
    assert [error.message for error in VALIDATOR.iter_errors(document)] == []  # HAR 1.2 schema
    entries = document["log"]["entries"]
    assert sorted(e["response"]["status"] for e in entries) == [404, 503]
    assert owner_api.get("/api/v1/exports/runs.csv", status="x").status_code == 422


# Share links ---------------------------------------------------------------------------------


def test_a_share_link_opens_signed_out_and_can_be_revoked(
    owner_api: ApiClient, team: Team, owner: User
) -> None:
    run = finished_run(team, owner, response_status=401)
    created = owner_api.post(f"/api/v1/runs/{run.id}/share-links", {"lifetime": "7d"})
    assert created.status_code == 201
    link = created.json()
    assert link["visibility"] == "public" and link["state"] == "active"
    assert Client().get(link["url"]).status_code == 200
    listed = owner_api.get(f"/api/v1/runs/{run.id}/share-links").json()
    assert [row["id"] for row in listed] == [link["id"]]
    assert all("url" not in row for row in listed)  # the link is shown once only
    revoked = owner_api.post(f"/api/v1/runs/{run.id}/share-links/{link['id']}/revoke")
    assert revoked.json()["state"] == "revoked"
    assert Client().get(link["url"]).status_code == 404


def test_a_public_link_must_expire(owner_api: ApiClient, team: Team, owner: User) -> None:
    run = finished_run(team, owner)
    response = owner_api.post(f"/api/v1/runs/{run.id}/share-links", {"lifetime": "never"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "lifetime"
    team_only = owner_api.post(
        f"/api/v1/runs/{run.id}/share-links", {"lifetime": "never", "visibility": "team"}
    )
    assert team_only.status_code == 201 and team_only.json()["expires_at"] is None
    assert ShareLink.objects.filter(run=run).count() == 1


def test_an_unknown_link_of_a_run_is_404(owner_api: ApiClient, team: Team, owner: User) -> None:
    run = finished_run(team, owner)
    response = owner_api.post(f"/api/v1/runs/{run.id}/share-links/{uuid.uuid4()}/revoke")
    assert response.status_code == 404


# Actions -------------------------------------------------------------------------------------


def test_actions_use_the_run_services(owner_api: ApiClient, team: Team, owner: User) -> None:
    run = finished_run(team, owner, response_status=500)
    retried = owner_api.post(f"/api/v1/runs/{run.id}/retry").json()
    assert [a["reason"] for a in retried["attempts"]] == ["First attempt", "Retried by hand"]
    again = owner_api.post(f"/api/v1/runs/{run.id}/retry")
    assert again.status_code == 409 and "in progress" in again.json()["detail"]
    cancelled = owner_api.post(f"/api/v1/runs/{run.id}/cancel").json()
    assert cancelled["attempts"][1]["status"] == "cancelled"
    new = owner_api.post(f"/api/v1/runs/{run.id}/reauthenticate", {"api_key": "new-key-123"})
    assert new.status_code == 201
    assert Run.objects.get(pk=new.json()["id"]).source_id == run.id
    bad = owner_api.post(f"/api/v1/runs/{run.id}/reauthenticate", {"api_key": "has space"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "api_key"


# cURL ----------------------------------------------------------------------------------------


def test_a_curl_command_is_parsed_on_the_server(owner_api: ApiClient) -> None:
    command = f"curl -sk -H 'Accept: application/json' -H 'X-Api-Key: k-curl-1' '{KAIKO}'"
    response = owner_api.post("/api/v1/runs/curl", {"command": command})
    assert response.status_code == 201
    body = response.json()
    run = Run.objects.get(pk=body["id"])
    assert run.has_api_key and run.request_headers == [["Accept", "application/json"]]
    assert any("-k/--insecure" in w for w in body["warnings"])
    assert any("-s" in w for w in body["warnings"])
    assert "k-curl-1" not in response.content.decode()


@pytest.mark.parametrize(
    ("command", "field"),
    [
        ("wget https://example.com", "command"),
        ("curl -H 'unclosed https://example.com", "command"),
        ("curl ftp://example.com/file", "command.url"),
        ("curl -X BREW https://example.com", "command.method"),
    ],
)
def test_a_bad_curl_command_is_a_problem(owner_api: ApiClient, command: str, field: str) -> None:
    response = owner_api.post("/api/v1/runs/curl", {"command": command})
    assert response.status_code == 422
    assert field in {error["field"] for error in response.json()["errors"]}
    assert Run.objects.count() == 0


def test_a_raw_http_request_is_read_as_the_paste_box_reads_it(owner_api: ApiClient) -> None:
    text = (
        "POST /v2/data/trades.v1/exchanges HTTP/1.1\r\nHost: us.market-api.kaiko.io\r\n"
        'Content-Type: application/json\r\nX-Api-Key: k-raw-1\r\n\r\n{"page": 1}'
    )
    response = owner_api.post("/api/v1/runs/curl", {"command": text})
    assert response.status_code == 201, response.content
    run = Run.objects.get(pk=response.json()["id"])
    assert (run.method, run.url) == (
        "POST",
        "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges",
    )
    assert run.has_api_key and run.request_body == '{"page": 1}'
    assert "k-raw-1" not in response.content.decode()
    bad = owner_api.post("/api/v1/runs/curl", {"command": "GET /x HTTP/1.1\r\n\r\n"})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "command"
    assert Run.objects.count() == 1


# Diagnose only -------------------------------------------------------------------------------


def test_it_diagnoses_a_recorded_response_without_sending(owner_api: ApiClient) -> None:
    response = owner_api.post(
        "/api/v1/diagnose",
        {
            "request": {"method": "GET", "url": KAIKO},
            "response": {
                "status": 401,
                "headers": [{"name": "Content-Type", "value": "application/json"}],
                "body": '{"message": "Unauthorized"}',
            },
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["recorded"] is True and body["finished"] is True
    assert body["diagnosis"]["code"] == "kaiko.401.no_key"
    run = Run.objects.get(pk=body["id"])
    assert run.recorded and run.status == Run.Status.DONE
    assert run.attempts.get().published_at is None  # never handed to a worker


def test_it_diagnoses_a_recorded_failure(owner_api: ApiClient) -> None:
    response = owner_api.post(
        "/api/v1/diagnose",
        {
            "request": {"method": "GET", "url": "https://api.example.com/"},
            "failure": {"kind": "dns", "detail": "no_such_host"},
        },
    )
    assert response.status_code == 201
    body = response.json()
    assert body["result"]["outcome"] == "failure"
    assert body["diagnosis"]["code"].startswith("network.dns")


def test_it_diagnoses_a_har_entry_and_keeps_its_secrets_out(owner_api: ApiClient) -> None:
    entry = {
        "request": {
            "method": "GET",
            "url": f"{KAIKO}?page_size=1",
            "headers": [
                {"name": ":authority", "value": "us.market-api.kaiko.io"},
                {"name": "X-Api-Key", "value": SECRETS["api_key"]},
            ],
        },
        "response": {
            "status": 403,
            "statusText": "Forbidden",
            "headers": [{"name": "Content-Type", "value": "application/json"}],
            "content": {
                "text": base64.b64encode(
                    json.dumps({"message": f"key {SECRETS['api_key']} lacks access"}).encode()
                ).decode(),
                "encoding": "base64",
            },
        },
        "time": 42.5,
    }
    response = owner_api.post("/api/v1/diagnose", {"har_entry": entry})
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["result"]["status"] == 403
    assert body["diagnosis"]["code"].startswith("kaiko.403")
    assert body["request"]["has_api_key"] is True
    assert_no_secret(response.content.decode())
    assert_no_secret(json.dumps(list(Run.objects.values("url", "request_headers"))))


def test_a_chromium_failure_entry_is_read(owner_api: ApiClient) -> None:
    entry = {
        "request": {"method": "GET", "url": "https://nowhere.invalid/"},
        "response": {"status": 0, "_error": "net::ERR_NAME_NOT_RESOLVED"},
    }
    body = owner_api.post("/api/v1/diagnose", {"har_entry": entry}).json()
    assert body["diagnosis"]["code"].startswith("network.dns")


GET = {"method": "GET", "url": KAIKO}
NUL = "\x00"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({}, "request"),
        ({"request": GET}, "response"),
        ({"request": GET, "response": {"status": 200}, "failure": {"kind": "dns"}}, "response"),
        (
            {"request": {"method": "GET", "url": "not a url"}, "response": {"status": 200}},
            "request.url",
        ),
        ({"request": {**GET, "method": "G T"}, "response": {"status": 200}}, "request.method"),
        ({"request": GET, "response": {"status": 99}}, "response.status"),
        ({"request": GET, "failure": {"kind": "gremlins"}}, "failure.kind"),
        ({"har_entry": {"request": {}}}, "har_entry.request.method"),
        ({"har_entry": {"request": GET}}, "har_entry.response"),
        (
            {"har_entry": {"request": GET, "response": {"status": "x"}}},
            "har_entry.response.status",
        ),
        ({"request": GET, "response": {"status": 200}, "profile": "nope"}, "profile"),
    ],
)
def test_a_bad_exchange_is_a_problem_naming_where(
    owner_api: ApiClient, payload: dict, field: str
) -> None:
    response = owner_api.post("/api/v1/diagnose", payload)
    assert response.status_code == 422, response.content
    assert field in {error["field"] for error in response.json()["errors"]}
    assert Run.objects.count() == 0


# Rate limits ---------------------------------------------------------------------------------


def test_each_token_is_rate_limited_with_retry_after(
    owner_api: ApiClient, teammate_api: ApiClient, settings: object
) -> None:
    settings.RATELIMIT_API = "3/m"  # type: ignore[attr-defined]
    assert [owner_api.get("/api/v1/me").status_code for _ in range(3)] == [200, 200, 200]
    limited = owner_api.get("/api/v1/me")
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    assert limited.json()["status"] == 429
    assert teammate_api.get("/api/v1/me").status_code == 200  # another token, its own count


def test_submissions_count_with_the_pages(owner_api: ApiClient, settings: object) -> None:
    settings.RATELIMIT_SUBMIT = "2/m"  # type: ignore[attr-defined]
    codes = [owner_api.post("/api/v1/runs", {"url": KAIKO}).status_code for _ in range(3)]
    assert codes == [201, 201, 429]
    assert Run.objects.count() == 2


def test_a_token_notes_when_it_was_last_used(owner_api: ApiClient, owner: User) -> None:
    token = owner.api_tokens.get()
    assert token.last_used_at is None
    owner_api.get("/api/v1/me")
    token.refresh_from_db()
    assert token.last_used_at is not None
    assert timezone.now() - token.last_used_at < timedelta(minutes=1)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"request": {**GET, "body": "a\x00b"}, "response": {"status": 200}}, "request.body"),
        (
            {"request": GET, "response": {"status": 200, "headers": [{"name": "X", "value": NUL}]}},
            "response.headers[0].value",
        ),
        ({"request": GET, "failure": {"kind": "dns", "message": "\x00"}}, "failure.message"),
        (
            {"har_entry": {"request": {**GET, "headers": [{"name": "A\x00", "value": "v"}]}}},
            "har_entry.request.headers[0].name",
        ),
        (
            {"har_entry": {"request": GET, "response": {"status": 0, "_error": "net\x00"}}},
            "har_entry.response._error",
        ),
        ({"request": GET, "response": {"status": 200}, "elapsed_ms": -1}, "elapsed_ms"),
    ],
)  # fmt: skip
def test_what_cannot_be_stored_is_refused_at_its_field(
    owner_api: ApiClient, payload: dict, field: str
) -> None:
    """NUL characters: PostgreSQL refuses them, so they are refused before, with a message."""
    response = owner_api.post("/api/v1/diagnose", payload)
    assert response.status_code == 422, response.content
    assert field in {error["field"] for error in response.json()["errors"]}
    assert Run.objects.count() == 0


def test_har_http_versions_are_read_as_browsers_write_them(owner_api: ApiClient) -> None:
    entry: dict[str, Any] = {
        "request": GET,
        "response": {"status": 200, "httpVersion": "h2" + "x" * 40},
    }
    assert owner_api.post("/api/v1/diagnose", {"har_entry": entry}).status_code == 201
    entry["response"]["httpVersion"] = "h2"
    body = owner_api.post("/api/v1/diagnose", {"har_entry": entry}).json()
    assert Run.objects.get(pk=body["id"]).attempts.get().response_http_version == "HTTP/2"


def test_an_unexpected_error_is_a_problem_without_a_traceback(
    owner_api: ApiClient, team: Team, owner: User, monkeypatch: pytest.MonkeyPatch, settings: object
) -> None:
    settings.DEBUG = True  # type: ignore[attr-defined]
    run = finished_run(team, owner)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("internal detail KSECRET-api-0001")

    monkeypatch.setattr(api_module.presenters, "run_out", broken)
    response = owner_api.get(f"/api/v1/runs/{run.id}")
    assert response.status_code == 500
    assert response["Content-Type"] == "application/problem+json"
    assert "KSECRET" not in response.content.decode()
    assert "Traceback" not in response.content.decode()


def test_a_string_that_is_not_text_is_refused(owner_api: ApiClient) -> None:
    body = '{"url": "https://example.com/\\ud800"}'  # a lone surrogate, escaped in JSON
    response = owner_api.client.post(
        "/api/v1/runs", body, content_type="application/json", headers=owner_api.headers
    )
    assert response.status_code == 400  # the body cannot be read, as for JSON that is not
    assert response.json()["detail"].startswith("Cannot parse request body")
    assert Run.objects.count() == 0


@pytest.mark.parametrize("elapsed", ["NaN", "Infinity", "-5", "1e300"])
def test_a_har_time_that_is_no_duration_is_taken_as_unknown(
    owner_api: ApiClient, elapsed: str
) -> None:
    body = (
        '{"har_entry": {"request": {"method": "GET", "url": "https://api.example.com/"}, '
        f'"response": {{"status": 204}}, "time": {elapsed}}}}}'
    )
    response = owner_api.client.post(
        "/api/v1/diagnose", body, content_type="application/json", headers=owner_api.headers
    )
    assert response.status_code == 201, response.content
    assert response.json()["result"]["duration_ms"] == 0.0


@pytest.mark.parametrize(
    ("content_type", "body"),
    [
        ("application/json", json.dumps({"url": "https://x.example/", "body": "x" * 3_000_000})),
        ("application/x-www-form-urlencoded", "body=" + "x" * 3_000_000),
    ],
)
def test_a_body_larger_than_django_reads_is_refused_at_the_body(
    teammate_api: ApiClient, content_type: str, body: str
) -> None:
    """Was a 500: Django's RequestDataTooBig (JSON), or the stream already read by the form
    middleware (a form post)."""
    response = teammate_api.client.post(
        "/api/v1/runs", body, content_type=content_type, headers=teammate_api.headers
    )
    assert response.status_code == 413
    problem = response.json()
    assert "at most 256 KiB" in problem["detail"]
    assert [error["field"] for error in problem["errors"]] == ["body"]
    assert not Run.objects.exists()
