"""The redelivery and sweeper rules (apps.runs.recovery): pure, table-driven."""

from datetime import UTC, datetime, timedelta

import pytest

from apps.runs.recovery import Action, AttemptState, Limits, is_alive, on_delivery, on_sweep

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LIMITS = Limits(
    stale_after=timedelta(seconds=60),
    hard_limit=timedelta(seconds=190),
    max_deliveries=5,
    queued_after=timedelta(seconds=30),
    republish_after=timedelta(seconds=300),
)


def ago(seconds: float) -> datetime:
    return NOW - timedelta(seconds=seconds)


def state(**fields: object) -> AttemptState:
    values: dict[str, object] = {
        "status": "queued",
        "idempotent": True,
        "deliveries": 0,
        "created_at": ago(1),
    }
    return AttemptState(**{**values, **fields})  # type: ignore[arg-type]


def running(**fields: object) -> AttemptState:
    values: dict[str, object] = {
        "status": "running",
        "deliveries": 1,
        "created_at": ago(600),
        "published_at": ago(600),
        "started_at": ago(100),
        "heartbeat_at": ago(5),
    }
    return state(**{**values, **fields})


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        (state(), Action.EXECUTE),
        (state(deliveries=5), Action.GIVE_UP),
        (running(), Action.IGNORE),  # a live execution holds it: a duplicate delivery
        (running(heartbeat_at=ago(61)), Action.TAKE_OVER),
        (running(heartbeat_at=None, started_at=ago(61)), Action.TAKE_OVER),
        (running(heartbeat_at=None, started_at=ago(10)), Action.IGNORE),
        (running(heartbeat_at=ago(61), idempotent=False), Action.INTERRUPT),
        (running(heartbeat_at=ago(61), deliveries=5), Action.GIVE_UP),
        # a non-idempotent request is interrupted, never given another delivery
        (running(heartbeat_at=ago(61), deliveries=5, idempotent=False), Action.INTERRUPT),
        # past the hard limit no execution is alive, whatever its heartbeat says
        (running(started_at=ago(191), heartbeat_at=ago(1)), Action.TAKE_OVER),
        (state(status="done", deliveries=1), Action.IGNORE),
        (state(status="cancelled"), Action.IGNORE),
        (state(status="interrupted", deliveries=1), Action.IGNORE),
    ],
)
def test_it_decides_what_a_delivery_does(attempt: AttemptState, expected: Action) -> None:
    assert on_delivery(attempt, now=NOW, limits=LIMITS) == expected


@pytest.mark.parametrize(
    ("attempt", "expected"),
    [
        # never published (the broker was down at submit): after queued_after
        (state(created_at=ago(29)), Action.IGNORE),
        (state(created_at=ago(31)), Action.REPUBLISH),
        # published: only a long wait means the message was lost
        (state(created_at=ago(299), published_at=ago(299)), Action.IGNORE),
        (state(created_at=ago(301), published_at=ago(301)), Action.REPUBLISH),
        # a retry scheduled for later is left alone until it is due
        (state(created_at=ago(900), not_before=NOW + timedelta(seconds=5)), Action.IGNORE),
        (state(created_at=ago(900), not_before=ago(31)), Action.REPUBLISH),
        (state(created_at=ago(900), published_at=ago(900), not_before=ago(10)), Action.IGNORE),
        # running: alive, gone (idempotent, not idempotent, too many deliveries)
        (running(), Action.IGNORE),
        (running(heartbeat_at=ago(61)), Action.REPUBLISH),
        (running(heartbeat_at=ago(61), idempotent=False), Action.INTERRUPT),
        (running(heartbeat_at=ago(61), deliveries=5), Action.GIVE_UP),
        # already published again since it was lost: not at every sweep
        (running(heartbeat_at=ago(61), published_at=ago(30)), Action.IGNORE),
        (running(heartbeat_at=ago(400), published_at=ago(301)), Action.REPUBLISH),
        (state(status="done", deliveries=1, created_at=ago(900)), Action.IGNORE),
    ],
)
def test_it_decides_what_the_sweeper_does(attempt: AttemptState, expected: Action) -> None:
    assert on_sweep(attempt, now=NOW, limits=LIMITS) == expected


def test_it_takes_an_attempt_that_is_not_running_for_not_alive() -> None:
    assert not is_alive(state(heartbeat_at=NOW), now=NOW, limits=LIMITS)
    assert is_alive(running(), now=NOW, limits=LIMITS)
