"""Retention of monitors' checks against the database: old checks go in batches with the
runs only they used; the checks and runs of state changes (the incident timeline) stay, and
so do runs that became more than a check's (shared, the source of another run)."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.monitors import services
from apps.monitors.assertions import parse
from apps.monitors.models import Check, Monitor, StateChange
from apps.runs.models import Attempt, Run
from apps.sharing.models import ShareLink
from apps.sharing.services import create_link
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
OLD = NOW - timedelta(days=31)


@pytest.fixture(autouse=True)
def thirty_days(settings: Any) -> None:
    settings.MONITOR_RETENTION_DAYS = 30


@pytest.fixture
def monitor(team: Team, owner: User) -> Monitor:
    return services.create_monitor(
        team=team,
        user=owner,
        source_run=finished_run(team, owner),
        name="OHLCV",
        interval_seconds=60,
        assertion_list=[parse("status in 200-299")],
        now=NOW,
    )


def a_check(monitor: Monitor, owner: User, at: datetime, *, with_run: bool = True) -> Check:
    run = finished_run(monitor.team, owner) if with_run else None
    return Check.objects.create(
        monitor=monitor, planned_at=at, started_at=at, evaluated_at=at, passed=True, run=run
    )


def test_old_checks_go_with_their_runs_and_the_timeline_stays(
    monitor: Monitor, owner: User
) -> None:
    plain = a_check(monitor, owner, OLD)
    unsent = a_check(monitor, owner, OLD + timedelta(minutes=1), with_run=False)
    changed = a_check(monitor, owner, OLD + timedelta(minutes=2))
    StateChange.objects.create(
        monitor=monitor, check_made=changed, run=changed.run, at=OLD,
        from_state="up", to_state="down", diagnosis_title="503 maintenance",
    )  # fmt: skip
    shared = a_check(monitor, owner, OLD + timedelta(minutes=3))
    assert shared.run is not None
    create_link(run=shared.run, created_by=owner, visibility=ShareLink.Visibility.TEAM,
                lifetime=None)  # fmt: skip
    retried = a_check(monitor, owner, OLD + timedelta(minutes=4))
    follow_up = finished_run(monitor.team, owner, run={"source": retried.run})
    recent = a_check(monitor, owner, NOW - timedelta(days=29))
    source_run = monitor.source_run
    assert plain.run is not None

    counts = services.purge_old_checks(now=NOW)

    assert counts == {"checks": 4, "runs": 1}
    assert set(Check.objects.values_list("pk", flat=True)) == {changed.pk, recent.pk}
    assert not Run.objects.filter(pk=plain.run.pk).exists()
    assert not Attempt.objects.filter(run_id=plain.run.pk).exists()
    kept_runs = [changed.run, shared.run, retried.run, recent.run, follow_up, source_run]
    assert all(Run.objects.filter(pk=run.pk).exists() for run in kept_runs if run)
    change = StateChange.objects.get()
    assert change.check_made == changed and change.run == changed.run  # the timeline is whole
    assert Check.objects.filter(pk=unsent.pk).count() == 0
    assert services.purge_old_checks(now=NOW) == {"checks": 0, "runs": 0}  # nothing left


def test_old_checks_go_in_batches(monitor: Monitor, owner: User) -> None:
    for n in range(7):
        a_check(monitor, owner, OLD - timedelta(minutes=n))
    first = services.purge_old_checks(now=NOW, batch=2, max_batches=2)
    assert first == {"checks": 4, "runs": 4} and Check.objects.count() == 3
    assert services.purge_old_checks(now=NOW, batch=2) == {"checks": 3, "runs": 3}
    assert not Check.objects.exists()


def test_nothing_goes_when_retention_is_off(monitor: Monitor, owner: User, settings: Any) -> None:
    settings.MONITOR_RETENTION_DAYS = 0
    a_check(monitor, owner, NOW - timedelta(days=400))
    assert services.purge_old_checks(now=NOW) == {"checks": 0, "runs": 0}
    assert Check.objects.count() == 1


def test_beat_purges_with_a_task_of_its_own(settings: Any) -> None:
    from apps.monitors.tasks import purge_task

    entry = settings.CELERY_BEAT_SCHEDULE["monitors-purge"]
    assert entry["task"] == purge_task.name == "monitors.purge"
