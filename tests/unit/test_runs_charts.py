"""Chart geometry, the trends' time window and percentiles: pure, no database."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db.models import Count
from django.db.utils import ConnectionHandler
from django.template.loader import render_to_string
from hypothesis import given
from hypothesis import strategies as st

from apps.runs import charts
from apps.runs.filters import LogFilters
from apps.runs.models import Run
from apps.runs.trends import (
    MAX_BUCKETS,
    DiagnosisCount,
    PercentileCont,
    Trends,
    percentile,
    trend_charts,
    trend_window,
    truncate,
)

NOW = datetime(2025, 3, 10, 14, 35, tzinfo=UTC)
ONE = [charts.Series("Runs", "bar-count")]
HOSTILE = '<script>alert("x")</script> & co'


@pytest.mark.parametrize(
    ("maximum", "integer", "top", "ticks"),
    [
        (0, True, 1, [0, 1]),
        (1, True, 1, [0, 1]),
        (3, True, 3, [0, 1, 2, 3]),
        (7, True, 8, [0, 2, 4, 6, 8]),
        (10, True, 10, [0, 5, 10]),
        (100, True, 100, [0, 25, 50, 75, 100]),
        (1234, False, 1500, [0, 500, 1000, 1500]),
        (0.3, False, 0.3, [0, 0.1, 0.2, 0.3]),
    ],
)
def test_it_picks_a_nice_scale(maximum: float, integer: bool, top: float, ticks: list) -> None:
    scale = charts.nice_scale(maximum, integer=integer)
    assert scale.maximum == pytest.approx(top)
    assert scale.ticks == pytest.approx(ticks)


@given(st.floats(min_value=1e-6, max_value=1e9, allow_nan=False), st.booleans())
def test_a_scale_always_holds_its_maximum_with_few_ticks(maximum: float, integer: bool) -> None:
    scale = charts.nice_scale(maximum, integer=integer)
    assert scale.maximum >= maximum * (1 - 1e-9)
    assert 2 <= len(scale.ticks) <= 6
    assert scale.ticks[0] == 0
    if integer:
        assert all(float(tick).is_integer() for tick in scale.ticks)


def test_it_scales_bars_to_the_plot() -> None:
    chart = charts.bar_chart(
        [charts.BarInput("a", (8,)), charts.BarInput("b", (4,)), charts.BarInput("c", (0,))],
        series=ONE,
    )
    span = chart.plot_right - chart.plot_left
    widths = [row.bars[0].width for row in chart.rows]
    assert widths == [pytest.approx(span), pytest.approx(span / 2), 0]
    assert all(row.bars[0].x == chart.plot_left for row in chart.rows)
    assert [tick.label for tick in chart.ticks] == ["0", "2", "4", "6", "8"]
    assert chart.ticks[0].position == chart.plot_left
    assert chart.ticks[-1].position == pytest.approx(chart.plot_right)
    ys = [row.bars[0].y for row in chart.rows]
    assert ys == sorted(ys) and len(set(ys)) == 3  # one row under the other
    assert chart.plot_bottom < chart.axis_y < chart.height
    assert chart.rows[1].bars[0].text == "4"
    assert chart.rows[1].bars[0].text_x > chart.rows[1].bars[0].x + chart.rows[1].bars[0].width


def test_it_draws_an_axis_for_zero_data() -> None:
    chart = charts.bar_chart([charts.BarInput("a", (0,)), charts.BarInput("b", (0,))], series=ONE)
    assert [bar.width for row in chart.rows for bar in row.bars] == [0, 0]
    assert [tick.label for tick in chart.ticks] == ["0", "1"]
    assert not chart.is_empty


def test_it_has_no_rows_without_items() -> None:
    chart = charts.bar_chart([], series=ONE)
    assert chart.is_empty
    assert chart.height > 0


def test_it_places_two_series_side_by_side_in_a_row() -> None:
    chart = charts.bar_chart(
        [charts.BarInput("host", (25.0, 47.0)), charts.BarInput("other", (70.0, 97.0))],
        series=[charts.Series("p50", "bar-p50"), charts.Series("p95", "bar-p95")],
        value_format=charts.format_ms,
        integer=False,
    )
    first, second = chart.rows
    p50, p95 = first.bars
    assert (p50.css_class, p95.css_class) == ("bar-p50", "bar-p95")
    assert p95.y >= p50.y + p50.height
    assert second.bars[0].y >= p95.y + p95.height
    assert p95.text == "47 ms"
    assert second.bars[1].width > p95.width > p50.width


def test_a_row_class_overrides_the_series_class() -> None:
    chart = charts.bar_chart([charts.BarInput("4xx", (3,), css_class="bar-4xx")], series=ONE)
    assert chart.rows[0].bars[0].css_class == "bar-4xx"


def test_it_shortens_long_labels_and_keeps_them_whole_for_the_tooltip() -> None:
    long = "Rate limit exceeded for this API key on the trades endpoint"
    row = charts.bar_chart([charts.BarInput(long, (1,))], series=ONE, label_width=120).rows[0]
    assert row.label == long
    assert row.short_label.endswith("…")
    assert len(row.short_label) * charts.CHAR_WIDTH <= 120
    assert row.label_x < 120


@pytest.mark.parametrize(
    ("text", "chars", "expected"),
    [
        ("short", 10, "short"),
        ("exactly10!", 10, "exactly10!"),
        ("a bit longer", 6, "a bit…"),
        ("x", 0, ""),
    ],
)
def test_it_fits_labels(text: str, chars: int, expected: str) -> None:
    assert charts.fit_label(text, chars) == expected


@pytest.mark.parametrize(
    ("rate", "text"), [(0, "0%"), (0.25, "25%"), (1 / 3, "33.3%"), (4 / 7, "57.1%"), (1, "100%")]
)
def test_it_formats_percentages(rate: float, text: str) -> None:
    assert charts.format_percent(rate) == text


def points(rates: list[float]) -> list[charts.TimePoint]:
    return [charts.TimePoint(f"t{i}", f"bucket {i}", rate) for i, rate in enumerate(rates)]


def test_a_rate_chart_without_buckets_is_empty() -> None:
    chart = charts.rate_chart([])
    assert chart.is_empty
    assert chart.line == ""
    assert chart.x_ticks == []
    assert [tick.label for tick in chart.y_ticks] == ["0%", "25%", "50%", "75%", "100%"]


def test_one_bucket_sits_in_the_middle() -> None:
    chart = charts.rate_chart(points([0.5]))
    (point,) = chart.points
    assert point.x == pytest.approx((chart.plot_left + chart.plot_right) / 2)
    assert point.y == pytest.approx((chart.plot_top + chart.plot_bottom) / 2)
    assert chart.line == f"{point.x},{point.y}"
    assert [tick.label for tick in chart.x_ticks] == ["t0"]
    assert chart.show_markers


def test_rates_map_from_the_bottom_to_the_top_and_are_clamped() -> None:
    chart = charts.rate_chart(points([0, 1, 1.5, -0.2]))
    ys = [point.y for point in chart.points]
    assert ys == [chart.plot_bottom, chart.plot_top, chart.plot_top, chart.plot_bottom]
    assert chart.y_ticks[0].position == chart.plot_bottom
    assert chart.y_ticks[-1].position == chart.plot_top
    assert chart.y_label_x < chart.plot_left


def test_many_buckets_get_few_time_labels_and_no_markers() -> None:
    chart = charts.rate_chart(points([i / 200 for i in range(200)]))
    xs = [point.x for point in chart.points]
    assert xs == sorted(xs) and len(set(xs)) == 200
    assert chart.plot_left < xs[0] and xs[-1] < chart.plot_right
    assert 2 <= len(chart.x_ticks) <= charts.MAX_TIME_TICKS
    assert chart.x_ticks[0].label == "t0"
    assert not chart.show_markers
    assert len(chart.line.split(" ")) == 200


def test_it_escapes_labels_in_the_bar_svg() -> None:
    chart = charts.bar_chart([charts.BarInput(HOSTILE, (2,))], series=ONE)
    svg = render_to_string(
        "runs/_trends_bars.html",
        {"chart": chart, "chart_id": "c", "title": "Top <diagnoses>", "desc": "d & e"},
    )
    assert "<script>" not in svg
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in svg
    assert "Top &lt;diagnoses&gt;" in svg
    assert 'aria-labelledby="c-title c-desc"' in svg
    assert " style=" not in svg


def test_it_escapes_titles_in_the_rate_svg_and_writes_plain_numbers() -> None:
    chart = charts.rate_chart([charts.TimePoint("<t>", HOSTILE, 0.5)])
    svg = render_to_string(
        "runs/_trends_rate.html", {"chart": chart, "chart_id": "r", "title": "t", "desc": "d"}
    )
    assert "<script>" not in svg and "<t>" not in svg
    assert "&lt;t&gt;" in svg
    assert f'points="{chart.line}"' in svg
    assert f'cx="{chart.points[0].x}"' in svg


# The time window.


def window(**filters: object):  # type: ignore[no-untyped-def]
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


@pytest.mark.parametrize(
    ("ms", "text"), [(0, "0 ms"), (2.5, "2.5 ms"), (47.0, "47 ms"), (1234.4, "1,234 ms")]
)
def test_it_formats_durations(ms: float, text: str) -> None:
    assert charts.format_ms(ms) == text
