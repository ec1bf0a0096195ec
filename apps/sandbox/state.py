"""The sandbox's shared state, kept in Django's cache: the maintenance switch, the per-key
rate-limit counters and the fail-first sequences.

With the default LocMemCache each server process has its own copy; set CACHE_URL (Redis)
when the web server runs several processes and they must agree.
"""

from datetime import datetime

from django.core.cache import cache

from apps.sandbox.keys import KeyPlan
from apps.sandbox.rules import FAIL_FIRST_TTL_SECONDS, RateStatus, rate_status, rate_window

MAINTENANCE_CACHE_KEY = "sandbox:maintenance"
RATE_CACHE_PREFIX = "sandbox:rate"
FAIL_FIRST_CACHE_PREFIX = "sandbox:fail-first"


def maintenance_since() -> datetime | None:
    """When maintenance was switched on, or None when it is off."""
    value = cache.get(MAINTENANCE_CACHE_KEY)
    return value if isinstance(value, datetime) else None


def set_maintenance(*, on: bool, now: datetime) -> None:
    if on:
        # No expiry: maintenance lasts until someone switches it off.
        cache.set(MAINTENANCE_CACHE_KEY, now, timeout=None)
    else:
        cache.delete(MAINTENANCE_CACHE_KEY)


def _increment(key: str, *, timeout: int) -> int:
    """Add one to a counter that expires ``timeout`` seconds after its first count."""
    # add() is a no-op when the counter exists; incr() is atomic on Redis and keeps the
    # expiry it was created with.
    cache.add(key, 0, timeout=timeout)
    try:
        return cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=timeout)
        return 1


def count_request(*, plan: KeyPlan, now_seconds: float) -> RateStatus:
    """Count one request for this key in the current fixed window, and say where it stands."""
    window = rate_window(now_seconds, plan.rate_window_seconds)
    key = f"{RATE_CACHE_PREFIX}:{plan.key}:{plan.rate_window_seconds}:{window.index}"
    count = _increment(key, timeout=plan.rate_window_seconds + 1)
    return rate_status(plan, count=count, window=window)


def count_attempt(counter: str) -> int:
    """Count one request of a fail-first sequence; returns its number, from 1.

    The sequence is forgotten FAIL_FIRST_TTL_SECONDS after its first request.
    """
    return _increment(f"{FAIL_FIRST_CACHE_PREFIX}:{counter}", timeout=FAIL_FIRST_TTL_SECONDS)
