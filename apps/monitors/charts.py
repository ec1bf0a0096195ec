"""The latency chart of a monitor: one column per check, stacked by phase. Pure geometry
(apps.runs.charts' scales); the template only places it."""

from dataclasses import dataclass

from apps.runs.charts import format_ms, nice_scale
from apps.runs.phases import PHASE_FILLS, PHASE_LABELS

WIDTH, HEIGHT = 640.0, 200.0
LEFT, RIGHT, TOP, BOTTOM = 56.0, 8.0, 8.0, 24.0
PHASES = ("dns", "connect", "tls", "send", "wait", "receive")


@dataclass(frozen=True)
class Segment:
    x: float
    y: float
    width: float
    height: float
    fill: str
    title: str


@dataclass(frozen=True)
class Gridline:
    y: float
    label: str


@dataclass(frozen=True)
class LatencyChart:
    width: float
    height: float
    plot_left: float
    plot_bottom: float
    segments: list[Segment]
    gridlines: list[Gridline]
    legend: list[tuple[str, str]]  # (label, fill)


def latency_chart(points: list[tuple[str, float | None, dict[str, float], bool]]) -> LatencyChart:
    """`points`: (label, total ms, phases ms, passed) per check, oldest first. A check with
    no phase timings is one bar of its total; a failed check's bar is marked."""
    totals = [total or 0.0 for _, total, _, _ in points]
    scale = nice_scale(max(totals, default=0.0) or 1.0)
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    slot = plot_w / max(len(points), 1)
    bar = max(1.0, slot * 0.7)
    segments: list[Segment] = []
    for index, (label, total, phases, passed) in enumerate(points):
        x = LEFT + index * slot + (slot - bar) / 2
        base = TOP + plot_h
        parts = [(name, phases[name]) for name in PHASES if phases.get(name)]
        if not parts and total:
            parts = [("total", total)]
        for name, value in parts:
            height = plot_h * value / scale.maximum
            base -= height
            fill = PHASE_FILLS.get(name, "#888") if passed else "#c0392b"
            shown = PHASE_LABELS.get(name, "total")
            segments.append(
                Segment(x, base, bar, height, fill, f"{label}: {shown} {format_ms(value)}")
            )
    gridlines = [
        Gridline(TOP + plot_h - plot_h * value / scale.maximum, format_ms(value))
        for value in scale.ticks
    ]
    legend = [(PHASE_LABELS[name], PHASE_FILLS[name]) for name in PHASES]
    legend.append(("failed check", "#c0392b"))
    return LatencyChart(WIDTH, HEIGHT, LEFT, TOP + plot_h, segments, gridlines, legend)
