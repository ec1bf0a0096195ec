"""The sandbox's shared state, kept in Django's cache: the maintenance switch and the
per-key rate-limit counters.

With the default LocMemCache each server process has its own copy; set CACHE_URL (Redis)
when the web server runs several processes and they must agree.
"""

from datetime import datetime

from django.core.cache import cache

from apps.sandbox.keys import KeyPlan
from apps.sandbox.rules import rate_window

MAINTENANCE_CACHE_KEY = "sandbox:maintenance"
RATE_CACHE_PREFIX = "sandbox:rate"


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


def count_request(*, plan: KeyPlan, now_seconds: float) -> int | None:
    """Count one request for this key in the current fixed window.

    Returns None when the request is within the limit, else the whole seconds until the
    window resets (the Retry-After value).
    """
    window = rate_window(now_seconds, plan.rate_window_seconds)
    key = f"{RATE_CACHE_PREFIX}:{plan.key}:{plan.rate_window_seconds}:{window.index}"
    # add() is a no-op when the counter exists; incr() is atomic on Redis.
    cache.add(key, 0, timeout=plan.rate_window_seconds + 1)
    try:
        count = cache.incr(key)
    except ValueError:  # expired between add() and incr()
        cache.set(key, 1, timeout=plan.rate_window_seconds + 1)
        count = 1
    if count > plan.rate_limit:
        return window.retry_after
    return None
