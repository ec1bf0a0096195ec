"""The up / degraded / down state machine of a monitor. Pure: no database.

A failed check below the threshold makes an up monitor *degraded* (a blip: no alert);
`failures_to_down` failures in a row make it *down*; a down monitor is *up* again after
`successes_to_up` passed checks in a row. Alerts are sent on down and on recovery only.
"""

from dataclasses import dataclass

UNKNOWN, UP, DEGRADED, DOWN = "unknown", "up", "degraded", "down"


@dataclass(frozen=True)
class Counters:
    state: str
    failures: int  # consecutive failed checks
    successes: int  # consecutive passed checks


def step(
    before: Counters, *, passed: bool, failures_to_down: int, successes_to_up: int
) -> Counters:
    """The state after one more check."""
    if passed:
        successes = before.successes + 1
        if before.state == DOWN and successes < max(1, successes_to_up):
            return Counters(DOWN, 0, successes)
        return Counters(UP, 0, successes)
    failures = before.failures + 1
    if failures >= max(1, failures_to_down) or before.state == DOWN:
        return Counters(DOWN, failures, 0)
    return Counters(DEGRADED, failures, 0)


def alert_for(before: str, after: str) -> str:
    """Which alert a change asks for: "down", "recovery" or ""."""
    if after == DOWN and before != DOWN:
        return "down"
    if before == DOWN and after == UP:
        return "recovery"
    return ""
