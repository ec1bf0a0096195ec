"""The sandbox's shared state, kept in Django's cache: the maintenance switch, the per-key
rate-limit counters and the fail-first sequences.

Each team has a state of its own, under a `scope` in its sandbox URLs (`/sandbox/t/<scope>/`,
see `team_scope`): one team's maintenance switch or spent rate limit never changes another
team's answers. The URLs without a scope have a state of their own that no switch changes.

With the default LocMemCache each server process has its own copy; set CACHE_URL (Redis)
when the web server runs several processes and they must agree.
"""

import uuid
from datetime import datetime

from django.core.cache import cache
from django.utils.crypto import salted_hmac

from apps.sandbox.keys import KeyPlan
from apps.sandbox.rules import FAIL_FIRST_TTL_SECONDS, RateStatus, rate_status, rate_window

MAINTENANCE_CACHE_KEY = "sandbox:maintenance"
RATE_CACHE_PREFIX = "sandbox:rate"
FAIL_FIRST_CACHE_PREFIX = "sandbox:fail-first"


def team_scope(team_id: uuid.UUID) -> str:
    """The scope of a team's sandbox state in its URLs: derived from the team with the
    project's secret key, so that it names the team to nobody."""
    return salted_hmac("apps.sandbox.team_scope", str(team_id), algorithm="sha256").hexdigest()[:20]


def _maintenance_key(scope: str) -> str:
    return f"{MAINTENANCE_CACHE_KEY}:{scope}" if scope else MAINTENANCE_CACHE_KEY


def maintenance_since(*, scope: str = "") -> datetime | None:
    """When maintenance was switched on for the scope, or None when it is off."""
    value = cache.get(_maintenance_key(scope))
    return value if isinstance(value, datetime) else None


def set_maintenance(*, on: bool, now: datetime, scope: str = "") -> None:
    if on:
        # No expiry: maintenance lasts until someone switches it off.
        cache.set(_maintenance_key(scope), now, timeout=None)
    else:
        cache.delete(_maintenance_key(scope))


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


def count_request(*, plan: KeyPlan, now_seconds: float, scope: str = "") -> RateStatus:
    """Count one request for this key in the current fixed window, and say where it stands."""
    window = rate_window(now_seconds, plan.rate_window_seconds)
    prefix = f"{RATE_CACHE_PREFIX}:{scope}" if scope else RATE_CACHE_PREFIX
    key = f"{prefix}:{plan.key}:{plan.rate_window_seconds}:{window.index}"
    count = _increment(key, timeout=plan.rate_window_seconds + 1)
    return rate_status(plan, count=count, window=window)


def count_attempt(counter: str, *, scope: str = "") -> int:
    """Count one request of a fail-first sequence; returns its number, from 1.

    The sequence is forgotten FAIL_FIRST_TTL_SECONDS after its first request.
    """
    prefix = f"{FAIL_FIRST_CACHE_PREFIX}:{scope}" if scope else FAIL_FIRST_CACHE_PREFIX
    return _increment(f"{prefix}:{counter}", timeout=FAIL_FIRST_TTL_SECONDS)
