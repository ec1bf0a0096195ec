"""The trends' hourly rollups: kept as results are stored, rebuilt from runs, and giving the
same figures as the live queries over the same runs."""

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection
from hypothesis import given
from hypothesis import strategies as st

from apps.accounts.models import Team
from apps.demo.synthetic import generate_runs
from apps.egress.types import Exchange, Response
from apps.runs import execution, rollups, trends
from apps.runs.filters import LogFilters
from apps.runs.models import Attempt, Run, RunDayRollup, RunHourRollup
from tests.support.factories import add_attempt, make_run, queued_attempt

NOW = datetime(2025, 3, 10, 14, 25, tzinfo=UTC)
HOSTS = ("a.example", "b.example", "c.example")
# (outcome, status, diagnosis code, title)
RESULTS = (
    (Run.Outcome.RESPONSE, 200, "kaiko.200", "Success"),
    (Run.Outcome.RESPONSE, 302, "http.302", "Redirect"),
    (Run.Outcome.RESPONSE, 401, "kaiko.401.no_key", "No API key"),
    (Run.Outcome.RESPONSE, 404, "kaiko.404", "Not found"),
    (Run.Outcome.RESPONSE, 503, "kaiko.503", "Maintenance"),
    (Run.Outcome.RESPONSE, 103, "http.103", "Early hints"),  # in no class
    (Run.Outcome.FAILURE, None, "network.dns", "DNS lookup failed"),
    (Run.Outcome.PENDING, None, "", ""),
)


def rollup_rows() -> list[tuple]:
    fields = ("team_id", "hour", *rollups.KEY_FIELDS[2:], "runs", "timed", *rollups.BUCKET_FIELDS)
    return sorted(RunHourRollup.objects.filter(runs__gt=0).values_list(*fields))


def write_runs(team: Team, user: User, count: int, seed: int) -> None:
    """Runs over the 9 days before NOW (the current hour too), every kind of result."""
    rng = random.Random(seed)
    for _ in range(count):
        outcome, status, code, title = rng.choice(RESULTS)
        run = make_run(
            team,
            user,
            host=rng.choice(HOSTS),
            method=rng.choice(("GET", "POST")),
            outcome=outcome,
            response_status=status,
            diagnosis_code=code,
            diagnosis_title=title,
            duration_ms=None if rng.random() < 0.1 else round(rng.lognormvariate(4, 1.2), 1),
        )
        ago = rng.uniform(0, 1500) if rng.random() < 0.1 else rng.uniform(0, 9 * 86400)
        when = NOW - timedelta(seconds=ago)
        Run.objects.filter(pk=run.pk).update(created_at=when)


FILTERS = [
    LogFilters(),
    LogFilters(since=NOW - timedelta(days=1, minutes=13)),  # per hour, ragged start
    LogFilters(since=NOW - timedelta(days=30)),
    LogFilters(status_class="4xx"),
    LogFilters(status_class="network", method="GET"),
    LogFilters(status=503, host="b.example"),
    LogFilters(diagnosis="kaiko.401"),
    LogFilters(since=NOW - timedelta(hours=30), until=NOW - timedelta(hours=3, minutes=20)),
    LogFilters(since=NOW - timedelta(minutes=20)),  # within the current hour: all live
]


@pytest.mark.django_db
@pytest.mark.parametrize("filters", FILTERS, ids=repr)
def test_the_rolled_up_trends_equal_the_live_ones(
    filters: LogFilters,
    team: Team,
    other_team: Team,
    owner: User,
    stranger: User,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    write_runs(team, owner, 400, seed=1)
    write_runs(other_team, stranger, 50, seed=2)
    rollups.rebuild_team(team=team)
    rollups.rebuild_team(team=other_team)
    window = trends.trend_window(filters=filters, now=NOW)
    within = replace(filters, since=window.since, until=window.until)

    rolled = trends.team_trends(team=team, filters=filters, now=NOW)

    assert rolled.classes == trends.status_class_counts(team=team, filters=within)
    assert rolled.diagnoses == trends.top_diagnoses(team=team, filters=within)
    assert rolled.buckets == trends.error_rate_buckets(team=team, filters=within, window=window)
    assert rolled.hosts == trends.durations_by_host(team=team, filters=within)
    assert rolled.total > 0

    # Past EXACT_DURATIONS_UP_TO the percentiles come from the buckets: within one's width.
    monkeypatch.setattr(trends, "EXACT_DURATIONS_UP_TO", 0)
    estimated = trends.team_trends(team=team, filters=filters, now=NOW)
    exact = trends.durations_by_host(team=team, filters=within)
    assert [(h.host, h.runs) for h in estimated.hosts] == [(h.host, h.runs) for h in exact]
    for guess, truth in zip(estimated.hosts, exact, strict=True):
        for mine, theirs in ((guess.p50, truth.p50), (guess.p95, truth.p95)):
            assert theirs / rollups.BUCKET_RATIO <= mine <= theirs * rollups.BUCKET_RATIO


@pytest.mark.django_db
def test_a_member_or_a_search_is_answered_from_the_runs(team: Team, owner: User) -> None:
    write_runs(team, owner, 60, seed=3)  # no rollups: only the runs can answer
    for filters in (LogFilters(member=owner.username), LogFilters(text="kaiko")):
        assert not rollups.answers(filters)
        window = trends.trend_window(filters=filters, now=NOW)
        within = replace(filters, since=window.since, until=window.until)
        found = trends.team_trends(team=team, filters=filters, now=NOW)
        counted = sum(bucket.runs for bucket in found.buckets)
        assert counted == trends._runs(team=team, filters=within).count() > 20


def exchange(status: int, ms: float) -> Exchange:
    return Exchange(
        method="GET",
        url="https://us.market-api.kaiko.io/v2/x",
        request_headers=[],
        response=Response(status=status, reason="", headers=[], body=b"{}", truncated=False),
        failure=None,
        elapsed_ms=ms,
    )


@pytest.mark.django_db
def test_storing_results_keeps_the_rollups_as_a_rebuild_makes_them(team: Team, owner: User) -> None:
    attempt = queued_attempt(team, owner)
    execution.store_result(attempt=attempt, exchange=exchange(401, 40.0), secret_values=[])
    second = queued_attempt(team, owner)
    execution.store_result(attempt=second, exchange=exchange(200, 12.0), secret_values=[])
    # The first run is sent again and now succeeds: it moves from its 401 to a 200.
    again = add_attempt(Run.objects.get(pk=attempt.run_id), status=Attempt.Status.QUEUED)
    execution.store_result(attempt=again, exchange=exchange(200, 30.0), secret_values=[])

    kept = rollup_rows()
    assert sum(row[8] for row in kept) == 2  # two runs, both 200 now
    assert {row[5] for row in kept} == {200}
    rollups.rebuild_team(team=team)
    assert rollup_rows() == kept


@pytest.mark.django_db
def test_generated_runs_are_counted_in_the_rollups(team: Team, owner: User) -> None:
    generate_runs(team=team, count=500, members=[owner], seed=5, now=NOW, batch_size=128)
    written = rollup_rows()
    assert sum(row[8] for row in written) == Run.objects.filter(team=team).count() == 500
    call_command("backfill_rollups", "--team", team.name, stdout=StringIO())
    assert rollup_rows() == written


@pytest.mark.django_db
def test_the_backfill_counts_runs_stored_before_the_rollups(team: Team, owner: User) -> None:
    write_runs(team, owner, 30, seed=6)
    assert not RunHourRollup.objects.exists()
    call_command("backfill_rollups", stdout=StringIO())
    finished = Run.objects.filter(team=team).exclude(outcome=Run.Outcome.PENDING).count()
    assert sum(row[8] for row in rollup_rows()) == finished > 0


@given(
    values=st.lists(st.floats(min_value=1.0, max_value=100_000.0), min_size=1, max_size=200),
    fraction=st.sampled_from([0.0, 0.5, 0.95, 1.0]),
)
def test_a_bucketed_percentile_is_within_one_bucket_of_the_exact_one(
    values: list[float], fraction: float
) -> None:
    counts = [0] * len(rollups.BUCKET_FIELDS)
    for value in values:
        counts[rollups.duration_bucket(value)] += 1
    exact = trends.percentile(values, fraction)
    estimate = rollups.histogram_percentile(counts, fraction)
    assert exact / rollups.BUCKET_RATIO <= estimate <= exact * rollups.BUCKET_RATIO


@pytest.mark.parametrize(
    ("since", "until", "rolled", "live"),
    [
        # whole hours before the current one rolled up, the ragged ends and now live
        ("09:10", "14:25", ("10:00", "14:00"), [("09:10", "10:00"), ("14:00", "14:25")]),
        ("09:00", "12:00", ("09:00", "12:00"), []),
        ("09:30", "10:15", None, [("09:30", "10:15")]),
        ("14:05", "14:25", None, [("14:05", "14:25")]),
    ],
)
def test_a_window_is_split_in_whole_past_hours_and_the_rest(
    since: str, until: str, rolled: tuple[str, str] | None, live: list[tuple[str, str]]
) -> None:
    def at(text: str) -> datetime:
        hour, minute = text.split(":")
        return NOW.replace(hour=int(hour), minute=int(minute))

    split = rollups.split_window(since=at(since), until=at(until), now=NOW)
    assert split.rolled == (tuple(map(at, rolled)) if rolled else None)
    assert split.live == [(at(a), at(b)) for a, b in live]


@pytest.mark.skipif(connection.vendor != "postgresql", reason="psycopg's statement cache")
def test_the_upsert_of_each_result_stays_within_what_psycopg_keeps_parsed() -> None:
    # Run for every stored result: past these sizes psycopg parses it again every time.
    from psycopg import _queries

    for model, moment in ((RunHourRollup, "hour"), (RunDayRollup, "day")):
        _, sql = rollups._upsert_statement(model, moment)
        assert len(sql.encode()) <= _queries.MAX_CACHED_STATEMENT_LENGTH
        assert sql.count("%s") <= _queries.MAX_CACHED_STATEMENT_PARAMS
