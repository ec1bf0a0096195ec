"""When to try a run again: pure functions, no database, no clock."""

import random
from dataclasses import dataclass

from apps.egress.types import IDEMPOTENT_METHODS


@dataclass(frozen=True)
class RetryPolicy:
    base: float = 1.0  # seconds; the first backoff is drawn from [0, base * 2]
    cap: float = 60.0  # no backoff is longer than this
    max_attempts: int = 5  # attempts in all, the first included
    max_wait: float = 300.0  # a Retry-After longer than this ends the retries

    def to_dict(self) -> dict[str, float | int]:
        return {
            "base": self.base,
            "cap": self.cap,
            "max_attempts": self.max_attempts,
            "max_wait": self.max_wait,
        }

    @classmethod
    def from_dict(cls, data: dict[str, float | int]) -> "RetryPolicy":
        default = cls()
        return cls(
            base=float(data.get("base", default.base)),
            cap=float(data.get("cap", default.cap)),
            max_attempts=int(data.get("max_attempts", default.max_attempts)),
            max_wait=float(data.get("max_wait", default.max_wait)),
        )


@dataclass(frozen=True)
class Decision:
    retry: bool
    delay: float  # seconds before the next attempt; 0 when not retrying
    reason: str  # for people: why (not), and why that long


def backoff_delay(*, attempt: int, policy: RetryPolicy, rng: random.Random) -> float:
    """Exponential backoff with full jitter: uniform(0, min(cap, base * 2**attempt))."""
    ceiling = min(policy.cap, policy.base * 2 ** max(attempt, 1))
    return rng.uniform(0, ceiling)


def decide(
    *,
    method: str,
    retryable: bool,
    retry_after_seconds: float | None,
    attempts_made: int,
    policy: RetryPolicy,
    rng: random.Random,
) -> Decision:
    """Whether to retry automatically after `attempts_made` attempts, and after how long."""
    if method.upper() not in IDEMPOTENT_METHODS:
        return Decision(
            False,
            0,
            f"{method.upper()} is not idempotent (RFC 9110 §9.2.2): sending it again could "
            "repeat its effect, so it is never retried automatically. Use Retry now if you "
            "are sure.",
        )
    if not retryable:
        return Decision(False, 0, "Retrying cannot help with this outcome; see the diagnosis.")
    if attempts_made >= policy.max_attempts:
        return Decision(False, 0, f"Stopped after {attempts_made} attempts (the most allowed).")
    if retry_after_seconds is not None:
        if retry_after_seconds > policy.max_wait:
            return Decision(
                False,
                0,
                f"The server asked to wait {retry_after_seconds:g} s (Retry-After), longer "
                f"than the {policy.max_wait:g} s this dashboard waits; try again later.",
            )
        delay = max(0.0, float(retry_after_seconds))
        return Decision(True, delay, f"Waiting {delay:g} s as the server asked (Retry-After).")
    delay = backoff_delay(attempt=attempts_made, policy=policy, rng=rng)
    return Decision(
        True,
        delay,
        f"Waiting {delay:.1f} s: exponential backoff with full jitter "
        f"(at most {min(policy.cap, policy.base * 2 ** max(attempts_made, 1)):g} s "
        f"after attempt {attempts_made}).",
    )
