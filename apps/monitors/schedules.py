"""Cron schedules of monitors: validated, their next time, and said in words. A monitor
without a cron expression runs every `interval_seconds` (see services.next_slot).

Jitter: monitors sharing a schedule don't all fire at the same second. Each runs a number
of seconds after the times its schedule names that is derived from its id (the same on
every check and on every beat), at most CRON_JITTER_MAX_SECONDS and at most a tenth of the
shortest gap between two of the expression's times."""

import hashlib
import uuid
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from cron_descriptor import get_description  # type: ignore[import-untyped]
from croniter import croniter  # type: ignore[import-untyped]


class CronRefused(ValueError):
    """Not a cron expression this dashboard runs; the message says why."""


def check_cron(expression: str) -> str:
    """The expression, normalised, or CronRefused."""
    fields = expression.split()
    if len(fields) != 5:
        raise CronRefused(
            "Write five fields: minute hour day-of-month month day-of-week, e.g. */5 * * * *."
        )
    normalised = " ".join(fields)
    if not croniter.is_valid(normalised):
        raise CronRefused("This is not a valid cron expression.")
    try:
        following = croniter(normalised, datetime(2026, 1, 1, tzinfo=UTC))
        following.get_next(datetime)
    except (ValueError, KeyError):  # e.g. a day that never comes, such as 31 February
        raise CronRefused("This cron expression never runs.") from None
    return normalised


CRON_JITTER_MAX_SECONDS = 10
CRON_JITTER_FRACTION = 0.1  # of the shortest gap between two times of the expression
GAPS_LOOKED_AT = 48


def next_time(expression: str, after: datetime, offset: int = 0) -> datetime:
    """The first time after `after` that the expression names (UTC), `offset` seconds
    later (its jitter): the slots are the expression's times plus the offset."""
    shift = timedelta(seconds=offset)
    start = after.astimezone(UTC) - shift
    value: datetime = croniter(expression, start).get_next(datetime)
    return value + shift


def offset_of(key: uuid.UUID, span: int) -> int:
    """A whole number of seconds from 0 to `span`, always the same for the same key, and
    spread evenly over the range for different keys."""
    if span <= 0:
        return 0
    digest = hashlib.sha256(key.bytes).digest()
    return int.from_bytes(digest[:8], "big") % (span + 1)


@lru_cache(maxsize=1024)
def shortest_gap(expression: str) -> float:
    """The shortest time in seconds between two successive times of the expression, over
    its first GAPS_LOOKED_AT times in 2026 (60 s at least: cron counts in minutes)."""
    times = croniter(expression, datetime(2026, 1, 1, tzinfo=UTC))
    previous: datetime = times.get_next(datetime)
    shortest = float("inf")
    for _ in range(GAPS_LOOKED_AT):
        following: datetime = times.get_next(datetime)
        shortest = min(shortest, (following - previous).total_seconds())
        previous = following
    return shortest


def jitter_span(expression: str) -> int:
    """The most seconds a monitor on this expression may run after its times."""
    return int(min(CRON_JITTER_MAX_SECONDS, shortest_gap(expression) * CRON_JITTER_FRACTION))


def cron_jitter(expression: str, monitor_id: uuid.UUID) -> int:
    """How many seconds after the expression's times this monitor runs."""
    return offset_of(monitor_id, jitter_span(expression))


def in_words(expression: str) -> str:
    """'Every 5 minutes, Monday through Friday' (times in UTC)."""
    try:
        return f"{get_description(expression)} (UTC)"
    except Exception:  # the library's own errors: fall back to the expression itself
        return expression
