"""apps/monitors/charts.py: the latency chart of a monitor, one column per check stacked by
phase, inside the plot, on the shared scale."""

import itertools

import pytest

from apps.monitors.charts import HEIGHT, LEFT, PHASES, RIGHT, TOP, WIDTH, latency_chart
from apps.runs.phases import PHASE_FILLS


def test_each_check_is_a_column_of_its_phases_stacked_from_the_bottom() -> None:
    chart = latency_chart(
        [
            ("10:00", 300.0, {"dns": 10.0, "connect": 40.0, "wait": 250.0}, True),
            ("10:01", 150.0, {}, True),  # no phase timings: one bar of its total
            ("10:02", 80.0, {"wait": 80.0}, False),
        ]
    )
    first = [s for s in chart.segments if s.title.startswith("10:00")]
    assert [s.fill for s in first] == [PHASE_FILLS[n] for n in ("dns", "connect", "wait")]
    assert first[0].y + first[0].height == pytest.approx(chart.plot_bottom)
    for below, above in itertools.pairwise(first):
        assert above.y + above.height == pytest.approx(below.y)  # stacked, no gap
    # Heights in proportion to the milliseconds: wait is 25 times dns.
    assert first[2].height == pytest.approx(first[0].height * 25)
    (total,) = [s for s in chart.segments if s.title.startswith("10:01")]
    assert "150" in total.title
    (failed,) = [s for s in chart.segments if s.title.startswith("10:02")]
    assert failed.fill == "#c0392b"  # a failed check is marked
    xs = [first[0].x, total.x, failed.x]
    assert xs == sorted(xs) and xs[0] >= LEFT and xs[-1] + failed.width <= WIDTH - RIGHT


def test_every_bar_and_gridline_stays_inside_the_plot() -> None:
    chart = latency_chart([(f"c{i}", 1000.0 + i, {"wait": 1000.0 + i}, True) for i in range(50)])
    assert len(chart.segments) == 50
    for segment in chart.segments:
        assert segment.y >= TOP - 1e-6 and segment.y + segment.height <= HEIGHT
        assert segment.width >= 1.0
    assert chart.gridlines and all(TOP - 1e-6 <= g.y <= chart.plot_bottom for g in chart.gridlines)
    assert [label for label, _ in chart.legend][-1] == "failed check"
    assert len(chart.legend) == len(PHASES) + 1


def test_no_checks_or_no_timings_draw_nothing_without_failing() -> None:
    assert latency_chart([]).segments == []
    assert latency_chart([("10:00", None, {}, False)]).segments == []
