"""Trends over the team log's filtered runs: counted by the database, drawn as SVG.

Every figure is an aggregate over `filtered_runs(...)` within one time window
(`trend_window`): the filters' own range, or the last DEFAULT_SPAN when they give none.
Only percentiles on a database without a percentile function read values into Python,
and then a bounded number per host.
"""

import math
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import Aggregate, Count, FloatField, Max, Q, QuerySet, Sum
from django.db.models.functions import TruncDay, TruncHour
from django.db.models.sql.compiler import SQLCompiler
from django.http import QueryDict

from apps.accounts.models import Team
from apps.runs import charts, rollups
from apps.runs.filters import RANGES, STATUS_CLASSES, LogFilters
from apps.runs.models import Attempt, Run
from apps.runs.phases import FINAL_FIELDS, FINAL_PHASES, PHASE_FILLS, PHASE_LABELS
from apps.runs.selectors import filtered_runs

DEFAULT_SPAN = timedelta(days=7)  # when the filters give no start
HOURLY_UP_TO = timedelta(days=2)  # longer windows are counted per day
MAX_BUCKETS = 200
TOP_DIAGNOSES = 10
TOP_HOSTS = 10
# Durations read per host when the database computes no percentiles (SQLite): the latest.
DURATION_SAMPLE = 5000
# Attempts whose phases are read per host (their `final_*_ms` columns): the latest.
PHASE_SAMPLE = 1000
# Up to this many timed runs in the window, the rolled-up trends read the exact duration
# percentiles from the runs (cheap at that size); above, they estimate them from buckets.
EXACT_DURATIONS_UP_TO = 20_000
# The phases whose percentiles are shown: those with a column of their own in the attempt.
TREND_PHASES = FINAL_PHASES

Unit = Literal["hour", "day"]
_STEP: dict[Unit, timedelta] = {"hour": timedelta(hours=1), "day": timedelta(days=1)}
_TRUNC = {"hour": TruncHour, "day": TruncDay}

_RESPONSE = Q(outcome=Run.Outcome.RESPONSE)
CLASS_CONDITIONS: dict[str, Q] = {
    "2xx": _RESPONSE & Q(response_status__gte=200, response_status__lte=299),
    "3xx": _RESPONSE & Q(response_status__gte=300, response_status__lte=399),
    "4xx": _RESPONSE & Q(response_status__gte=400, response_status__lte=499),
    "5xx": _RESPONSE & Q(response_status__gte=500, response_status__lte=599),
    "network": Q(outcome=Run.Outcome.FAILURE),
    "pending": Q(outcome=Run.Outcome.PENDING),
}
CLASS_LABELS = {**STATUS_CLASSES, "pending": "Pending (no result yet)"}
CLASS_SHORT_LABELS = {"network": "No response", "pending": "Pending"}
FINISHED = ~Q(outcome=Run.Outcome.PENDING)
ERRORS = CLASS_CONDITIONS["4xx"] | CLASS_CONDITIONS["5xx"] | CLASS_CONDITIONS["network"]


@dataclass(frozen=True)
class TrendWindow:
    """The time the trends cover: [since, until), counted per hour or per day (UTC)."""

    since: datetime
    until: datetime
    unit: Unit
    start_given: bool  # False: the filters gave no start, DEFAULT_SPAN was used
    end_given: bool  # False: up to now
    shortened: bool  # the filters' range held more than MAX_BUCKETS days: the latest kept

    @property
    def description(self) -> str:
        """The window in words, for the page."""
        since, until = _stamp(self.since), _stamp(self.until)
        if not self.start_given and not self.end_given:
            words = f"No time range chosen: the last {_days(DEFAULT_SPAN)}"
        elif not self.start_given:
            words = f"No start chosen: the {_days(DEFAULT_SPAN)} before {until}"
        elif not self.end_given:
            words = f"From {since} to now"
        else:
            words = f"From {since} to {until}"
        return f"{words}, per {self.unit} (UTC)."

    def buckets(self) -> list[datetime]:
        """The start of every bucket from the one holding `since` to the one before `until`."""
        step = _STEP[self.unit]
        start = truncate(self.since, self.unit)
        starts: list[datetime] = []
        while start < self.until and len(starts) < MAX_BUCKETS:
            starts.append(start)
            start += step
        return starts


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _days(span: timedelta) -> str:
    return f"{span.days} days" if span.days != 1 else "day"


def truncate(moment: datetime, unit: Unit) -> datetime:
    moment = moment.astimezone(UTC)
    if unit == "day":
        return moment.replace(hour=0, minute=0, second=0, microsecond=0)
    return moment.replace(minute=0, second=0, microsecond=0)


def trend_window(*, filters: LogFilters, now: datetime) -> TrendWindow:
    """The filters' time range, the last DEFAULT_SPAN without one, at most MAX_BUCKETS
    buckets long (a longer range keeps its latest days)."""
    until = filters.until or now
    since = filters.since or until - DEFAULT_SPAN
    longest = _STEP["day"] * (MAX_BUCKETS - 1)
    shortened = until - since > longest
    if shortened:
        since = until - longest
    unit: Unit = "hour" if until - since <= HOURLY_UP_TO else "day"
    return TrendWindow(
        since=since,
        until=until,
        unit=unit,
        start_given=filters.since is not None,
        end_given=filters.until is not None,
        shortened=shortened,
    )


def _runs(*, team: Team, filters: LogFilters) -> QuerySet[Run]:
    """The filtered runs without their ordering, which would otherwise join each GROUP BY."""
    return filtered_runs(team=team, filters=filters).order_by()


# Counts by status class.


@dataclass(frozen=True)
class ClassCount:
    key: str  # a key of CLASS_LABELS
    label: str
    short_label: str
    count: int


def status_class_counts(*, team: Team, filters: LogFilters) -> list[ClassCount]:
    """How many runs fall in each status class, pending runs included, in one query."""
    counts = _runs(team=team, filters=filters).aggregate(
        **{
            f"class_{key}": Count("id", filter=condition)
            for key, condition in CLASS_CONDITIONS.items()
        }
    )
    return [
        ClassCount(
            key=key,
            label=CLASS_LABELS[key],
            short_label=CLASS_SHORT_LABELS.get(key, key),
            count=counts[f"class_{key}"],
        )
        for key in CLASS_CONDITIONS
    ]


# Top diagnoses.


@dataclass(frozen=True)
class DiagnosisCount:
    code: str
    title: str
    count: int


def top_diagnoses(
    *, team: Team, filters: LogFilters, limit: int = TOP_DIAGNOSES
) -> list[DiagnosisCount]:
    """The most frequent diagnoses of runs with a result, most frequent first."""
    rows = (
        _runs(team=team, filters=filters)
        .filter(FINISHED)
        .exclude(diagnosis_code="")
        .values("diagnosis_code")
        .annotate(count=Count("id"), title=Max("diagnosis_title"))
        .order_by("-count", "diagnosis_code")[:limit]
    )
    return [
        DiagnosisCount(code=row["diagnosis_code"], title=row["title"], count=row["count"])
        for row in rows
    ]


# Error rate over time.


@dataclass(frozen=True)
class Bucket:
    start: datetime
    runs: int
    finished: int  # runs with a result
    errors: int  # 4xx, 5xx or no response

    @property
    def rate(self) -> float:
        """The share of runs with a result that ended in an error; 0 with none."""
        return self.errors / self.finished if self.finished else 0.0

    @property
    def rate_text(self) -> str:
        return charts.format_percent(self.rate)


def error_rate_buckets(*, team: Team, filters: LogFilters, window: TrendWindow) -> list[Bucket]:
    """Runs, results and errors per bucket of the window; buckets without runs count zero.

    The filters' time range is replaced by the window's.
    """
    within = replace(filters, since=window.since, until=window.until)
    rows = (
        _runs(team=team, filters=within)
        .annotate(bucket=_TRUNC[window.unit]("created_at", tzinfo=UTC))
        .values("bucket")
        .annotate(
            runs=Count("id"),
            finished=Count("id", filter=FINISHED),
            errors=Count("id", filter=ERRORS),
        )
        .order_by("bucket")
    )
    found = {row["bucket"].astimezone(UTC): row for row in rows}
    buckets = []
    for start in window.buckets():
        row = found.get(start, {"runs": 0, "finished": 0, "errors": 0})
        buckets.append(
            Bucket(start=start, runs=row["runs"], finished=row["finished"], errors=row["errors"])
        )
    return buckets


# Duration percentiles by host.


class PercentileCont(Aggregate):
    """PostgreSQL's continuous percentile: the value at `fraction` of the ordered values,
    interpolated linearly between the two nearest (as `percentile` below)."""

    function = "PERCENTILE_CONT"
    name = "PercentileCont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    arity = 1
    output_field = FloatField()

    def __init__(self, expression: str, fraction: float, **extra: Any) -> None:
        if not 0.0 <= fraction <= 1.0:
            raise ValueError(f"a percentile is a fraction from 0 to 1, not {fraction!r}")
        self.fraction = float(fraction)
        super().__init__(expression, **extra)

    def as_sql(
        self,
        compiler: SQLCompiler,
        connection: BaseDatabaseWrapper,
        function: str | None = None,
        template: str | None = None,
        arg_joiner: str | None = None,
        **extra_context: Any,
    ) -> tuple[str, tuple[Any, ...]]:
        sql, params = super().as_sql(
            compiler,
            connection,
            function=function,
            template=template,
            arg_joiner=arg_joiner,
            fraction="%s",
            **extra_context,
        )
        return sql, (self.fraction, *params)


def percentile(values: list[float], fraction: float) -> float:
    """The value at `fraction` of the sorted values, interpolated linearly between the two
    nearest, as PostgreSQL's percentile_cont. `values` must not be empty."""
    ordered = sorted(values)
    position = fraction * (len(ordered) - 1)
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


@dataclass(frozen=True)
class HostDurations:
    host: str
    runs: int  # runs with a duration
    p50: float  # ms
    p95: float  # ms
    measured: int  # durations the percentiles come from: `runs`, or the latest DURATION_SAMPLE
    estimated: bool = False  # the percentiles come from duration buckets (rollups)

    @property
    def sampled(self) -> bool:
        return self.measured < self.runs


def durations_by_host(
    *, team: Team, filters: LogFilters, limit: int = TOP_HOSTS
) -> list[HostDurations]:
    """p50 and p95 of the duration for the hosts with the most timed runs, busiest first.

    PostgreSQL computes the percentiles (percentile_cont); other databases get them from
    at most DURATION_SAMPLE of the latest durations of each host.
    """
    timed = _runs(team=team, filters=filters).exclude(duration_ms=None)
    top = list(timed.values("host").annotate(runs=Count("id")).order_by("-runs", "host")[:limit])
    if not top:
        return []
    hosts = [row["host"] for row in top]
    if connections[timed.db].vendor == "postgresql":
        found = _percentiles_in_database(timed, hosts)
    else:
        found = _percentiles_in_python(timed, hosts)
    return [HostDurations(host=row["host"], runs=row["runs"], **found[row["host"]]) for row in top]


def _percentiles_in_database(timed: QuerySet[Run], hosts: list[str]) -> dict[str, dict]:
    rows = (
        timed.filter(host__in=hosts)
        .values("host")
        .annotate(
            measured=Count("id"),
            p50=PercentileCont("duration_ms", 0.5),
            p95=PercentileCont("duration_ms", 0.95),
        )
    )
    return {
        row["host"]: {"p50": row["p50"], "p95": row["p95"], "measured": row["measured"]}
        for row in rows
    }


def _percentiles_in_python(timed: QuerySet[Run], hosts: list[str]) -> dict[str, dict]:
    found = {}
    for host in hosts:
        latest = timed.filter(host=host).order_by("-created_at", "-id")
        # `timed` has no run without a duration: the check is for the type checker.
        sample = latest.values_list("duration_ms", flat=True)[:DURATION_SAMPLE]
        durations = [ms for ms in sample if ms is not None]
        found[host] = {
            "p50": percentile(durations, 0.5),
            "p95": percentile(durations, 0.95),
            "measured": len(durations),
        }
    return found


# Phase percentiles by host.


@dataclass(frozen=True)
class PhaseStat:
    phase: str
    label: str
    p50: float | None  # ms; None when no measured request went through this phase
    p95: float | None
    measured: int  # requests that went through it


@dataclass(frozen=True)
class HostPhases:
    host: str
    measured: int  # attempts with measured phases the figures come from
    phases: list[PhaseStat]

    def stat(self, phase: str) -> PhaseStat:
        return next(each for each in self.phases if each.phase == phase)


def phase_stats(finals: list[tuple[float | None, ...]]) -> list[PhaseStat]:
    """p50 and p95 of each phase over the requests where it happened (a reused connection
    has no DNS, connect or TLS: it is not counted as zero for them). `finals`: values of
    FINAL_FIELDS (total, then each of TREND_PHASES) of measured final requests."""
    stats = []
    for index, name in enumerate(TREND_PHASES, start=1):
        values = [v for row in finals if (v := row[index]) is not None]
        stats.append(
            PhaseStat(
                phase=name,
                label=PHASE_LABELS[name],
                p50=percentile(values, 0.5) if values else None,
                p95=percentile(values, 0.95) if values else None,
                measured=len(values),
            )
        )
    return stats


def phases_by_host(*, team: Team, filters: LogFilters, hosts: list[str]) -> list[HostPhases]:
    """Per host (in the order given), the percentiles of each phase of the final request
    of the latest PHASE_SAMPLE finished attempts of its latest PHASE_SAMPLE runs, over those
    with measured phases. They are read from the attempts' `final_*_ms` columns (the final
    request's timings, kept with its hops): PostgreSQL computes them in one statement;
    other databases get them from the columns read into Python."""
    runs = _runs(team=team, filters=filters)
    samples = {}
    for host in hosts:
        # The latest runs of the host first (an index range scan), then their attempts: a
        # bounded read however many runs the window holds.
        latest_runs = runs.filter(host=host).order_by("-created_at", "-id").values("id")
        samples[host] = (
            Attempt.objects.filter(run__in=latest_runs[:PHASE_SAMPLE], status=Attempt.Status.DONE)
            .order_by("-finished_at", "-id")
            .values_list(*FINAL_FIELDS)[:PHASE_SAMPLE]
        )
    if connections[runs.db].vendor == "postgresql":
        measured = _phases_in_database(samples)
    else:
        measured = {host: _phases_in_python(stored) for host, stored in samples.items()}
    found = []
    for host in hosts:
        figures = measured.get(host)
        if figures is not None:
            found.append(HostPhases(host=host, measured=figures[0], phases=figures[1]))
    return found


Measured = tuple[int, list[PhaseStat]] | None  # attempts measured, their phases; None: none


def _phases_in_python(stored: QuerySet[Attempt, tuple[Any, ...]]) -> Measured:
    finals = [row for row in stored if row[0] is not None]  # final_total_ms: measured
    return (len(finals), phase_stats(finals)) if finals else None


def _phase_columns(name: str) -> str:
    column = f"final_{name}_ms"
    return ", ".join(
        [
            f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {column})",
            f"percentile_cont(0.95) WITHIN GROUP (ORDER BY {column})",
            f"count({column})",
        ]
    )


def _phases_in_database(
    samples: dict[str, QuerySet[Attempt, tuple[Any, ...]]],
) -> dict[str, Measured]:
    """`_phases_in_python`'s figures for each host's attempts, computed by PostgreSQL in one
    statement (the values never leave the database)."""
    if not samples:
        return {}
    parts, params = [], []
    names = ", ".join(FINAL_FIELDS)
    for index, (host, stored) in enumerate(samples.items()):
        inner, inner_params = stored.query.sql_with_params()
        parts.append(f"SELECT %s AS host, s{index}.* FROM ({inner}) AS s{index} ({names})")  # noqa: S608
        params += [host, *inner_params]
    columns = ", ".join(_phase_columns(name) for name in TREND_PHASES)
    # Only compiled querysets and constant names (FINAL_FIELDS) are in the statement. A
    # phase is NULL whenever the total is (`phases.final_phases`): counted only if measured.
    sql = (
        f"SELECT host, count(final_total_ms), {columns} "  # noqa: S608
        f"FROM ({' UNION ALL '.join(parts)}) AS stored GROUP BY host"
    )
    stored_db = next(iter(samples.values())).db
    with connections[stored_db].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    found: dict[str, Measured] = {}
    for host, measured, *figures in rows:
        if not measured:
            continue
        stats = []
        for index, name in enumerate(TREND_PHASES):
            p50, p95, count = figures[3 * index : 3 * index + 3]
            stats.append(
                PhaseStat(phase=name, label=PHASE_LABELS[name], p50=p50, p95=p95, measured=count)
            )
        found[host] = (measured, stats)
    return found


# Everything the page shows.


@dataclass(frozen=True)
class Trends:
    window: TrendWindow
    classes: list[ClassCount]
    diagnoses: list[DiagnosisCount]
    buckets: list[Bucket]
    hosts: list[HostDurations]
    phases: list[HostPhases] = field(default_factory=list)

    @property
    def total(self) -> int:
        return sum(each.count for each in self.classes)

    @property
    def errors(self) -> int:
        return sum(bucket.errors for bucket in self.buckets)

    @property
    def finished(self) -> int:
        return sum(bucket.finished for bucket in self.buckets)

    @property
    def rate_text(self) -> str:
        return charts.format_percent(self.errors / self.finished if self.finished else 0.0)

    @property
    def any_sampled(self) -> bool:
        return any(host.sampled for host in self.hosts)

    @property
    def any_estimated(self) -> bool:
        return any(host.estimated for host in self.hosts)


def team_trends(*, team: Team, filters: LogFilters, now: datetime) -> Trends:
    """All the trends of the team's runs that match the filters, within `trend_window`.

    The whole hours before the current one come from the hourly rollups when they can
    answer the filters (`rollups.answers`); the rest, and every figure for a member or a
    free-text search, from the runs themselves.
    """
    window = trend_window(filters=filters, now=now)
    within = replace(filters, since=window.since, until=window.until)
    if rollups.answers(within):
        return rolled_up_trends(team=team, filters=within, window=window, now=now)
    hosts = durations_by_host(team=team, filters=within)
    return Trends(
        window=window,
        classes=status_class_counts(team=team, filters=within),
        diagnoses=top_diagnoses(team=team, filters=within),
        buckets=error_rate_buckets(team=team, filters=within, window=window),
        hosts=hosts,
        phases=phases_by_host(team=team, filters=within, hosts=[each.host for each in hosts]),
    )


# The same figures from the hourly rollups (whole hours before the current one) and the
# runs themselves (the partial hours, the current hour, and runs without a result yet).


def class_of(outcome: str, status: int | None) -> str | None:
    """The key of CLASS_CONDITIONS a run with this outcome and status falls in, if any."""
    if outcome == Run.Outcome.PENDING:
        return "pending"
    if outcome == Run.Outcome.FAILURE:
        return "network"
    if outcome == Run.Outcome.RESPONSE and status is not None and 200 <= status <= 599:
        return f"{status // 100}xx"
    return None


_LIVE_FIELDS = (
    "created_at", "host", "outcome", "response_status", "diagnosis_code", "diagnosis_title",
    "duration_ms",
)  # fmt: skip
_ERROR_CLASSES = frozenset({"4xx", "5xx", "network"})


@dataclass
class _Tallies:
    """The figures being added up from rollup rows and runs."""

    classes: Counter[str] = field(default_factory=Counter)
    diagnoses: Counter[str] = field(default_factory=Counter)
    titles: dict[str, str] = field(default_factory=dict)
    buckets: dict[datetime, list[int]] = field(default_factory=dict)  # runs, finished, errors
    timed: Counter[str] = field(default_factory=Counter)  # per host
    histograms: dict[str, list[int]] = field(default_factory=dict)  # per host, from rollups
    durations: dict[str, list[float]] = field(default_factory=dict)  # per host, from runs

    def bucket(self, start: datetime) -> list[int]:
        return self.buckets.setdefault(start.astimezone(UTC), [0, 0, 0])

    def diagnosis(self, code: str, title: str, count: int) -> None:
        self.diagnoses[code] += count
        self.titles[code] = max(self.titles.get(code, ""), title)

    def add_run(self, row: tuple[Any, ...], unit: Unit) -> None:
        created_at, host, outcome, status, code, title, duration = row
        key = class_of(outcome, status)
        if key is not None:
            self.classes[key] += 1
        counts = self.bucket(truncate(created_at, unit))
        counts[0] += 1
        if outcome != Run.Outcome.PENDING:
            counts[1] += 1
            counts[2] += key in _ERROR_CLASSES
            if code:
                self.diagnosis(code, title, 1)
        if duration is not None:
            self.timed[host] += 1
            self.durations.setdefault(host, []).append(duration)

    def add_rollups(self, rows: QuerySet, unit: Unit, *, moment: str) -> None:
        """Add rollup rows (their time in the field `moment`): three queries."""
        class_sums = {
            f"class_{key}": Sum("runs", filter=condition)
            for key, condition in CLASS_CONDITIONS.items()
            if key != "pending"
        }
        by_bucket = (
            rows.annotate(bucket=_TRUNC[unit](moment, tzinfo=UTC))
            .values("bucket")
            .annotate(
                all_runs=Sum("runs"),
                finished_runs=Sum("runs", filter=FINISHED),
                error_runs=Sum("runs", filter=ERRORS),
                **class_sums,
            )
        )
        for bucket_row in by_bucket:
            counts = self.bucket(bucket_row["bucket"])
            counts[0] += bucket_row["all_runs"]
            counts[1] += bucket_row["finished_runs"] or 0
            counts[2] += bucket_row["error_runs"] or 0
            for name in class_sums:
                self.classes[name.removeprefix("class_")] += bucket_row[name] or 0
        by_code = (
            rows.exclude(diagnosis_code="")
            .values("diagnosis_code")
            .annotate(count=Sum("runs"), title=Max("diagnosis_title"))
        )
        for row in by_code:
            self.diagnosis(row["diagnosis_code"], row["title"], row["count"])
        sums = {f"sum_{name}": Sum(name) for name in rollups.BUCKET_FIELDS}
        by_host = (
            rows.filter(timed__gt=0)
            .values("host")
            .annotate(timed_runs=Sum("timed"), **sums)
            .values_list("host", "timed_runs", *sums)
        )
        for host, timed_runs, *histogram in by_host:
            self.timed[host] += timed_runs
            known = self.histograms.get(host)
            self.histograms[host] = (
                histogram
                if known is None
                else [a + b for a, b in zip(known, histogram, strict=True)]
            )

    def host_durations(self, host: str) -> HostDurations:
        runs = self.timed[host]
        exact = self.durations.get(host, [])
        histogram = self.histograms.get(host)
        if histogram is None:
            p50, p95 = percentile(exact, 0.5), percentile(exact, 0.95)
        else:
            histogram = list(histogram)
            for ms in exact:
                histogram[rollups.duration_bucket(ms)] += 1
            p50 = rollups.histogram_percentile(histogram, 0.5)
            p95 = rollups.histogram_percentile(histogram, 0.95)
        return HostDurations(
            host=host, runs=runs, p50=p50, p95=p95, measured=runs, estimated=histogram is not None
        )


def rolled_up_trends(
    *, team: Team, filters: LogFilters, window: TrendWindow, now: datetime
) -> Trends:
    """`team_trends` from the rollups: the counts are exact. The duration percentiles are
    exact up to EXACT_DURATIONS_UP_TO timed runs (read from the runs); above, those of a host
    with runs in the rolled-up hours are estimated from its duration buckets (within one
    bucket's width, rollups.BUCKET_RATIO). `rollups.answers(filters)` must hold."""
    split = rollups.split_window(
        since=window.since, until=window.until, now=now, days=window.unit == "day"
    )
    tallies = _Tallies()
    for since, until in split.live:
        live = _runs(team=team, filters=replace(filters, since=since, until=until))
        for row in live.values_list(*_LIVE_FIELDS):
            tallies.add_run(row, window.unit)
    if split.rolled is not None:
        first, end = split.rolled
        in_rolled = replace(filters, since=first, until=end)
        pending = _runs(team=team, filters=in_rolled).filter(outcome=Run.Outcome.PENDING)
        for row in pending.values_list(*_LIVE_FIELDS):
            tallies.add_run(row, window.unit)
        if split.hours:
            hourly = rollups.rollup_rows(team=team, filters=filters, ranges=split.hours)
            tallies.add_rollups(hourly, window.unit, moment="hour")
        if split.days is not None:
            daily = rollups.rollup_rows(team=team, filters=filters, ranges=[split.days], daily=True)
            tallies.add_rollups(daily, window.unit, moment="day")
    classes = [
        ClassCount(
            key=key,
            label=CLASS_LABELS[key],
            short_label=CLASS_SHORT_LABELS.get(key, key),
            count=tallies.classes[key],
        )
        for key in CLASS_CONDITIONS
    ]
    frequent = sorted(tallies.diagnoses.items(), key=lambda pair: (-pair[1], pair[0]))
    diagnoses = [
        DiagnosisCount(code=code, title=tallies.titles[code], count=count)
        for code, count in frequent[:TOP_DIAGNOSES]
        if count > 0
    ]
    buckets = []
    for start in window.buckets():
        runs, finished, errors = tallies.buckets.get(start, (0, 0, 0))
        buckets.append(Bucket(start=start, runs=runs, finished=finished, errors=errors))
    if sum(tallies.timed.values()) <= EXACT_DURATIONS_UP_TO:
        hosts = durations_by_host(team=team, filters=filters)
    else:
        busiest = sorted(
            (pair for pair in tallies.timed.items() if pair[1] > 0),
            key=lambda pair: (-pair[1], pair[0]),
        )
        hosts = [tallies.host_durations(host) for host, _ in busiest[:TOP_HOSTS]]
    return Trends(
        window=window,
        classes=classes,
        diagnoses=diagnoses,
        buckets=buckets,
        hosts=hosts,
        phases=phases_by_host(team=team, filters=filters, hosts=[each.host for each in hosts]),
    )


@dataclass(frozen=True)
class TrendCharts:
    classes: charts.BarChart
    diagnoses: charts.BarChart
    error_rate: charts.RateChart
    durations: charts.BarChart
    phases: charts.BarChart  # p95 of each phase, a row per host

    @property
    def phase_legend(self) -> list[tuple[str, str, str]]:
        """(phase, label, colour) of each bar of a host in `phases`."""
        return [(name, PHASE_LABELS[name], PHASE_FILLS[name]) for name in TREND_PHASES]


def bucket_label(start: datetime, unit: Unit) -> str:
    return start.strftime("%Y-%m-%d %H:%M" if unit == "hour" else "%Y-%m-%d")


def _bucket_tick(start: datetime, unit: Unit) -> str:
    return start.strftime("%m-%d %H:%M" if unit == "hour" else "%Y-%m-%d")


def _diagnosis_label(diagnosis: DiagnosisCount, titles: Counter[str]) -> str:
    """The title, with the code when another diagnosis shown has the same title."""
    if not diagnosis.title:
        return diagnosis.code
    return (
        f"{diagnosis.title} ({diagnosis.code})" if titles[diagnosis.title] > 1 else diagnosis.title
    )


def trend_charts(trends: Trends) -> TrendCharts:
    """The SVG geometry of each chart."""
    unit = trends.window.unit
    count = [charts.Series("Runs", "bar-count")]
    titles = Counter(each.title for each in trends.diagnoses)
    return TrendCharts(
        classes=charts.bar_chart(
            [
                charts.BarInput(each.short_label, (each.count,), css_class=f"bar-{each.key}")
                for each in trends.classes
            ],
            series=count,
            label_width=110,
        ),
        diagnoses=charts.bar_chart(
            [
                charts.BarInput(_diagnosis_label(each, titles), (each.count,))
                for each in trends.diagnoses
            ],
            series=count,
            label_width=260,
        ),
        error_rate=charts.rate_chart(
            [
                charts.TimePoint(
                    tick_label=_bucket_tick(bucket.start, unit),
                    title=(
                        f"{bucket_label(bucket.start, unit)} UTC: {bucket.errors} of "
                        f"{bucket.finished} runs with a result failed "
                        f"({charts.format_percent(bucket.rate)})"
                    ),
                    rate=bucket.rate,
                )
                for bucket in trends.buckets
            ]
        ),
        durations=charts.bar_chart(
            [
                charts.BarInput(each.host or "(no host)", (each.p50, each.p95))
                for each in trends.hosts
            ],
            series=[charts.Series("p50", "bar-p50"), charts.Series("p95", "bar-p95")],
            value_format=charts.format_ms,
            integer=False,
            label_width=200,
        ),
        phases=charts.bar_chart(
            [
                charts.BarInput(
                    each.host or "(no host)",
                    tuple(each.stat(name).p95 or 0.0 for name in TREND_PHASES),
                )
                for each in trends.phases
            ],
            series=[
                charts.Series(PHASE_LABELS[name], f"bar-phase-{name}") for name in TREND_PHASES
            ],
            value_format=charts.format_ms,
            integer=False,
            label_width=200,
            bar_height=12,
        ),
    )


def filter_summary(filters: LogFilters) -> list[tuple[str, str]]:
    """The filters other than time, as (name, value) pairs to show."""
    parts = [
        ("Result", STATUS_CLASSES.get(filters.status_class, "")),
        ("Status", str(filters.status) if filters.status is not None else ""),
        ("Diagnosis", filters.diagnosis),
        ("Method", filters.method),
        ("Host", filters.host),
        ("Member", filters.member),
        ("Search", filters.text),
    ]
    return [(name, value) for name, value in parts if value]


def range_links(query: QueryDict) -> list[tuple[str, QueryDict, bool]]:
    """The same filters over each preset time range: (label, query, whether it is this one)."""
    links = []
    for key, (label, _span) in RANGES.items():
        changed = query.copy()
        for name in ("since", "until"):
            changed.pop(name, None)
        changed["range"] = key
        links.append((label, changed, query.get("range") == key))
    return links
