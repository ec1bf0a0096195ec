"""Cron schedules: checked, said in words, their next time, and each monitor's jitter."""

import uuid
from datetime import UTC, datetime

import pytest

from apps.monitors.schedules import (
    CRON_JITTER_MAX_SECONDS,
    CronRefused,
    check_cron,
    cron_jitter,
    in_words,
    jitter_span,
    next_time,
    offset_of,
    shortest_gap,
)


def test_an_expression_is_normalised_and_said_in_words() -> None:
    assert check_cron("  */5  * * * 1-5 ") == "*/5 * * * 1-5"
    assert in_words("*/5 * * * 1-5") == "Every 5 minutes, Monday through Friday (UTC)"
    assert next_time("0 9 * * *", datetime(2026, 1, 1, 10, tzinfo=UTC)) == datetime(
        2026, 1, 2, 9, tzinfo=UTC
    )


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("* * * *", "five fields"),
        ("*/10 * * * * *", "five fields"),  # seconds: not under 30 s
        ("61 * * * *", "not a valid"),
        ("every day", "five fields"),
    ],
)
def test_what_is_not_a_schedule_is_refused(text: str, reason: str) -> None:
    with pytest.raises(CronRefused, match=reason):
        check_cron(text)


MONITORS = [uuid.UUID(int=n * 7919 + 1) for n in range(200)]


def test_a_monitors_jitter_is_its_own_and_stays_the_same() -> None:
    key = uuid.UUID("1b4e28ba-2fa1-11d2-883f-0016d3cca427")
    assert offset_of(key, 6) == offset_of(key, 6)
    offsets = {offset_of(key, 10) for key in MONITORS}
    assert offsets == set(range(11))  # spread over the whole range, none outside it
    assert offset_of(key, 0) == 0


@pytest.mark.parametrize(
    ("expression", "span"),
    [
        ("* * * * *", 6),  # a tenth of a minute
        ("*/5 * * * *", 10),  # at most CRON_JITTER_MAX_SECONDS
        ("0 9 * * 1-5", 10),
        ("0,1 * * * *", 6),  # the shortest gap counts, not the usual one
    ],
)
def test_the_jitter_is_a_few_seconds_and_a_fraction_of_the_gap(expression: str, span: int) -> None:
    assert jitter_span(expression) == span
    assert span <= CRON_JITTER_MAX_SECONDS
    assert span <= shortest_gap(expression) / 10
    assert all(0 <= cron_jitter(expression, key) <= span for key in MONITORS)


def test_monitors_on_one_schedule_fire_at_different_seconds() -> None:
    after = datetime(2026, 1, 1, 10, 0, 30, tzinfo=UTC)
    times = {next_time("* * * * *", after, cron_jitter("* * * * *", key)) for key in MONITORS}
    assert len(times) == 7  # every second of its span is used
    assert all(t.replace(second=0) == datetime(2026, 1, 1, 10, 1, tzinfo=UTC) for t in times)


def test_a_slot_with_jitter_follows_the_expression() -> None:
    at = datetime(2026, 1, 1, 9, 0, 7, tzinfo=UTC)
    # From its own slot, the next is the next time of the expression, 7 s after it.
    assert next_time("0 9 * * *", at, 7) == datetime(2026, 1, 2, 9, 0, 7, tzinfo=UTC)
    # Just before its slot (the time has passed, the offset not yet), the slot is today's.
    assert next_time("0 9 * * *", at.replace(second=3), 7) == at
