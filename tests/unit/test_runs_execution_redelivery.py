"""Deliveries and redeliveries, in-process against the database (the system and chaos
tests do the same with real workers and real faults)."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.utils import timezone

from apps.accounts.models import Team
from apps.egress.types import Exchange, Failure, FailureKind
from apps.runs import execution, services
from apps.runs.forms import RunRequest
from apps.runs.models import Attempt, Run
from tests.support.factories import lost_attempt, queued_attempt

pytestmark = pytest.mark.django_db

# Storing the result upserts two rollup rows (the hour's and the day's): one statement each.
EXECUTE_QUERIES = 13


def test_it_ignores_a_duplicate_delivery_while_the_first_is_alive(team: Team, owner: User) -> None:
    attempt = queued_attempt(team, owner)
    assert execution.claim_attempt(attempt_id=attempt.id, worker="w1") == 1
    assert execution.claim_attempt(attempt_id=attempt.id, worker="w2") is None
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.RUNNING
    assert attempt.deliveries == 1 and attempt.worker == "w1"


def test_it_executes_again_a_lost_get_and_stores_it_once(team: Team, owner: User) -> None:
    attempt = lost_attempt(team, owner, "GET")
    execution.execute_attempt(attempt_id=attempt.id, worker="w2")
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.DONE and attempt.deliveries == 2
    assert attempt.worker == "w2" and attempt.failure_kind == "connection_refused"
    assert attempt.run.status == Run.Status.DONE
    assert attempt.run.attempts.count() == 1


def test_it_marks_a_lost_post_interrupted_and_never_sends_it_again(
    team: Team, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_sending(*args: object, **kwargs: object) -> None:
        raise AssertionError("a lost POST was sent again")

    monkeypatch.setattr(execution, "send", no_sending)
    attempt = lost_attempt(team, owner, "POST")
    execution.execute_attempt(attempt_id=attempt.id, worker="w2")
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.INTERRUPTED and attempt.deliveries == 1
    assert "may or may not have reached the server" in attempt.failure_message
    assert attempt.run.status == Run.Status.INTERRUPTED and attempt.run.is_finished


def test_it_gives_up_after_the_delivery_cap(team: Team, owner: User) -> None:
    attempt = lost_attempt(team, owner, "GET", deliveries=5)
    execution.execute_attempt(attempt_id=attempt.id)
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.DONE and attempt.deliveries == 5
    assert attempt.failure_kind == "other" and "5 times" in attempt.failure_message
    assert attempt.run.status == Run.Status.DONE


def test_it_discards_the_late_result_of_an_execution_taken_over(team: Team, owner: User) -> None:
    attempt = lost_attempt(team, owner, "GET")
    first = Attempt.objects.select_related("run").get(pk=attempt.pk)  # delivery 1's copy
    assert execution.claim_attempt(attempt_id=attempt.id, worker="w2") == 2
    exchange = Exchange(
        method="GET", url=first.run.url, request_headers=[], response=None,
        failure=Failure(kind=FailureKind.READ_TIMEOUT, message="late"), elapsed_ms=1.0,
    )  # fmt: skip
    assert not execution.store_result(attempt=first, exchange=exchange, secret_values=[])
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.RUNNING and attempt.failure_message == ""


def test_it_sends_an_interrupted_run_again_only_when_asked(team: Team, owner: User) -> None:
    attempt = lost_attempt(team, owner, "POST")
    execution.claim_attempt(attempt_id=attempt.id)
    run = Run.objects.get(pk=attempt.run_id)
    assert run.status == Run.Status.INTERRUPTED
    again = services.retry_now(run=run)
    assert again.number == 2 and again.reason == Attempt.Reason.RETRY
    assert Run.objects.get(pk=run.pk).status == Run.Status.QUEUED


def test_it_leaves_a_published_attempt_alone_when_the_broker_is_down(
    team: Team, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.runs import tasks

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(tasks.execute_attempt_task, "apply_async", down)
    attempt = queued_attempt(team, owner)
    assert not services.enqueue_attempt(attempt_id=attempt.id)
    attempt.refresh_from_db()
    assert attempt.published_at is None and attempt.status == Attempt.Status.QUEUED


def test_it_executes_an_attempt_in_a_fixed_number_of_queries(
    team: Team, owner: User, django_assert_num_queries: Any
) -> None:
    # Claim (the attempt with its run, locking the team; the conditional update counting
    # the team's runs in flight; the run), store (update, locked run, the attempts' states,
    # the run's summary, its hourly rollup; no OpenAPI profile lookup for a team without
    # one), with their savepoints; a deferred field read late would add queries. PostgreSQL
    # marks the run running in the claim's conditional update.
    attempt = queued_attempt(team, owner)
    expected = EXECUTE_QUERIES - (1 if connection.vendor == "postgresql" else 0)
    with django_assert_num_queries(expected):
        execution.execute_attempt(attempt_id=attempt.id, worker="w1")
    attempt.refresh_from_db()
    assert attempt.status == Attempt.Status.DONE and attempt.failure_kind == "connection_refused"
    assert Run.objects.get(pk=attempt.run_id).status == Run.Status.DONE


def submitted(team: Team, owner: User, capture: Any) -> Attempt:
    request = RunRequest(
        method="GET", url="http://127.0.0.1:9/x", params=[], headers=[], body="", api_key="",
        timeout=5.0, profile="",
    )  # fmt: skip
    with capture(execute=True):
        run = services.submit_run(team=team, user=owner, request=request)
    return Attempt.objects.get(run=run)


def test_it_notes_a_submission_published_in_its_insert(
    team: Team,
    owner: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from apps.runs import tasks

    sent: list[object] = []
    monkeypatch.setattr(tasks.execute_attempt_task, "apply_async", lambda *a, **k: sent.append(a))
    attempt = submitted(team, owner, django_capture_on_commit_callbacks)
    assert len(sent) == 1 and attempt.published_at is not None
    assert attempt.published_at <= timezone.now()


def test_it_unnotes_a_submission_the_broker_did_not_get(
    team: Team,
    owner: User,
    monkeypatch: pytest.MonkeyPatch,
    django_capture_on_commit_callbacks: Any,
) -> None:
    from apps.runs import tasks

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(tasks.execute_attempt_task, "apply_async", down)
    attempt = submitted(team, owner, django_capture_on_commit_callbacks)
    # Never published: the sweeper publishes it after SWEEP_QUEUED_AFTER, not the long delay.
    assert attempt.published_at is None and attempt.status == Attempt.Status.QUEUED
