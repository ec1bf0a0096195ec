"""What to do with an attempt when a delivery arrives or the sweeper finds it: pure rules.

A run is never lost and never sent twice by accident. The rules, in short:
- a queued attempt is claimed by the first delivery (a conditional update is the guard);
- a running attempt whose execution still shows signs of life (a heartbeat within
  `stale_after`, and younger than the hard time limit) belongs to that execution: any
  other delivery of it is a duplicate and is ignored;
- a running attempt whose execution is gone (its worker was killed, or lost its database)
  is executed again if its method is idempotent, and marked interrupted if not: a POST may
  or may not have reached the server, so it is never sent again without a person asking;
- after `max_deliveries` deliveries an attempt is settled as failed (a request that kills
  its worker every time must not loop forever).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

QUEUED = "queued"
RUNNING = "running"


class Action(StrEnum):
    EXECUTE = "execute"  # claim the queued attempt and send its request
    TAKE_OVER = "take_over"  # its execution is gone; idempotent: send it again
    INTERRUPT = "interrupt"  # its execution is gone; not idempotent: never sent again
    GIVE_UP = "give_up"  # delivered too many times: settle it as failed
    REPUBLISH = "republish"  # (sweeper) publish it to the broker again
    IGNORE = "ignore"  # finished, cancelled, not due, or a live execution holds it


@dataclass(frozen=True)
class Limits:
    stale_after: timedelta  # a running attempt without a heartbeat this long is gone
    hard_limit: timedelta  # no execution lives longer than the hard time limit
    max_deliveries: int
    queued_after: timedelta  # an attempt never published is published again after this
    republish_after: timedelta  # a published attempt nobody took is published again


@dataclass(frozen=True)
class AttemptState:
    status: str
    idempotent: bool
    deliveries: int
    created_at: datetime
    not_before: datetime | None = None
    published_at: datetime | None = None
    started_at: datetime | None = None
    heartbeat_at: datetime | None = None

    @property
    def last_alive(self) -> datetime | None:
        """The execution's last sign of life: its heartbeat, else its start."""
        return self.heartbeat_at or self.started_at


def is_alive(state: AttemptState, *, now: datetime, limits: Limits) -> bool:
    """Whether a running attempt's execution may still be going on."""
    if state.status != RUNNING:
        return False
    last = state.last_alive
    if last is None:
        return False
    if state.started_at is not None and now - state.started_at > limits.hard_limit:
        return False
    return now - last <= limits.stale_after


def on_delivery(state: AttemptState, *, now: datetime, limits: Limits) -> Action:
    """What a worker does with a delivery of this attempt."""
    if state.status == QUEUED:
        return Action.GIVE_UP if state.deliveries >= limits.max_deliveries else Action.EXECUTE
    if state.status != RUNNING or is_alive(state, now=now, limits=limits):
        return Action.IGNORE
    return _gone(state, limits)


def on_sweep(state: AttemptState, *, now: datetime, limits: Limits) -> Action:
    """What the sweeper does with an attempt that is still queued or running."""
    if state.status == QUEUED:
        due = state.not_before or state.created_at
        if due > now:
            return Action.IGNORE  # a retry scheduled for later: its message carries a countdown
        if state.published_at is None:
            return Action.REPUBLISH if now - due >= limits.queued_after else Action.IGNORE
        waited = now - max(due, state.published_at)
        return Action.REPUBLISH if waited >= limits.republish_after else Action.IGNORE
    if state.status != RUNNING or is_alive(state, now=now, limits=limits):
        return Action.IGNORE
    action = _gone(state, limits)
    if action == Action.TAKE_OVER:
        # A delivery takes it over; publish once per loss, not at every sweep.
        last = state.last_alive
        published = state.published_at
        if published is not None and last is not None and published > last:
            overdue = now - published >= limits.republish_after
            return Action.REPUBLISH if overdue else Action.IGNORE
        return Action.REPUBLISH
    return action


def _gone(state: AttemptState, limits: Limits) -> Action:
    if not state.idempotent:
        return Action.INTERRUPT
    if state.deliveries >= limits.max_deliveries:
        return Action.GIVE_UP
    return Action.TAKE_OVER
