"""SVG chart geometry: pure functions from numbers to positions, sizes and labels.

Templates only place what these functions computed (no arithmetic in templates), and
escape every label as any other text. Coordinates are in the SVG's own units: the
charts are drawn in a `viewBox` and scale with the page.
"""

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

FONT_SIZE = 12
CHAR_WIDTH = 7.0  # a generous average width of one character at FONT_SIZE
# Nice steps between axis ticks, times a power of ten.
_STEPS = (1.0, 2.0, 2.5, 5.0, 10.0)


@dataclass(frozen=True)
class Tick:
    position: float  # x on a horizontal axis, y on a vertical one
    label: str


@dataclass(frozen=True)
class Scale:
    maximum: float  # the value drawn at the far end of the axis
    ticks: list[float]  # from 0 to maximum, evenly spaced


def nice_step(raw: float, *, integer: bool = False) -> float:
    """The smallest step of 1, 2, 2.5 or 5 times a power of ten that is at least `raw`."""
    if raw <= 0 or not math.isfinite(raw) or (integer and raw <= 1):
        return 1.0
    magnitude = 10.0 ** math.floor(math.log10(raw))
    for factor in _STEPS:
        step = factor * magnitude
        if integer and not step.is_integer():
            continue
        if step >= raw * (1 - 1e-9):
            return step
    return 10.0 * magnitude


def nice_scale(maximum: float, *, ticks: int = 4, integer: bool = False) -> Scale:
    """An axis from 0 that holds `maximum`, with about `ticks` nice intervals.

    Zero (or no data) still gives a drawable axis from 0 to 1.
    """
    if maximum <= 0 or not math.isfinite(maximum):
        return Scale(maximum=1.0, ticks=[0.0, 1.0])
    step = nice_step(maximum / ticks, integer=integer)
    intervals = max(1, math.ceil(maximum / step - 1e-9))
    return Scale(maximum=step * intervals, ticks=[step * i for i in range(intervals + 1)])


def fit_label(text: str, max_chars: int) -> str:
    """The label cut to `max_chars` characters, an ellipsis marking the cut."""
    if max_chars < 1:
        return ""
    return text if len(text) <= max_chars else text[: max_chars - 1].rstrip() + "…"


def format_number(value: float) -> str:
    """Counts and axis values: no decimals for whole numbers, else one."""
    if float(value).is_integer():
        return f"{int(value):,}"
    return f"{value:,.1f}"


def format_ms(value: float) -> str:
    return f"{value:,.0f} ms" if value >= 10 or float(value).is_integer() else f"{value:,.1f} ms"


def format_percent(rate: float) -> str:
    """A rate in [0, 1] as a percentage: "25%", "12.5%"."""
    percent = rate * 100
    if percent.is_integer():
        return f"{int(percent)}%"
    return f"{percent:.1f}%"


# Horizontal bars: one row per item, one bar per series in each row.


@dataclass(frozen=True)
class Series:
    name: str
    css_class: str


@dataclass(frozen=True)
class BarInput:
    label: str
    values: tuple[float, ...]  # one per series
    css_class: str = ""  # overrides the series' class (e.g. a colour per status class)


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    value: float
    text: str  # the value as written next to the bar
    text_x: float
    text_y: float
    css_class: str
    series: str


@dataclass(frozen=True)
class BarRow:
    label: str  # in full, for the row's tooltip
    short_label: str  # as drawn
    label_x: float
    label_y: float
    bars: list[Bar]


@dataclass(frozen=True)
class BarChart:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    axis_y: float  # where the tick labels sit
    rows: list[BarRow]
    ticks: list[Tick]
    series: list[Series]

    @property
    def is_empty(self) -> bool:
        return not self.rows


def bar_chart(
    items: Sequence[BarInput],
    *,
    series: Sequence[Series],
    value_format: Callable[[float], str] = format_number,
    integer: bool = True,
    width: float = 640,
    label_width: float = 200,
    value_width: float = 80,
    bar_height: float = 16,
    row_gap: float = 10,
) -> BarChart:
    """Horizontal bars from a common zero, labels on the left, values after each bar."""
    top = 8.0
    left = label_width
    right = width - value_width
    row_height = bar_height * len(series) + row_gap
    bottom = top + row_height * len(items)
    highest = max((value for item in items for value in item.values), default=0.0)
    scale = nice_scale(highest, integer=integer)
    span = right - left
    rows = []
    max_chars = int((label_width - 12) // CHAR_WIDTH)
    for index, item in enumerate(items):
        row_top = top + index * row_height + row_gap / 2
        bars = []
        for number, (value, each) in enumerate(zip(item.values, series, strict=True)):
            bar_width = span * max(value, 0.0) / scale.maximum
            y = row_top + number * bar_height
            bars.append(
                Bar(
                    x=left,
                    y=y,
                    width=round(bar_width, 2),
                    height=bar_height - 2,
                    value=value,
                    text=value_format(value),
                    text_x=round(left + bar_width + 4, 2),
                    text_y=y + bar_height / 2 + FONT_SIZE / 3,
                    css_class=item.css_class or each.css_class,
                    series=each.name,
                )
            )
        rows.append(
            BarRow(
                label=item.label,
                short_label=fit_label(item.label, max_chars),
                label_x=left - 8,
                label_y=row_top + (row_height - row_gap) / 2 + FONT_SIZE / 3,
                bars=bars,
            )
        )
    ticks = [
        Tick(position=round(left + span * tick / scale.maximum, 2), label=value_format(tick))
        for tick in scale.ticks
    ]
    return BarChart(
        width=width,
        height=bottom + 24,
        plot_left=left,
        plot_right=right,
        plot_top=top,
        plot_bottom=bottom,
        axis_y=bottom + 16,
        rows=rows,
        ticks=ticks,
        series=list(series),
    )


# A rate over time: one point per time bucket, on a fixed 0-100% axis.


@dataclass(frozen=True)
class TimePoint:
    tick_label: str  # short, for the time axis
    title: str  # in full, for the point's tooltip
    rate: float  # in [0, 1]


@dataclass(frozen=True)
class PlottedPoint:
    x: float
    y: float
    title: str
    rate: float


@dataclass(frozen=True)
class RateChart:
    width: float
    height: float
    plot_left: float
    plot_right: float
    plot_top: float
    plot_bottom: float
    axis_y: float  # where the time labels sit
    y_label_x: float  # where the percentages end, left of the plot
    points: list[PlottedPoint]
    line: str  # the points of a <polyline>
    x_ticks: list[Tick]
    y_ticks: list[Tick]
    show_markers: bool  # a dot per point, unless they are too many to tell apart

    @property
    def is_empty(self) -> bool:
        return not self.points


MAX_TIME_TICKS = 6
MAX_MARKERS = 60


def rate_chart(
    points: Sequence[TimePoint],
    *,
    width: float = 640,
    height: float = 220,
    left: float = 48,
    right: float = 16,
    top: float = 10,
    bottom: float = 28,
) -> RateChart:
    """Points evenly spaced in time, each at the middle of its bucket; y from 0% to 100%."""
    plot_left, plot_right = left, width - right
    plot_top, plot_bottom = top, height - bottom
    slot = (plot_right - plot_left) / len(points) if points else 0.0
    plotted = []
    for index, point in enumerate(points):
        rate = min(max(point.rate, 0.0), 1.0)
        plotted.append(
            PlottedPoint(
                x=round(plot_left + slot * (index + 0.5), 2),
                y=round(plot_bottom - (plot_bottom - plot_top) * rate, 2),
                title=point.title,
                rate=rate,
            )
        )
    every = max(1, math.ceil(len(points) / MAX_TIME_TICKS))
    x_ticks = [
        Tick(position=plotted[index].x, label=points[index].tick_label)
        for index in range(0, len(points), every)
    ]
    y_ticks = [
        Tick(position=round(plot_bottom - (plot_bottom - plot_top) * share, 2), label=label)
        for share, label in ((0.0, "0%"), (0.25, "25%"), (0.5, "50%"), (0.75, "75%"), (1.0, "100%"))
    ]
    return RateChart(
        width=width,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        plot_top=plot_top,
        plot_bottom=plot_bottom,
        axis_y=plot_bottom + 18,
        y_label_x=plot_left - 6,
        points=plotted,
        line=" ".join(f"{point.x},{point.y}" for point in plotted),
        x_ticks=x_ticks,
        y_ticks=y_ticks,
        show_markers=len(plotted) <= MAX_MARKERS,
    )
