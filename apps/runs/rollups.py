"""Hourly and daily rollups of finished runs (RunHourRollup, RunDayRollup), so the trends of
long windows read a few rows per hour, or per day, instead of every run.

A run counts in the rollup of the hour and of the day it was created in (UTC), under its
host, method, outcome, status and diagnosis, once it has a result. `record_result` keeps the
rollups up to date as a run's result is stored (a retried run moves from its old result to
its new one); `rebuild_team` computes a team's rollups again from its runs (the backfill);
`add_rows` adds runs written in bulk. Pending runs are never in a rollup: the trends count
them live.
"""

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import cast

from django.db import connection, transaction
from django.db.models import Field, Model, Q, QuerySet

from apps.accounts.models import Team
from apps.runs.filters import LogFilters
from apps.runs.models import DURATION_BUCKETS, RollupRow, Run, RunDayRollup, RunHourRollup
from apps.runs.statements import prepared_cursor

HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
BUCKET_RATIO = 2**0.25  # the width of a duration bucket: each is this many times the last
BUCKET_FIELDS = tuple(f"d{index:02d}" for index in range(DURATION_BUCKETS))
KEY_FIELDS = ("team", "hour", *RollupRow.KEY)
# The columns of a run, in this order, that `add_rows` reads.
RUN_FIELDS = (
    "team_id", "created_at", "host", "method", "outcome", "response_status", "diagnosis_code",
    "diagnosis_title", "duration_ms",
)  # fmt: skip
WRITE_BATCH = 2000

# (team id, hour, host, method, outcome, status (0: none), diagnosis code, diagnosis title)
Key = tuple[object, datetime, str, str, str, int, str, str]


def duration_bucket(ms: float) -> int:
    """The bucket a duration is counted in (see models.DURATION_BUCKETS)."""
    if ms < 1.0:
        return 0
    return min(DURATION_BUCKETS - 1, 1 + math.floor(4 * math.log2(ms)))


def bucket_bounds(index: int) -> tuple[float, float]:
    """[low, high) in ms of a bucket; the last one's high is where it starts holding all."""
    if index == 0:
        return 0.0, 1.0
    return 2 ** ((index - 1) / 4), 2 ** (index / 4)


def histogram_percentile(counts: list[int], fraction: float) -> float:
    """The value at `fraction` of the counted durations, as percentile_cont would give it
    from the durations themselves, estimated within the buckets (geometrically): the result
    is within one bucket's ratio of the exact one. `counts` must not all be zero."""
    total = sum(counts)
    position = fraction * (total - 1)
    lower = math.floor(position)
    upper = min(lower + 1, total - 1)
    low_value = _value_at_rank(counts, lower)
    high_value = low_value if upper == lower else _value_at_rank(counts, upper)
    return low_value + (high_value - low_value) * (position - lower)


def _value_at_rank(counts: list[int], rank: int) -> float:
    seen = 0
    for index, count in enumerate(counts):
        if rank < seen + count:
            low, high = bucket_bounds(index)
            if index == len(counts) - 1:
                return low
            share = (rank - seen + 0.5) / count
            return low + (high - low) * share if index == 0 else low * (high / low) ** share
        seen += count
    raise ValueError("rank past the counted durations")


@dataclass
class Tally:
    """What a rollup row adds up."""

    runs: int = 0
    timed: int = 0
    duration_sum: float = 0.0
    buckets: list[int] = field(default_factory=lambda: [0] * DURATION_BUCKETS)

    def add(self, duration_ms: float | None, sign: int = 1) -> None:
        self.runs += sign
        if duration_ms is not None:
            self.timed += sign
            self.duration_sum += sign * duration_ms
            self.buckets[duration_bucket(duration_ms)] += sign

    @property
    def is_zero(self) -> bool:
        return not self.runs and not self.timed and not any(self.buckets)


def hour_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def day_of(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@dataclass(frozen=True)
class Counted:
    """How a run with a result is counted: its rollup row and its duration."""

    key: Key
    duration_ms: float | None


def counted(run: Run) -> Counted | None:
    """How the run counts in the rollups as it is now; None while it has no result."""
    if run.outcome == Run.Outcome.PENDING:
        return None
    return Counted(
        key=(
            run.team_id,
            hour_of(run.created_at),
            run.host,
            run.method,
            run.outcome,
            run.response_status or 0,
            run.diagnosis_code,
            run.diagnosis_title,
        ),
        duration_ms=run.duration_ms,
    )


def record_result(*, before: Counted | None, run: Run) -> None:
    """Count the run's stored result in its hour's rollup, and no longer its previous one
    (`before`, from `counted(run)` before the result was stored). Call it in the transaction
    that saves the run."""
    deltas: dict[Key, Tally] = {}
    if before is not None:
        deltas.setdefault(before.key, Tally()).add(before.duration_ms, -1)
    after = counted(run)
    if after is not None:
        deltas.setdefault(after.key, Tally()).add(after.duration_ms)
    _apply(deltas)


def add_rows(rows: Iterable[tuple[object, ...]]) -> int:
    """Count runs given as RUN_FIELDS tuples (e.g. written in bulk) in the rollups; the
    number of rollup rows written. Runs without a result are skipped."""
    deltas: dict[Key, Tally] = {}
    for team_id, created_at, host, method, outcome, status, code, title, duration in rows:
        if outcome == Run.Outcome.PENDING:
            continue
        assert isinstance(created_at, datetime)
        key: Key = (
            team_id, hour_of(created_at), str(host), str(method), str(outcome),
            int(status or 0), str(code), str(title),  # type: ignore[call-overload]
        )  # fmt: skip
        deltas.setdefault(key, Tally()).add(None if duration is None else float(duration))  # type: ignore[arg-type]
    _apply(deltas)
    return len(deltas)


def rebuild_team(*, team: Team) -> int:
    """Compute the team's rollups again from its runs; the number of hourly rollup rows.
    PostgreSQL adds the runs up itself (`_rebuild_in_database`); other databases read them."""
    with transaction.atomic():
        RunHourRollup.objects.filter(team=team).delete()
        RunDayRollup.objects.filter(team=team).delete()
        if connection.vendor == "postgresql":
            return _rebuild_in_database(team)
        rows = (
            Run.objects.for_team(team)
            .exclude(outcome=Run.Outcome.PENDING)
            .order_by()
            .values_list(*RUN_FIELDS)
            .iterator(chunk_size=WRITE_BATCH * 5)
        )
        return add_rows(rows)


def bucket_floors() -> list[float]:
    """The smallest duration of each bucket from 1 on, as `duration_bucket` draws them:
    `duration_bucket(ms)` is the number of these that are <= ms (the floating-point
    boundaries found exactly, so SQL's width_bucket counts as this module does)."""
    floors = []
    for index in range(1, DURATION_BUCKETS):
        low, high = 0.5, bucket_bounds(index)[0] * 2
        while math.nextafter(low, high) < high:  # the smallest ms whose bucket is >= index
            middle = (low + high) / 2
            if middle in (low, high):
                break
            if duration_bucket(middle) >= index:
                high = middle
            else:
                low = middle
        floors.append(high)
    return floors


def _rebuild_in_database(team: Team) -> int:
    """The team's finished runs added up per hour by one INSERT ... SELECT, then the hourly
    rows per day by another: no run leaves the database."""
    quote = connection.ops.quote_name
    hourly, daily = RunHourRollup._meta.db_table, RunDayRollup._meta.db_table
    keys = ", ".join(quote(name) for name in _KEY_COLUMNS)
    sums = ", ".join(quote(name) for name in ("runs", "timed", "duration_sum", *BUCKET_FIELDS))
    counts = ", ".join(
        f"count(*) FILTER (WHERE bucket = {index})" for index in range(DURATION_BUCKETS)
    )
    # Only names from the models' metadata, quoted, and numbers are put in the statements.
    by_hour = (
        f"INSERT INTO {quote(hourly)} (team_id, hour, {keys}, {sums}) "  # noqa: S608
        "SELECT team_id, date_trunc('hour', created_at, 'UTC'), host, method, outcome, "
        "coalesce(response_status, 0), diagnosis_code, diagnosis_title, count(*), "
        f"count(duration_ms), coalesce(sum(duration_ms), 0), {counts} "
        "FROM (SELECT *, width_bucket(duration_ms, %s::float8[]) AS bucket "
        f"FROM {quote(Run._meta.db_table)} WHERE team_id = %s AND outcome <> '') AS finished "
        f"GROUP BY 1, 2, {', '.join(str(n) for n in range(3, 3 + len(_KEY_COLUMNS)))}"
    )
    by_day = (
        f"INSERT INTO {quote(daily)} (team_id, day, {keys}, {sums}) "  # noqa: S608
        f"SELECT team_id, date_trunc('day', hour, 'UTC'), {keys}, "
        + ", ".join(f"sum({quote(name)})" for name in ("runs", "timed", "duration_sum"))
        + ", "
        + ", ".join(f"sum({quote(name)})" for name in BUCKET_FIELDS)
        + f" FROM {quote(hourly)} WHERE team_id = %s "
        f"GROUP BY 1, 2, {', '.join(str(n) for n in range(3, 3 + len(_KEY_COLUMNS)))}"
    )
    with connection.cursor() as cursor:
        cursor.execute(by_hour, [bucket_floors(), team.pk])
        written = cursor.rowcount
        cursor.execute(by_day, [team.pk])
    return written


_KEY_COLUMNS = RollupRow.KEY  # host ... diagnosis_title: the same columns in both tables


def _by_day(deltas: dict[Key, Tally]) -> dict[Key, Tally]:
    """The hourly tallies added up per day."""
    days: dict[Key, Tally] = {}
    for key, tally in deltas.items():
        day_key: Key = (key[0], day_of(key[1]), *key[2:])
        total = days.setdefault(day_key, Tally())
        total.runs += tally.runs
        total.timed += tally.timed
        total.duration_sum += tally.duration_sum
        total.buckets = [a + b for a, b in zip(total.buckets, tally.buckets, strict=True)]
    return days


def _apply(deltas: dict[Key, Tally]) -> None:
    """Add each hourly tally to its rollup row and to its day's, creating them: one upsert
    statement per table and batch (the hourly rows first, in both tables in key order:
    two transactions that touch the same rows lock them in the same order)."""
    _upsert(RunHourRollup, "hour", deltas)
    _upsert(RunDayRollup, "day", _by_day(deltas))


def _upsert(model: type[Model], moment: str, deltas: dict[Key, Tally]) -> None:
    changed = sorted(
        ((key, tally) for key, tally in deltas.items() if not tally.is_zero),
        key=lambda pair: tuple(str(part) for part in pair[0]),
    )
    if not changed:
        return
    key_fields, sql = _upsert_statement(model, moment)
    arrays = connection.vendor == "postgresql"
    params = []
    for key, tally in changed:
        prepared = [
            each.get_db_prep_save(value, connection)
            for each, value in zip(key_fields, key, strict=True)
        ]
        buckets = [list(tally.buckets)] if arrays else tally.buckets
        params.append((*prepared, tally.runs, tally.timed, tally.duration_sum, *buckets))
    if len(params) == 1:  # a stored result: one row, no pipeline around it
        with prepared_cursor() as cursor:
            cursor.execute(sql, params[0])
        return
    with connection.cursor() as cursor:
        for start in range(0, len(params), WRITE_BATCH):
            cursor.executemany(sql, params[start : start + WRITE_BATCH])


_UPSERTS: dict[tuple[str, type[Model], str], tuple[list[Field], str]] = {}


def _upsert_statement(model: type[Model], moment: str) -> tuple[list[Field], str]:
    """The key fields and the upsert of one row of `model`, composed once per database
    vendor. It runs for every stored result, so on PostgreSQL it is kept within what psycopg
    keeps parsed (at most 4 KB and 50 parameters): the duration buckets come as one array,
    and the table is aliased."""
    cache_key = (connection.vendor, model, moment)
    if cache_key not in _UPSERTS:
        meta = model._meta
        quote = connection.ops.quote_name
        names = (KEY_FIELDS[0], moment, *KEY_FIELDS[2:])
        key_fields = [cast(Field, meta.get_field(name)) for name in names]
        key_columns = [quote(str(each.column)) for each in key_fields]
        sums = [quote(name) for name in ("runs", "timed", "duration_sum", *BUCKET_FIELDS)]
        scalars = ", ".join(["%s"] * (len(key_columns) + 3))
        if connection.vendor == "postgresql":
            elements = ", ".join(f"b[{index + 1}]" for index in range(len(BUCKET_FIELDS)))
            values = f"SELECT {scalars}, {elements} FROM (SELECT %s::integer[] AS b) AS given"  # noqa: S608
        else:
            values = f"VALUES ({scalars}, {', '.join(['%s'] * len(BUCKET_FIELDS))})"
        # Only names from the model's own metadata, quoted, are put in the statement.
        sql = (
            f"INSERT INTO {quote(meta.db_table)} AS t ({', '.join(key_columns + sums)}) "
            f"{values} ON CONFLICT ({', '.join(key_columns)}) DO UPDATE SET "
            + ", ".join(f"{column} = t.{column} + excluded.{column}" for column in sums)
        )
        _UPSERTS[cache_key] = (key_fields, sql)
    return _UPSERTS[cache_key]


# Reading.


def answers(filters: LogFilters) -> bool:
    """Whether the rollups can answer for these filters: not for a member (runs are not
    counted per member) nor a free-text search (in URLs and titles)."""
    return not filters.member and not filters.text


_CLASS_RANGES = {"2xx": (200, 299), "3xx": (300, 399), "4xx": (400, 499), "5xx": (500, 599)}


def rollup_rows(
    *,
    team: Team,
    filters: LogFilters,
    ranges: list[tuple[datetime, datetime]] | None = None,
    daily: bool = False,
) -> QuerySet:
    """The team's rollup rows (RunDayRollup's when `daily`, else RunHourRollup's) that match
    the filters, as `selectors.filtered_runs` matches runs; `answers(filters)` must hold.
    Their time is that of `ranges` ([start, end) pairs on whole hours, or days) when given,
    else the filters' range (on whole hours)."""
    model: type[Model] = RunDayRollup if daily else RunHourRollup
    moment = "day" if daily else "hour"
    rows = model._default_manager.filter(team=team, runs__gt=0)
    if filters.status_class == "network":
        rows = rows.filter(outcome=Run.Outcome.FAILURE)
    elif filters.status_class in _CLASS_RANGES:
        low, high = _CLASS_RANGES[filters.status_class]
        rows = rows.filter(response_status__gte=low, response_status__lte=high)
    if filters.status is not None:
        rows = rows.filter(response_status=filters.status)
    if filters.diagnosis:
        rows = rows.filter(
            Q(diagnosis_code=filters.diagnosis)
            | Q(diagnosis_code__startswith=f"{filters.diagnosis}.")
        )
    if filters.method:
        rows = rows.filter(method=filters.method)
    if filters.host:
        rows = rows.filter(host=filters.host)
    if ranges is not None:
        within = Q(pk__in=[])
        for first, end in ranges:
            within |= Q(**{f"{moment}__gte": first, f"{moment}__lt": end})
        rows = rows.filter(within)
    else:
        if filters.since is not None:
            rows = rows.filter(**{f"{moment}__gte": filters.since})
        if filters.until is not None:
            rows = rows.filter(**{f"{moment}__lt": filters.until})
    return rows.order_by()


@dataclass(frozen=True)
class Split:
    """A time window cut in whole hours read from the rollups and the rest read live."""

    rolled: tuple[datetime, datetime] | None  # [first hour, end) from the rollups
    live: list[tuple[datetime, datetime]]  # [since, until) ranges read from the runs
    # With `days`: the whole days of `rolled`, read from the daily rollups, and the hours
    # of `rolled` around them, read from the hourly ones.
    days: tuple[datetime, datetime] | None = None
    hours: list[tuple[datetime, datetime]] = field(default_factory=list)


def split_window(*, since: datetime, until: datetime, now: datetime, days: bool = False) -> Split:
    """The whole hours of [since, until) before the current one come from the rollups; the
    partial hours at either end and the current hour are read live (exact). With `days`, the
    whole days among those hours come from the daily rollups."""
    first = hour_of(since)
    if first < since:
        first += HOUR
    last = min(hour_of(until), hour_of(now))
    if first >= last:
        return Split(rolled=None, live=[(since, until)])
    live = []
    if since < first:
        live.append((since, first))
    if last < until:
        live.append((last, until))
    first_day = day_of(first)
    if first_day < first:
        first_day += DAY
    last_day = day_of(last)
    if not days or first_day >= last_day:
        return Split(rolled=(first, last), live=live, hours=[(first, last)])
    hours = [(a, b) for a, b in ((first, first_day), (last_day, last)) if a < b]
    return Split(rolled=(first, last), live=live, days=(first_day, last_day), hours=hours)
