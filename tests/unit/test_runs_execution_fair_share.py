"""Fair share: a claim past the team's cap of runs in flight leaves the attempt queued and
publishes it again a moment later; other teams and attempts whose worker is gone are not
counted."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import override_settings
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs import execution
from apps.runs.models import Attempt
from tests.support.factories import lost_attempt, queued_attempt

pytestmark = [
    pytest.mark.django_db(transaction=True),  # the re-publish happens on commit
]


@pytest.fixture
def published(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, float]]:
    calls: list[tuple[str, float]] = []

    def publish(*, attempt_id: object, delay: float = 0.0) -> bool:
        calls.append((str(attempt_id), delay))
        return True

    monkeypatch.setattr(execution, "enqueue_attempt", publish)
    return calls


@override_settings(RUN_TEAM_MAX_IN_FLIGHT=2, RUN_TEAM_WAIT_SECONDS=1.0)
def test_it_refuses_a_claim_past_the_teams_cap_and_publishes_it_again(
    team: Team, owner: User, published: list[tuple[str, float]]
) -> None:
    first, second, third = (queued_attempt(team, owner) for _ in range(3))
    assert execution.claim_attempt(attempt_id=first.id) == 1
    assert execution.claim_attempt(attempt_id=second.id) == 1
    assert execution.claim_attempt(attempt_id=third.id) is None
    third.refresh_from_db()
    assert third.status == Attempt.Status.QUEUED and third.deliveries == 0
    assert [attempt_id for attempt_id, _ in published] == [str(third.id)]
    assert 1.0 <= published[0][1] <= 1.5
    # A slot frees up when a run of the team finishes: the next delivery claims it.
    Attempt.objects.filter(pk=first.pk).update(status=Attempt.Status.DONE)
    assert execution.claim_attempt(attempt_id=third.id) == 1


@override_settings(RUN_TEAM_MAX_IN_FLIGHT=1, RUN_TEAM_WAIT_SECONDS=1.0)
def test_a_refused_claim_is_published_again_even_if_a_run_finished_just_after(
    team: Team, owner: User, published: list[tuple[str, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The team's run finishes between the claim's conditional update (no room) and what
    follows: the attempt is still published again, not taken for another delivery's."""
    busy, waiting = queued_attempt(team, owner), queued_attempt(team, owner)
    assert execution.claim_attempt(attempt_id=busy.id) == 1
    take = execution._take

    def take_then_finish(attempt: Attempt, **kwargs: object) -> bool:
        taken = take(attempt, **kwargs)  # type: ignore[arg-type]
        Attempt.objects.filter(pk=busy.pk).update(status=Attempt.Status.DONE)
        return taken

    monkeypatch.setattr(execution, "_take", take_then_finish)
    assert execution.claim_attempt(attempt_id=waiting.id) is None
    waiting.refresh_from_db()
    assert waiting.status == Attempt.Status.QUEUED and waiting.deliveries == 0
    assert [attempt_id for attempt_id, _ in published] == [str(waiting.id)]


@override_settings(RUN_TEAM_MAX_IN_FLIGHT=1)
def test_a_claim_lost_to_another_delivery_is_not_published_again(
    team: Team, owner: User, published: list[tuple[str, float]], monkeypatch: pytest.MonkeyPatch
) -> None:
    attempt = queued_attempt(team, owner)
    take = execution._take

    def other_delivery_first(attempt: Attempt, **kwargs: object) -> bool:
        Attempt.objects.filter(pk=attempt.pk).update(
            status=Attempt.Status.RUNNING, deliveries=1, heartbeat_at=timezone.now()
        )
        return take(attempt, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(execution, "_take", other_delivery_first)
    assert execution.claim_attempt(attempt_id=attempt.id) is None
    assert published == []


@override_settings(RUN_TEAM_MAX_IN_FLIGHT=1)
def test_it_lets_another_team_run_while_one_team_is_at_its_cap(
    team: Team, owner: User, other_team: Team, stranger: User, published: list[tuple[str, float]]
) -> None:
    busy, waiting = queued_attempt(team, owner), queued_attempt(team, owner)
    theirs = queued_attempt(other_team, stranger)
    assert execution.claim_attempt(attempt_id=busy.id) == 1
    assert execution.claim_attempt(attempt_id=waiting.id) is None
    assert execution.claim_attempt(attempt_id=theirs.id) == 1
    assert [attempt_id for attempt_id, _ in published] == [str(waiting.id)]


@override_settings(RUN_TEAM_MAX_IN_FLIGHT=1)
def test_it_does_not_count_an_attempt_whose_worker_is_gone(
    team: Team, owner: User, published: list[tuple[str, float]]
) -> None:
    lost_attempt(team, owner, "GET")  # running, its heartbeat long stale
    attempt = queued_attempt(team, owner)
    assert execution.claim_attempt(attempt_id=attempt.id) == 1
    assert published == []


@override_settings(RUN_TEAM_MAX_IN_FLIGHT=1)
def test_it_leaves_a_refused_attempt_to_the_sweeper_when_the_broker_is_down(
    team: Team, owner: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    from apps.runs import tasks

    def down(*args: object, **kwargs: object) -> None:
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(tasks.execute_attempt_task, "apply_async", down)
    busy, waiting = queued_attempt(team, owner), queued_attempt(team, owner)
    then = timezone.now() - timedelta(hours=1)
    Attempt.objects.filter(pk=waiting.pk).update(published_at=then)
    assert execution.claim_attempt(attempt_id=busy.id) == 1
    assert execution.claim_attempt(attempt_id=waiting.id) is None
    waiting.refresh_from_db()
    # Still queued, and its last publish is old: the sweeper publishes it again.
    assert waiting.status == Attempt.Status.QUEUED and waiting.published_at == then
