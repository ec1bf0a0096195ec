"""The retry schedule: Retry-After first, else exponential backoff with full jitter."""

import random
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from apps.runs.backoff import Decision, RetryPolicy, backoff_delay, decide

POLICY = RetryPolicy(base=1, cap=30, max_attempts=5, max_wait=120)


def decision(**overrides: Any) -> Decision:
    arguments: dict[str, Any] = {
        "method": "GET",
        "retryable": True,
        "retry_after_seconds": None,
        "attempts_made": 1,
        "policy": POLICY,
        "rng": random.Random(7),
    }
    return decide(**{**arguments, **overrides})


def test_it_waits_exactly_as_long_as_retry_after_says() -> None:
    result = decision(retry_after_seconds=1)
    assert result.retry and result.delay == 1
    assert "Retry-After" in result.reason


def test_it_gives_up_when_retry_after_is_longer_than_it_waits() -> None:
    result = decision(retry_after_seconds=3600)
    assert not result.retry
    assert "3600" in result.reason


@pytest.mark.parametrize("method", ["POST", "PATCH", "CONNECT", "post"])
def test_it_never_retries_non_idempotent_methods(method: str) -> None:
    result = decision(method=method, retry_after_seconds=1)
    assert not result.retry
    assert "RFC 9110" in result.reason


@pytest.mark.parametrize("method", ["GET", "HEAD", "OPTIONS", "PUT", "DELETE"])
def test_it_retries_idempotent_methods(method: str) -> None:
    assert decision(method=method).retry


def test_it_does_not_retry_what_retrying_cannot_fix() -> None:
    assert not decision(retryable=False).retry


def test_it_stops_at_the_most_attempts_allowed() -> None:
    assert decision(attempts_made=4).retry
    result = decision(attempts_made=5)
    assert not result.retry and "5 attempts" in result.reason


@given(attempt=st.integers(min_value=0, max_value=60), seed=st.integers())
def test_its_jitter_stays_between_zero_and_the_capped_exponential(attempt: int, seed: int) -> None:
    delay = backoff_delay(attempt=attempt, policy=POLICY, rng=random.Random(seed))
    assert 0 <= delay <= min(POLICY.cap, POLICY.base * 2 ** max(attempt, 1))


def test_its_jitter_spreads_over_the_whole_range() -> None:
    rng = random.Random(1)
    delays = [backoff_delay(attempt=3, policy=POLICY, rng=rng) for _ in range(2000)]
    assert min(delays) < 0.5 and max(delays) > 7.5  # uniform over [0, 8]


def test_its_policy_round_trips_through_json() -> None:
    assert RetryPolicy.from_dict(POLICY.to_dict()) == POLICY
    assert RetryPolicy.from_dict({}) == RetryPolicy()
