"""The trends' phase percentiles: read from the attempts' `final_*_ms` columns, they are the
figures the final request of each attempt's stored hops gives; the migration that fills the
columns of attempts stored before them."""

import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.apps import apps
from django.contrib.auth.models import User
from django.db import connection

from apps.accounts.models import Team
from apps.egress.types import HopFacts, Timings
from apps.runs import trends
from apps.runs.filters import LogFilters
from apps.runs.models import Attempt, Run
from apps.runs.phases import FINAL_FIELDS, PHASE_LABELS, final_phases
from tests.support.factories import add_attempt, make_run

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 12, 5, 12, tzinfo=UTC)
FILTERS = LogFilters(since=NOW - timedelta(days=1), until=NOW)


def hop(total: float, **phases: float | None) -> dict[str, Any]:
    return HopFacts(timings=Timings(total=total, **phases)).to_dict()  # type: ignore[arg-type]


# Each host's attempts' hops: measured or not, redirected, reused connections, odd shapes.
STORED: dict[str, list[Any]] = {
    "a.example": [
        *[[hop(30.0 + i, dns=1.5 * i, connect=3, tls=9, send=0.5, wait=15 + i)] for i in range(9)],
        [hop(5, dns=1, connect=1, tls=1, wait=2), hop(7.25, send=0.25, wait=7, reused=True)],
        [hop(4, wait=4), {"timings": {"total": "x"}}],  # the final request is not measured
        [],
        {"timings": {"total": 1}},  # not a list of hops
    ],
    "b.example": [[{"timings": {"total": 2, "wait": 2}}], [hop(3, wait=1.5, receive=1.5)]],
    "c.example": [[], []],
}


def stored_run(team: Team, user: User, host: str, hops: Any, minutes: int) -> Attempt:
    run = make_run(team, user, host=host, status=Run.Status.DONE, duration_ms=10.0)
    Run.objects.filter(pk=run.pk).update(created_at=NOW - timedelta(hours=2, minutes=minutes))
    return add_attempt(
        run,
        status=Attempt.Status.DONE,
        outcome=Run.Outcome.RESPONSE,
        finished_at=NOW - timedelta(hours=1, minutes=minutes),
        hops=hops,
    )


def from_hops(stored: list[Any]) -> list[trends.PhaseStat]:
    """The percentiles of each phase as the final request of the stored hops gives them."""
    finals = [HopFacts.from_dict(hops[-1]) for hops in stored if isinstance(hops, list) and hops]
    stats = []
    for name in trends.TREND_PHASES:
        values = [v for each in finals if each and (v := each.timings.phase(name)) is not None]
        stats.append(
            trends.PhaseStat(
                phase=name,
                label=PHASE_LABELS[name],
                p50=trends.percentile(values, 0.5) if values else None,
                p95=trends.percentile(values, 0.95) if values else None,
                measured=len(values),
            )
        )
    return stats


def test_the_phases_are_those_of_the_final_requests_of_the_stored_hops(
    team: Team, owner: User
) -> None:
    for host, stored in STORED.items():
        for minutes, hops in enumerate(stored):
            stored_run(team, owner, host, hops, minutes)

    found = trends.phases_by_host(team=team, filters=FILTERS, hosts=list(STORED))

    assert [each.host for each in found] == ["a.example", "b.example"]
    assert [each.measured for each in found] == [10, 2]
    for each in found:
        assert each.phases == from_hops(STORED[each.host])
    assert found[0].stat("dns").measured == 9 and found[0].stat("send").measured == 10
    assert found[0].stat("wait").p50 == 18.5


def test_an_attempt_without_its_columns_filled_counts_as_not_measured(
    team: Team, owner: User
) -> None:
    attempt = stored_run(team, owner, "a.example", [hop(4, wait=4)], 0)
    assert trends.phases_by_host(team=team, filters=FILTERS, hosts=["a.example"]) != []
    Attempt.objects.filter(pk=attempt.pk).update(**dict.fromkeys(FINAL_FIELDS))

    assert trends.phases_by_host(team=team, filters=FILTERS, hosts=["a.example"]) == []


def columns(attempt: Attempt) -> dict[str, float | None]:
    row = Attempt.objects.filter(pk=attempt.pk).values(*FINAL_FIELDS).get()
    return {name: row[name] for name in FINAL_FIELDS}


def test_the_migration_fills_the_columns_of_attempts_stored_before_them(
    team: Team, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    migration = importlib.import_module("apps.runs.migrations.0012_fill_attempt_final_phases")
    monkeypatch.setattr(migration, "BATCH", 2)  # several batches
    attempts = [
        stored_run(team, owner, host, hops, minutes)
        for host, stored in STORED.items()
        for minutes, hops in enumerate(stored)
    ]
    Attempt.objects.update(**dict.fromkeys(FINAL_FIELDS))  # as stored before the columns
    done_before = attempts[0]
    Attempt.objects.filter(pk=done_before.pk).update(final_total_ms=1.0, final_wait_ms=1.0)

    migration.fill_final_phases(apps, SimpleNamespace(connection=connection))

    for attempt in attempts[1:]:
        assert columns(attempt) == final_phases(attempt.hops)
    assert columns(done_before)["final_total_ms"] == 1.0  # filled already: left alone
    assert sum(1 for a in attempts if columns(a)["final_total_ms"] is not None) == 12
