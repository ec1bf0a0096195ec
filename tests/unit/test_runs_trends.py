"""The trends' time window, percentiles and chart labels: pure, no database."""

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.db.models import Count
from django.db.utils import ConnectionHandler
from hypothesis import given
from hypothesis import strategies as st

from apps.runs.filters import LogFilters
from apps.runs.models import Run
from apps.runs.trends import (
    MAX_BUCKETS,
    DiagnosisCount,
    PercentileCont,
    Trends,
    TrendWindow,
    percentile,
    trend_charts,
    trend_window,
    truncate,
)

NOW = datetime(2025, 3, 10, 14, 35, tzinfo=UTC)


# The time window.


def window(**filters: Any) -> TrendWindow:
    return trend_window(filters=LogFilters(**filters), now=NOW)


def test_without_a_time_range_it_covers_the_last_seven_days_per_day() -> None:
    found = window()
    assert (found.since, found.until, found.unit) == (NOW - timedelta(days=7), NOW, "day")
    assert not found.start_given and not found.shortened
    buckets = found.buckets()
    assert buckets[0] == datetime(2025, 3, 3, tzinfo=UTC)
    assert buckets[-1] == datetime(2025, 3, 10, tzinfo=UTC)
    assert len(buckets) == 8
    assert found.description == "No time range chosen: the last 7 days, per day (UTC)."


def test_two_days_or_less_are_counted_per_hour() -> None:
    found = window(since=NOW - timedelta(days=2))
    assert found.unit == "hour"
    buckets = found.buckets()
    assert buckets[0] == datetime(2025, 3, 8, 14, tzinfo=UTC)
    assert buckets[-1] == datetime(2025, 3, 10, 14, tzinfo=UTC)
    assert len(buckets) == 49
    assert found.description == "From 2025-03-08 14:35 UTC to now, per hour (UTC)."
    assert window(since=NOW - timedelta(days=2, seconds=1)).unit == "day"


def test_only_an_end_takes_seven_days_before_it() -> None:
    end = datetime(2025, 1, 31, tzinfo=UTC)
    found = window(until=end)
    assert (found.since, found.until) == (end - timedelta(days=7), end)
    assert found.description.startswith("No start chosen: the 7 days before 2025-01-31 00:00 UTC")


def test_a_long_range_is_shortened_to_at_most_max_buckets() -> None:
    since = datetime(1990, 1, 1, 13, tzinfo=UTC)
    found = window(since=since, until=NOW)
    assert found.shortened
    assert found.until == NOW
    assert len(found.buckets()) <= MAX_BUCKETS
    assert found.buckets()[-1] == datetime(2025, 3, 10, tzinfo=UTC)


def test_a_window_in_the_future_has_no_buckets_before_its_end() -> None:
    found = window(since=NOW + timedelta(hours=1))
    assert found.buckets() == []


def test_it_truncates_in_utc() -> None:
    moment = datetime(2025, 3, 10, 23, 59, 59, tzinfo=UTC)
    assert truncate(moment, "hour") == datetime(2025, 3, 10, 23, tzinfo=UTC)
    assert truncate(moment, "day") == datetime(2025, 3, 10, tzinfo=UTC)


# Percentiles.


@pytest.mark.parametrize(
    ("values", "fraction", "expected"),
    [
        ([5.0], 0.5, 5.0),
        ([5.0], 0.95, 5.0),
        ([10.0, 20.0, 30.0, 50.0], 0.5, 25.0),
        ([10.0, 20.0, 30.0, 50.0], 0.95, 47.0),
        ([100.0, 40.0], 0.5, 70.0),
        ([100.0, 40.0], 0.95, 97.0),
        ([1.0, 2.0, 3.0], 0.0, 1.0),
        ([1.0, 2.0, 3.0], 1.0, 3.0),
    ],
)
def test_percentile_interpolates_as_percentile_cont(
    values: list[float], fraction: float, expected: float
) -> None:
    assert percentile(values, fraction) == pytest.approx(expected)


@given(
    st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50),
    st.floats(min_value=0, max_value=1),
)
def test_a_percentile_lies_between_the_smallest_and_largest(values: list, fraction: float) -> None:
    assert min(values) - 1e-6 <= percentile(values, fraction) <= max(values) + 1e-6


def test_the_percentile_aggregate_is_written_for_postgresql() -> None:
    postgresql = ConnectionHandler(
        {"default": {"ENGINE": "django.db.backends.postgresql", "NAME": "unused"}}
    )["default"]
    runs = Run.objects.values("host").annotate(
        runs=Count("id"), p95=PercentileCont("duration_ms", 0.95)
    )
    sql, params = runs.query.get_compiler(connection=postgresql).as_sql()
    assert 'PERCENTILE_CONT(%s) WITHIN GROUP (ORDER BY "runs_run"."duration_ms") AS "p95"' in sql
    assert params == (0.95,)
    with pytest.raises(ValueError):
        PercentileCont("duration_ms", 95)


def test_diagnoses_with_the_same_title_are_told_apart_by_their_code() -> None:
    found = Trends(
        window=window(),
        classes=[],
        diagnoses=[
            DiagnosisCount("kaiko.200", "Success", 9),
            DiagnosisCount("http.200", "Success", 3),
            DiagnosisCount("kaiko.401", "Unauthorized", 2),
            DiagnosisCount("x.untitled", "", 1),
        ],
        buckets=[],
        hosts=[],
    )
    labels = [row.label for row in trend_charts(found).diagnoses.rows]
    assert labels == ["Success (kaiko.200)", "Success (http.200)", "Unauthorized", "x.untitled"]
