"""The up / degraded / down state machine and which changes alert."""

import pytest

from apps.monitors.state import DEGRADED, DOWN, UNKNOWN, UP, Counters, alert_for, step


def run(results: list[bool], *, down: int = 2, up: int = 1) -> list[str]:
    counters = Counters(UNKNOWN, 0, 0)
    states = []
    for passed in results:
        counters = step(counters, passed=passed, failures_to_down=down, successes_to_up=up)
        states.append(counters.state)
    return states


def test_a_blip_below_the_threshold_is_degraded_then_up() -> None:
    assert run([True, False, True]) == [UP, DEGRADED, UP]


def test_failures_in_a_row_make_it_down() -> None:
    assert run([True, False, False, False]) == [UP, DEGRADED, DOWN, DOWN]


def test_recovery_needs_the_successes_asked_for() -> None:
    assert run([False, False, True, True, True], up=2) == [DEGRADED, DOWN, DOWN, UP, UP]
    assert run([False, False, True, False, True, True], up=2) == [
        DEGRADED, DOWN, DOWN, DOWN, DOWN, UP,
    ]  # fmt: skip


def test_a_threshold_of_one_is_down_at_once() -> None:
    assert run([False], down=1) == [DOWN]


@pytest.mark.parametrize(
    ("before", "after", "alert"),
    [
        (UP, DOWN, "down"),
        (DEGRADED, DOWN, "down"),
        (UNKNOWN, DOWN, "down"),
        (DOWN, UP, "recovery"),
        (UP, DEGRADED, ""),
        (DEGRADED, UP, ""),
        (DOWN, DOWN, ""),
        (UNKNOWN, UP, ""),
    ],
)
def test_only_down_and_recovery_alert(before: str, after: str, alert: str) -> None:
    assert alert_for(before, after) == alert
