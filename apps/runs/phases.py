"""Where an attempt's time went and what to give the provider's support: pure functions
from an attempt's stored hops and headers to what the run and share pages show.

- `attempt_facts()`: the hops' timings, connection and TLS facts read back, the request ids
  found in the response, its `Server-Timing` metrics and the `traceparent` sent;
- `waterfall()`: the geometry of the waterfall (one row per hop, one bar per phase, the
  server's own metrics under the final hop's wait), drawn by `runs/_waterfall.html`;
- `final_phases()`: the final request's timings as the attempt's `final_*_ms` columns hold
  them, for the trends' percentiles;
- `phases_in_words()`: the final request's phases in a line, for each attempt of a timeline.
"""

import re
from dataclasses import dataclass, field
from typing import Any

from apps.diagnosis.timing import PHASE_NAMES, phase_summary
from apps.egress.types import PHASES, HopFacts
from apps.runs import charts

# Response headers that carry an id of the request on the provider's side, in the order
# they are shown. Names are matched without regard to case.
REQUEST_ID_HEADERS = (
    "X-Request-Id",
    "Request-Id",
    "X-Amzn-RequestId",
    "X-Amz-Request-Id",
    "X-Amz-Cf-Id",
    "X-Amzn-Trace-Id",
    "CF-Ray",
    "X-Correlation-Id",
    "Correlation-Id",
    "X-Trace-Id",
    "Trace-Id",
    "traceparent",
    "X-Cloud-Trace-Context",
    "X-B3-TraceId",
    "X-Datadog-Trace-Id",
    "X-Ms-Request-Id",
    "X-GitHub-Request-Id",
    "Fly-Request-Id",
    "X-Vercel-Id",
    "Apigw-Requestid",
    "X-Kaiko-Request-Id",
)
_REQUEST_ID_NAMES = {name.lower(): name for name in REQUEST_ID_HEADERS}
MAX_ID_CHARS = 200
MAX_SERVER_METRICS = 20

PHASE_LABELS = {
    "blocked": "Before connecting",
    "dns": "DNS lookup",
    "connect": "TCP connect",
    "tls": "TLS handshake",
    "send": "Request sent",
    "wait": "Waiting (first byte)",
    "receive": "Download",
}


# The colour of each phase's bars (SVG fill), shown in the legend too.
PHASE_FILLS = {
    "blocked": "#b8bec7",
    "dns": "#1f8a7d",
    "connect": "#d98b12",
    "tls": "#8a4fd8",
    "send": "#5aa9e6",
    "wait": "#2f5fcf",
    "receive": "#2e9e5b",
    "server": "#7a8599",
}


# The phases of an attempt's final request that also have a column of their own
# (`Attempt.final_<phase>_ms`), for the trends ("blocked" is the client's own bookkeeping).
FINAL_PHASES = ("dns", "connect", "tls", "send", "wait", "receive")
FINAL_FIELDS = ("final_total_ms", *(f"final_{name}_ms" for name in FINAL_PHASES))


def final_phases(hops: Any) -> dict[str, float | None]:
    """The values of FINAL_FIELDS for stored hops: the total and each phase of the final
    request as `HopFacts.from_dict` reads them (None: the phase did not happen); all None
    when the final request holds no timings (no hops, or not in this shape)."""
    final = HopFacts.from_dict(hops[-1]) if isinstance(hops, list) and hops else None
    if final is None:
        return dict.fromkeys(FINAL_FIELDS)
    timings = final.timings
    return {
        "final_total_ms": timings.total,
        **{f"final_{name}_ms": timings.phase(name) for name in FINAL_PHASES},
    }


def phases_in_words(hops: Any) -> str:
    """Where the final request's time went, as the diagnosis words it ("DNS lookup 3.0 ms,
    TCP connect 12 ms, ..."), and the phase it stopped in; "" when it holds no timings."""
    final = HopFacts.from_dict(hops[-1]) if isinstance(hops, list) and hops else None
    if final is None:
        return ""
    words = phase_summary(final.timings)
    failed_in = final.timings.failed_in
    if failed_in in PHASE_NAMES:
        words += f"{'; ' if words else ''}stopped in the phase: {PHASE_NAMES[failed_in]}"
    return words


@dataclass(frozen=True)
class RequestId:
    header: str  # as the response spelled it
    value: str


@dataclass(frozen=True)
class ServerMetric:
    """One metric of a `Server-Timing` header (W3C Server Timing)."""

    name: str
    duration_ms: float | None
    description: str = ""

    @property
    def label(self) -> str:
        return self.description or self.name


_TCHARS = r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"\s*({_TCHARS})\s*(?:=\s*({_TCHARS}|{_QUOTED}))?\s*")


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quoted, escaped = False, False
    for char in text:
        if escaped:
            escaped = False
        elif char == "\\" and quoted:
            escaped = True
        elif char == '"':
            quoted = not quoted
        elif char == separator and not quoted:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


def parse_server_timing(values: list[str]) -> list[ServerMetric]:
    """The metrics of `Server-Timing` header values; malformed entries are skipped."""
    metrics: list[ServerMetric] = []
    for value in values:
        for entry in _split_outside_quotes(value, ","):
            pieces = _split_outside_quotes(entry, ";")
            name = pieces[0].strip()
            if not re.fullmatch(_TCHARS, name):
                continue
            duration: float | None = None
            description = ""
            for piece in pieces[1:]:
                match = _PARAM.fullmatch(piece)
                if match is None:
                    continue
                key, raw = match.group(1).lower(), match.group(2) or ""
                if raw.startswith('"'):
                    raw = re.sub(r"\\(.)", r"\1", raw[1:-1])
                if key == "dur" and duration is None:
                    try:
                        number = float(raw)
                    except ValueError:
                        continue
                    if 0 <= number < 1e9:
                        duration = number
                elif key == "desc" and not description:
                    description = raw[:100]
            metrics.append(
                ServerMetric(name=name[:60], duration_ms=duration, description=description)
            )
            if len(metrics) >= MAX_SERVER_METRICS:
                return metrics
    return metrics


def request_ids(response_headers: list[Any]) -> list[RequestId]:
    """The request ids the response carries, in REQUEST_ID_HEADERS order."""
    found: dict[str, RequestId] = {}
    for pair in response_headers:
        if not isinstance(pair, list | tuple) or len(pair) != 2:
            continue
        name, value = str(pair[0]), str(pair[1]).strip()
        known = _REQUEST_ID_NAMES.get(name.strip().lower())
        if known and value and known not in found:
            found[known] = RequestId(header=name.strip(), value=value[:MAX_ID_CHARS])
    return [found[name] for name in REQUEST_ID_HEADERS if name in found]


def header_values(pairs: list[Any], name: str) -> list[str]:
    lowered = name.lower()
    return [
        str(pair[1])
        for pair in pairs
        if isinstance(pair, list | tuple) and len(pair) == 2 and str(pair[0]).lower() == lowered
    ]


# The waterfall --------------------------------------------------------------------------

WIDTH = 720
LABEL_WIDTH = 150
VALUE_WIDTH = 70
ROW_HEIGHT = 24
BAR_HEIGHT = 14
TOP = 24


@dataclass(frozen=True)
class Bar:
    phase: str  # a PHASES name, or "server"
    label: str
    ms: float
    x: float
    width: float

    @property
    def fill(self) -> str:
        return PHASE_FILLS[self.phase]

    @property
    def text(self) -> str:
        return f"{self.label} {charts.format_ms(self.ms)}"


@dataclass(frozen=True)
class Row:
    label: str
    y: float
    bar_y: float
    text_y: float
    bars: list[Bar]
    total_ms: float
    total_x: float

    @property
    def total_text(self) -> str:
        return charts.format_ms(self.total_ms)


@dataclass(frozen=True)
class Waterfall:
    width: int
    height: int
    plot_left: float
    plot_right: float
    axis_y: float
    rows: list[Row]
    ticks: list[charts.Tick]

    @property
    def label_x(self) -> float:
        return self.plot_left - 6


def _hop_label(index: int, count: int, hop: HopFacts) -> str:
    if count == 1:
        return "Request"
    if index == count - 1:
        return f"Final ({hop.status})" if hop.status else "Final request"
    return f"Hop {index + 1} ({hop.status})" if hop.status else f"Hop {index + 1}"


def waterfall(hops: list[HopFacts], server: list[ServerMetric]) -> Waterfall | None:
    """One row per hop on one time axis (each hop starting where the one before ended),
    then a row per server metric with a duration, drawn from the start of the final hop's
    wait. None without hops."""
    if not hops:
        return None
    timed = [metric for metric in server if metric.duration_ms is not None]
    ends: list[float] = []
    offset = 0.0
    wait_start = 0.0
    for hop in hops:
        start = offset
        for name in PHASES:
            if name == "wait":
                wait_start = start
            start += hop.timings.phase(name) or 0.0
        offset += hop.timings.total
        ends.append(offset)
    furthest = max([offset] + [wait_start + (m.duration_ms or 0.0) for m in timed])
    scale = charts.nice_scale(furthest)
    plot_left, plot_right = float(LABEL_WIDTH), float(WIDTH - VALUE_WIDTH)
    span = plot_right - plot_left

    def x_of(value: float) -> float:
        return round(plot_left + span * value / scale.maximum, 1)

    def width_of(value: float) -> float:
        return max(1.0, round(span * value / scale.maximum, 1))

    rows: list[Row] = []
    offset = 0.0
    for index, hop in enumerate(hops):
        y = TOP + index * ROW_HEIGHT
        bars = []
        start = offset
        for name in PHASES:
            value = hop.timings.phase(name)
            if value is None:
                continue
            if value > 0 or name == hop.timings.failed_in:
                bars.append(
                    Bar(
                        phase=name,
                        label=PHASE_LABELS[name],
                        ms=value,
                        x=x_of(start),
                        width=width_of(value),
                    )
                )
            start += value
        rows.append(
            Row(
                label=_hop_label(index, len(hops), hop),
                y=y,
                bar_y=y + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                text_y=y + ROW_HEIGHT / 2 + 4,
                bars=bars,
                total_ms=hop.timings.total,
                total_x=x_of(offset + hop.timings.total) + 4,
            )
        )
        offset += hop.timings.total
    for metric in timed:
        y = TOP + len(rows) * ROW_HEIGHT
        duration = metric.duration_ms or 0.0
        rows.append(
            Row(
                label=charts.fit_label(f"Server: {metric.label}", 21),
                y=y,
                bar_y=y + (ROW_HEIGHT - BAR_HEIGHT) / 2,
                text_y=y + ROW_HEIGHT / 2 + 4,
                bars=[
                    Bar(
                        phase="server",
                        label=f"Server: {metric.label}",
                        ms=duration,
                        x=x_of(wait_start),
                        width=width_of(duration),
                    )
                ],
                total_ms=duration,
                total_x=x_of(wait_start + duration) + 4,
            )
        )
    height = TOP + len(rows) * ROW_HEIGHT + 8
    ticks = [charts.Tick(position=x_of(t), label=charts.format_ms(t)) for t in scale.ticks]
    return Waterfall(
        width=WIDTH,
        height=height,
        plot_left=plot_left,
        plot_right=plot_right,
        axis_y=TOP - 8,
        rows=rows,
        ticks=ticks,
    )


# An attempt's facts ----------------------------------------------------------------------


@dataclass(frozen=True)
class AttemptFacts:
    hops: list[HopFacts]
    request_ids: list[RequestId] = field(default_factory=list)
    server_timing: list[ServerMetric] = field(default_factory=list)
    traceparent: str = ""  # the one sent, "" if none

    @property
    def final(self) -> HopFacts | None:
        return self.hops[-1] if self.hops else None

    @property
    def waterfall(self) -> Waterfall | None:
        return waterfall(self.hops, self.server_timing)

    @property
    def trace_id(self) -> str:
        parts = self.traceparent.split("-")
        return parts[1] if len(parts) == 4 else ""

    @property
    def phase_rows(self) -> list[dict[str, Any]]:
        """The numbers of the waterfall as a table: a row per phase, a column per hop."""
        rows = []
        for name in PHASES:
            values = [hop.timings.phase(name) for hop in self.hops]
            rows.append(
                {
                    "phase": name,
                    "label": PHASE_LABELS[name],
                    "fill": PHASE_FILLS[name],
                    "values": values,
                }
            )
        return rows

    def to_dict(self) -> dict[str, Any]:
        """Plain data, for the JSON API."""
        return {
            "hops": [hop.to_dict() for hop in self.hops],
            "request_ids": [{"header": r.header, "value": r.value} for r in self.request_ids],
            "server_timing": [
                {"name": m.name, "duration_ms": m.duration_ms, "description": m.description}
                for m in self.server_timing
            ],
            "traceparent": self.traceparent,
        }


def attempt_facts(
    *, hops: Any, response_headers: list[Any], sent_headers: list[Any]
) -> AttemptFacts:
    """The facts of an attempt from what is stored of it (all of it redacted already)."""
    read = [HopFacts.from_dict(hop) for hop in hops] if isinstance(hops, list) else []
    sent = header_values(sent_headers, "traceparent")
    return AttemptFacts(
        hops=[hop for hop in read if hop is not None],
        request_ids=request_ids(response_headers),
        server_timing=parse_server_timing(header_values(response_headers, "Server-Timing")),
        traceparent=sent[0] if sent else "",
    )
