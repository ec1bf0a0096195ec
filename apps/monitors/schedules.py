"""Cron schedules of monitors: validated, their next time, and said in words. A monitor
without a cron expression runs every `interval_seconds` (see services.next_slot)."""

from datetime import UTC, datetime

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


def next_time(expression: str, after: datetime) -> datetime:
    """The first time after `after` that the expression names (UTC)."""
    value: datetime = croniter(expression, after.astimezone(UTC)).get_next(datetime)
    return value


def in_words(expression: str) -> str:
    """'Every 5 minutes, Monday through Friday' (times in UTC)."""
    try:
        return f"{get_description(expression)} (UTC)"
    except Exception:  # the library's own errors: fall back to the expression itself
        return expression
