"""The in-flight registry of a worker process: one heartbeat for all its attempts, and the
watchdog that stores an attempt past the soft time limit as timed out."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Team
from apps.egress.types import Exchange, Failure, FailureKind
from apps.runs import execution
from apps.runs.inflight import InFlight
from apps.runs.models import Attempt, Run
from tests.support.factories import queued_attempt

pytestmark = pytest.mark.django_db


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def running(team: Team, user: User) -> Attempt:
    attempt = queued_attempt(team, user)
    assert execution.claim_attempt(attempt_id=attempt.id, worker="w1") == 1
    then = timezone.now() - timedelta(minutes=1)
    Attempt.objects.filter(pk=attempt.pk).update(heartbeat_at=then)
    return Attempt.objects.select_related("run").get(pk=attempt.pk)


def test_it_notes_every_attempt_in_flight_alive_in_one_round(team: Team, owner: User) -> None:
    first, second, other = running(team, owner), running(team, owner), running(team, owner)
    in_flight = InFlight(clock=Clock())
    with (
        in_flight.holding(attempt_id=first.id, delivery=1, on_overdue=lambda: None),
        in_flight.holding(attempt_id=second.id, delivery=1, on_overdue=lambda: None),
        # A delivery that was taken over by another one notes nothing.
        in_flight.holding(attempt_id=other.id, delivery=7, on_overdue=lambda: None),
    ):
        assert in_flight.count() == 3
        in_flight.beat()
    assert in_flight.count() == 0
    fresh = timezone.now() - timedelta(seconds=5)
    for attempt in (first, second):
        attempt.refresh_from_db()
        assert attempt.heartbeat_at is not None and attempt.heartbeat_at > fresh
    other.refresh_from_db()
    assert other.heartbeat_at is not None and other.heartbeat_at < fresh


@override_settings(CELERY_TASK_SOFT_TIME_LIMIT=30)
def test_it_stores_an_attempt_past_the_soft_limit_as_timed_out_once(
    team: Team, owner: User
) -> None:
    attempt = running(team, owner)
    clock = Clock()
    in_flight = InFlight(clock=clock)

    def overdue() -> bool:
        return execution._store_timed_out(attempt_id=attempt.id, delivery=1)

    with in_flight.holding(attempt_id=attempt.id, delivery=1, on_overdue=overdue):
        clock.now += 29
        in_flight.beat()
        assert Attempt.objects.get(pk=attempt.pk).status == Attempt.Status.RUNNING
        clock.now += 2
        in_flight.beat()
        assert in_flight.count() == 0  # no longer noted alive
        stored = Attempt.objects.get(pk=attempt.pk)
        assert stored.status == Attempt.Status.DONE and stored.failure_kind == "read_timeout"
        assert "time limit (30 s)" in stored.failure_message and stored.diagnosis["title"]
        assert Run.objects.get(pk=attempt.run_id).status == Run.Status.DONE
        # The thread that carried it comes back late: its result is discarded.
        late = Exchange(
            method="GET", url=attempt.run.url, request_headers=[], response=None,
            failure=Failure(kind=FailureKind.CONNECTION_REFUSED, message="late"), elapsed_ms=1.0,
        )  # fmt: skip
        assert not execution.store_result(attempt=attempt, exchange=late, secret_values=[])
    assert Attempt.objects.get(pk=attempt.pk).failure_kind == "read_timeout"


def test_it_keeps_noting_the_others_when_one_cannot_be_stored(team: Team, owner: User) -> None:
    attempt = running(team, owner)
    clock = Clock()
    in_flight = InFlight(clock=clock)

    def broken() -> None:
        raise RuntimeError("cannot store")

    with in_flight.holding(attempt_id=uuid.uuid4(), delivery=1, on_overdue=broken):
        clock.now += 10_000
        with in_flight.holding(attempt_id=attempt.id, delivery=1, on_overdue=lambda: None):
            in_flight.beat()
            assert in_flight.count() == 1
    attempt.refresh_from_db()
    assert attempt.heartbeat_at is not None
    assert attempt.heartbeat_at > timezone.now() - timedelta(seconds=5)
