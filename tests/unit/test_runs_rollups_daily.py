"""The trends' daily rollups (the hourly rows added up per day, kept with them) and the
phase percentiles computed by PostgreSQL from the stored JSON."""

import importlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, cast

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection
from django.db.models import Sum
from django.db.models.functions import TruncDay

from apps.accounts.models import Team
from apps.demo.synthetic import generate_runs
from apps.egress.types import HopFacts, Timings
from apps.runs import execution, rollups, trends
from apps.runs.filters import LogFilters
from apps.runs.models import Attempt, Run, RunDayRollup, RunHourRollup
from tests.support.factories import add_attempt, make_run, queued_attempt
from tests.unit.test_runs_rollups import NOW, exchange, write_runs

SUMS = ("runs", "timed", *rollups.BUCKET_FIELDS)
KEY = ("team_id", *rollups.KEY_FIELDS[2:])


def daily_rows() -> list[tuple]:
    rows = RunDayRollup.objects.filter(runs__gt=0).values_list("day", *KEY, *SUMS)
    return sorted(rows)


def hours_by_day() -> list[tuple]:
    """The hourly rows added up per day, as the daily rows should be."""
    rows = (
        RunHourRollup.objects.filter(runs__gt=0)
        .annotate(day_start=TruncDay("hour", tzinfo=UTC))
        .values("day_start", *KEY)
        .annotate(**{f"total_{name}": Sum(name) for name in SUMS})
        .values_list("day_start", *KEY, *(f"total_{name}" for name in SUMS))
    )
    return sorted(rows)


@pytest.mark.django_db
def test_a_rebuild_writes_the_hours_added_up_per_day(team: Team, owner: User) -> None:
    write_runs(team, owner, 300, seed=11)
    rollups.rebuild_team(team=team)
    assert daily_rows() == hours_by_day()
    assert sum(row[len(KEY) + 1] for row in daily_rows()) == (
        Run.objects.exclude(outcome=Run.Outcome.PENDING).count()
    )
    assert all(row[0] == row[0].replace(hour=0, minute=0) for row in daily_rows())


@pytest.mark.django_db
def test_stored_and_generated_results_are_counted_per_day_too(team: Team, owner: User) -> None:
    generate_runs(team=team, count=300, members=[owner], seed=12, now=NOW, batch_size=100)
    first = queued_attempt(team, owner)
    execution.store_result(attempt=first, exchange=exchange(401, 40.0), secret_values=[])
    # Sent again and now a success: the run moves from its 401 to a 200, in both tables.
    again = add_attempt(Run.objects.get(pk=first.run_id), status=Attempt.Status.QUEUED)
    execution.store_result(attempt=again, exchange=exchange(200, 30.0), secret_values=[])

    kept = daily_rows()
    assert kept == hours_by_day()
    finished = Run.objects.exclude(outcome=Run.Outcome.PENDING).count()
    assert sum(row[len(KEY) + 1] for row in kept) == finished == 301
    rollups.rebuild_team(team=team)
    assert daily_rows() == kept


@pytest.mark.django_db
def test_the_migration_fills_the_days_from_the_hourly_rows(team: Team, owner: User) -> None:
    write_runs(team, owner, 120, seed=13)
    rollups.rebuild_team(team=team)
    expected = daily_rows()
    RunDayRollup.objects.all().delete()
    migration = importlib.import_module("apps.runs.migrations.0010_run_day_rollup")

    migration.days_from_hours(apps, None)

    assert daily_rows() == expected != []


def at(text: str) -> datetime:
    day, clock = text.split(" ")
    hour, minute = clock.split(":")
    return NOW.replace(day=int(day), hour=int(hour), minute=int(minute))


@pytest.mark.parametrize(
    ("since", "until", "days", "hours", "live"),
    [
        # NOW is the 10th at 14:25: the whole days, the whole hours around them, the rest live
        ("3 09:10", "10 14:25", ("4 00:00", "10 00:00"),
         [("3 10:00", "4 00:00"), ("10 00:00", "10 14:00")],
         [("3 09:10", "3 10:00"), ("10 14:00", "10 14:25")]),
        ("3 00:00", "9 00:00", ("3 00:00", "9 00:00"), [], []),
        ("8 22:00", "9 03:00", None, [("8 22:00", "9 03:00")], []),
        ("9 00:00", "10 14:25", ("9 00:00", "10 00:00"), [("10 00:00", "10 14:00")],
         [("10 14:00", "10 14:25")]),
    ],
)  # fmt: skip
def test_a_window_counted_per_day_reads_its_whole_days_from_the_daily_rows(
    since: str,
    until: str,
    days: tuple[str, str] | None,
    hours: list[tuple[str, str]],
    live: list[tuple[str, str]],
) -> None:
    split = rollups.split_window(since=at(since), until=at(until), now=NOW, days=True)
    assert split.days == (tuple(map(at, days)) if days else None)
    assert split.hours == [(at(a), at(b)) for a, b in hours]
    assert split.live == [(at(a), at(b)) for a, b in live]
    # Without days, the same hours all come from the hourly rows.
    hourly = rollups.split_window(since=at(since), until=at(until), now=NOW)
    assert hourly.days is None
    assert hourly.hours == ([hourly.rolled] if hourly.rolled else [])
    assert hourly.rolled == split.rolled


@pytest.mark.django_db
def test_a_month_counted_per_day_equals_the_live_queries_without_hourly_rows(
    team: Team, owner: User
) -> None:
    write_runs(team, owner, 300, seed=14)
    rollups.rebuild_team(team=team)
    filters = LogFilters(since=NOW - timedelta(days=30))
    window = trends.trend_window(filters=filters, now=NOW)
    within = LogFilters(since=window.since, until=window.until)
    expected = trends.error_rate_buckets(team=team, filters=within, window=window)
    # The whole days come from the daily rows alone: hourly rows of those days are not read.
    split = rollups.split_window(since=window.since, until=window.until, now=NOW, days=True)
    assert split.days is not None
    RunHourRollup.objects.filter(hour__gte=split.days[0], hour__lt=split.days[1]).delete()

    rolled = trends.team_trends(team=team, filters=filters, now=NOW)

    assert rolled.buckets == expected
    assert rolled.classes == trends.status_class_counts(team=team, filters=within)


def timed_run(team: Team, user: User, host: str, hops: object) -> None:
    run = make_run(team, user, host=host, status=Run.Status.DONE, duration_ms=10.0)
    Run.objects.filter(pk=run.pk).update(created_at=NOW - timedelta(hours=2))
    add_attempt(run, status=Attempt.Status.DONE, outcome=Run.Outcome.RESPONSE, hops=hops)


def hop(reused: bool, **phases: float) -> dict:
    timings = Timings(total=sum(phases.values()), reused=reused)
    # `phases` holds Timings' phase fields only (all floats); mypy cannot tell them apart.
    fields = cast(dict[str, Any], phases)
    return HopFacts(timings=replace(timings, **fields)).to_dict()


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="percentiles in PostgreSQL")
def test_postgresql_computes_the_phases_the_python_reading_gives(team: Team, owner: User) -> None:
    for index in range(7):
        timed_run(team, owner, "a.example", [hop(False, dns=1.5 * index, connect=3, wait=9)])
    timed_run(team, owner, "a.example", [hop(True, send=0.5, wait=4), hop(False, wait=7.25)])
    timed_run(team, owner, "a.example", [])  # no phases measured
    timed_run(team, owner, "a.example", [{"timings": {"total": "x"}}])  # not a number
    timed_run(team, owner, "a.example", {"timings": {"total": 1}})  # not a list of hops
    timed_run(team, owner, "b.example", [{"timings": {"total": 2, "wait": 2}}])
    timed_run(team, owner, "c.example", [])
    filters = LogFilters(since=NOW - timedelta(days=1), until=NOW)
    hosts = ["a.example", "b.example", "c.example"]

    in_database = trends.phases_by_host(team=team, filters=filters, hosts=hosts)
    vendor = connection.vendor
    try:
        connection.vendor = "sqlite"  # the Python reading, over the same attempts
        in_python = trends.phases_by_host(team=team, filters=filters, hosts=hosts)
    finally:
        connection.vendor = vendor

    assert in_database == in_python
    assert [each.host for each in in_database] == ["a.example", "b.example"]
    assert in_database[0].measured == 8
    assert in_database[0].stat("dns").measured == 7


def hourly_rows() -> list[tuple]:
    fields = ("team_id", "hour", *rollups.KEY_FIELDS[2:], *SUMS)
    return sorted(RunHourRollup.objects.filter(runs__gt=0).values_list(*fields))


@pytest.mark.django_db
def test_runs_generated_uncounted_are_counted_by_a_rebuild_as_they_are_when_written(
    team: Team, owner: User
) -> None:
    generate_runs(team=team, count=400, members=[owner], seed=15, now=NOW, batch_size=150)
    counted = (hourly_rows(), daily_rows())
    RunHourRollup.objects.all().delete()
    RunDayRollup.objects.all().delete()
    Run.objects.all().delete()
    generate_runs(team=team, count=400, members=[owner], seed=15, now=NOW, count_in_rollups=False)
    assert not RunHourRollup.objects.exists() and not RunDayRollup.objects.exists()

    rollups.rebuild_team(team=team)

    assert (hourly_rows(), daily_rows()) == counted


@pytest.mark.django_db
@pytest.mark.skipif(connection.vendor != "postgresql", reason="the rebuild in PostgreSQL")
def test_postgresql_rebuilds_the_rows_python_counts(
    team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    write_runs(team, owner, 300, seed=16)  # durations of 0.1 ms to minutes, some missing
    write_runs(other_team, stranger, 40, seed=17)
    for ms in (*rollups.bucket_floors()[:12], 0.0, 0.999, 2.0, 1e9):  # on the boundaries
        make_run(team, owner, outcome=Run.Outcome.RESPONSE, response_status=200, duration_ms=ms)
    finished = Run.objects.exclude(outcome=Run.Outcome.PENDING).order_by()
    rollups.add_rows(finished.values_list(*rollups.RUN_FIELDS))
    in_python = (hourly_rows(), daily_rows())

    rollups.rebuild_team(team=team)
    rollups.rebuild_team(team=other_team)

    assert (hourly_rows(), daily_rows()) == in_python
