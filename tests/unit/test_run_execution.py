"""execute_run in-process (the system tests run it in a real worker): claiming and failures."""

import base64

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.egress.types import Exchange, Response
from apps.runs import secrets, services
from apps.runs.models import Run
from tests.support.servers import closed_port

pytestmark = pytest.mark.django_db


def queued_run(team: Team, user: User, **fields: object) -> Run:
    defaults = {
        "method": "GET",
        "url": f"http://127.0.0.1:{closed_port()}/",
        "timeout_seconds": 2,
        "profile": "http",
    }
    return Run.objects.create(team=team, created_by=user, **{**defaults, **fields})


def test_it_claims_a_run_once(team: Team, owner: User) -> None:
    run = queued_run(team, owner)
    assert services.claim_run(run_id=run.id)
    assert not services.claim_run(run_id=run.id)
    run.refresh_from_db()
    assert run.status == Run.Status.RUNNING and run.deliveries == 1 and run.started_at


def test_it_ignores_a_second_delivery_of_a_finished_run(team: Team, owner: User) -> None:
    run = queued_run(team, owner)
    services.execute_run(run_id=run.id)
    run.refresh_from_db()
    finished_at = run.finished_at
    services.execute_run(run_id=run.id)
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.finished_at == finished_at


def test_it_stores_an_explained_failure_when_the_worker_itself_fails(
    team: Team, owner: User
) -> None:
    run = queued_run(team, owner, secrets_encrypted=b"not a fernet token")
    services.execute_run(run_id=run.id)
    run.refresh_from_db()
    assert run.status == Run.Status.DONE
    assert run.outcome == Run.Outcome.FAILURE
    assert run.failure_kind == "other"
    assert "could not complete this run" in run.failure_message
    assert run.diagnosis_code == "network.other"


def test_it_removes_echoed_secrets_from_the_stored_response(team: Team, owner: User) -> None:
    encoded = base64.b64encode(b"k-secret-1").decode()

    run = queued_run(
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
    services.store_result(run=run, exchange=exchange, secret_values=["k-secret-1"])
    row = Run.objects.filter(pk=run.pk).values().get()
    for column, value in row.items():
        if column != "secrets_encrypted":
            assert "k-secret-1" not in str(value), column
            assert encoded.rstrip("=") not in str(value), column
    assert "[redacted]" in row["response_body"]
