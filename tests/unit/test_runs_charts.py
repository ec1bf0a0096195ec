"""Chart geometry and the charts' SVG: pure, no database."""

import pytest
from django.template.loader import render_to_string
from hypothesis import given
from hypothesis import strategies as st

from apps.runs import charts

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


@pytest.mark.parametrize(
    ("ms", "text"), [(0, "0 ms"), (2.5, "2.5 ms"), (47.0, "47 ms"), (1234.4, "1,234 ms")]
)
def test_it_formats_durations(ms: float, text: str) -> None:
    assert charts.format_ms(ms) == text
