"""Cron schedules: checked, said in words, their next time."""

from datetime import UTC, datetime

import pytest

from apps.monitors.schedules import CronRefused, check_cron, in_words, next_time


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
