"""execute_attempt in-process (the system tests run it in a real worker)."""

import base64
from dataclasses import replace
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.models import Team
from apps.egress.types import Exchange, HopFacts, Response, Timings
from apps.runs import execution, secrets
from apps.runs.models import Attempt, Run
from tests.support.factories import add_attempt, make_run
from tests.support.servers import closed_port

pytestmark = pytest.mark.django_db


def queued_attempt(team: Team, user: User, **fields: object) -> Attempt:
    url = f"http://127.0.0.1:{closed_port()}/"
    run = make_run(team, user, url=url, host="127.0.0.1", timeout_seconds=2, profile="http",
                   **fields)  # fmt: skip
    return add_attempt(run)


def test_it_claims_an_attempt_once(team: Team, owner: User) -> None:
    attempt = queued_attempt(team, owner)
    assert execution.claim_attempt(attempt_id=attempt.id)
    assert not execution.claim_attempt(attempt_id=attempt.id)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.RUNNING and attempt.deliveries == 1
    assert attempt.run.status == Run.Status.RUNNING


def test_it_ignores_a_second_delivery_of_a_finished_attempt(team: Team, owner: User) -> None:
    attempt = queued_attempt(team, owner)
    execution.execute_attempt(attempt_id=attempt.id)
    attempt.refresh_from_db()
    finished_at = attempt.finished_at
    execution.execute_attempt(attempt_id=attempt.id)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.DONE and attempt.finished_at == finished_at
    assert attempt.run.status == Run.Status.DONE
    assert attempt.run.failure_kind == "connection_refused"


def test_it_skips_a_cancelled_attempt(team: Team, owner: User) -> None:
    attempt = queued_attempt(team, owner)
    Attempt.objects.filter(pk=attempt.pk).update(status=Attempt.Status.CANCELLED)
    execution.execute_attempt(attempt_id=attempt.id)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.CANCELLED and attempt.deliveries == 0


def test_it_stores_an_explained_failure_when_the_worker_itself_fails(
    team: Team, owner: User
) -> None:
    attempt = queued_attempt(team, owner, secrets_encrypted=b"not a fernet token")
    execution.execute_attempt(attempt_id=attempt.id)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.DONE
    assert attempt.outcome == Run.Outcome.FAILURE
    assert attempt.failure_kind == "other"
    assert "could not complete this run" in attempt.failure_message
    assert attempt.diagnosis_code.startswith("network.other")
    assert attempt.run.status == Run.Status.DONE


def test_it_removes_echoed_secrets_from_the_stored_response(team: Team, owner: User) -> None:
    encoded = base64.b64encode(b"k-secret-1").decode()
    attempt = queued_attempt(
        team, owner, secrets_encrypted=secrets.encrypt(secrets.RunSecrets("k-secret-1"))
    )
    exchange = Exchange(
        method="GET",
        url="https://api.example/x?token=k-secret-1",
        request_headers=[("X-Api-Key", "k-secret-1"), ("Accept", "*/*")],
        response=Response(
            status=401,
            reason="Unauthorized",
            headers=[("X-Echo", "k-secret-1"), ("Content-Type", "application/json")],
            body=f'{{"message": "bad key k-secret-1 ({encoded})"}}'.encode(),
            truncated=False,
        ),
        failure=None,
        elapsed_ms=5,
    )
    execution.store_result(attempt=attempt, exchange=exchange, secret_values=["k-secret-1"])
    for model, pk in ((Attempt, attempt.pk), (Run, attempt.run_id)):
        row = model.objects.filter(pk=pk).values().get()
        for column, value in row.items():
            if column != "secrets_encrypted":
                assert "k-secret-1" not in str(value), column
                assert encoded.rstrip("=") not in str(value), column
    assert "[redacted]" in Attempt.objects.get(pk=attempt.pk).response_body


def test_it_stores_the_final_requests_timings_in_columns_of_their_own(
    team: Team, owner: User
) -> None:
    redirect = HopFacts(timings=Timings(total=40, dns=5, connect=10, tls=20, wait=5), status=302)
    final = HopFacts(timings=Timings(total=12, send=1, wait=10, receive=1, reused=True), status=200)
    exchange = Exchange(
        method="GET",
        url="https://api.example/x",
        request_headers=[],
        response=Response(status=200, reason="OK", headers=[], body=b"{}", truncated=False),
        failure=None,
        elapsed_ms=52,
        redirects=[(302, "https://api.example/x")],
        hops=[redirect, final],
    )
    attempt = queued_attempt(team, owner)
    assert execution.store_result(attempt=attempt, exchange=exchange, secret_values=[])
    stored = Attempt.objects.get(pk=attempt.pk)
    assert stored.hops == [redirect.to_dict(), final.to_dict()]
    assert (
        stored.final_total_ms, stored.final_dns_ms, stored.final_connect_ms, stored.final_tls_ms,
        stored.final_send_ms, stored.final_wait_ms, stored.final_receive_ms,
    ) == (12.0, None, None, None, 1.0, 10.0, 1.0)  # fmt: skip


def test_it_counts_the_teams_recent_requests_to_the_host_on_a_429(
    team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    now = timezone.now()
    run = make_run(team, owner, host="api.example")
    for _ in range(3):
        add_attempt(run, started_at=now - timedelta(seconds=10))
    add_attempt(run, started_at=now - timedelta(minutes=5))  # outside the window
    add_attempt(make_run(team, owner, host="other.example"), started_at=now)
    add_attempt(make_run(other_team, stranger, host="api.example"), started_at=now)
    rate_limited = Exchange(
        method="GET",
        url="https://api.example/x",
        request_headers=[],
        response=Response(
            status=429, reason="Too Many Requests", headers=[], body=b"", truncated=False
        ),
        failure=None,
        elapsed_ms=5,
    )
    context = execution._diagnosis_context(run, rate_limited)
    assert context.recent_requests == 3
    assert context.requests_window_seconds == 60
    assert rate_limited.response is not None
    ok = replace(rate_limited, response=replace(rate_limited.response, status=200))
    assert execution._diagnosis_context(run, ok).recent_requests is None
