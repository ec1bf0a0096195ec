"""The sandbox's shared state in Django's cache (apps.sandbox.state): the maintenance switch,
the rate-limit counters and the fail-first sequences, each per team scope."""

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from django.core.cache import cache

from apps.sandbox import state
from apps.sandbox.keys import BURST_KEY, KEY_PLANS

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def empty_cache() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


def test_the_team_scope_is_stable_and_names_no_team() -> None:
    team = uuid.uuid4()
    scope = state.team_scope(team)
    assert scope == state.team_scope(team)
    assert scope != state.team_scope(uuid.uuid4())
    assert len(scope) == 20
    assert str(team) not in scope and team.hex[:20] != scope


def test_maintenance_lasts_until_switched_off() -> None:
    assert state.maintenance_since() is None
    state.set_maintenance(on=True, now=NOW)
    assert state.maintenance_since() == NOW
    state.set_maintenance(on=False, now=NOW)
    assert state.maintenance_since() is None


def test_one_scopes_maintenance_leaves_the_others_alone() -> None:
    state.set_maintenance(on=True, now=NOW, scope="team-a")
    assert state.maintenance_since(scope="team-a") == NOW
    assert state.maintenance_since(scope="team-b") is None
    assert state.maintenance_since() is None


def test_it_counts_requests_in_a_window_up_to_the_limit() -> None:
    plan = KEY_PLANS[BURST_KEY]  # 2 per 10 seconds
    seen = [state.count_request(plan=plan, now_seconds=100.0) for _ in range(3)]
    assert [(s.remaining, s.exceeded) for s in seen] == [(1, False), (0, False), (0, True)]
    assert seen[0].reset_seconds == 10


def test_a_new_window_starts_counting_again() -> None:
    plan = KEY_PLANS[BURST_KEY]
    for _ in range(3):
        state.count_request(plan=plan, now_seconds=100.0)
    fresh = state.count_request(plan=plan, now_seconds=110.0)
    assert (fresh.remaining, fresh.exceeded) == (1, False)


def test_each_scope_has_its_own_rate_counters() -> None:
    plan = KEY_PLANS[BURST_KEY]
    for _ in range(3):
        state.count_request(plan=plan, now_seconds=100.0, scope="team-a")
    assert not state.count_request(plan=plan, now_seconds=100.0, scope="team-b").exceeded
    assert not state.count_request(plan=plan, now_seconds=100.0).exceeded


def test_it_numbers_the_attempts_of_each_sequence_per_scope() -> None:
    assert [state.count_attempt("seq") for _ in range(3)] == [1, 2, 3]
    assert state.count_attempt("other") == 1
    assert state.count_attempt("seq", scope="team-a") == 1
