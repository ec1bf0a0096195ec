"""The sweeper, in-process against the database: what the broker lost or never got is
published again, lost runs are settled (the chaos tests do it with real faults)."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs import sweeper
from apps.runs.models import Attempt
from tests.support.factories import LONG_AGO, lost_attempt, queued_attempt

pytestmark = pytest.mark.django_db


class TestSweep:
    @pytest.fixture
    def published(self, monkeypatch: pytest.MonkeyPatch) -> list[uuid.UUID]:
        ids: list[uuid.UUID] = []

        def enqueue(*, attempt_id: uuid.UUID, delay: float = 0.0) -> bool:
            ids.append(attempt_id)
            return True

        monkeypatch.setattr(sweeper, "enqueue_attempt", enqueue)
        return ids

    def test_it_publishes_an_attempt_the_broker_never_got(
        self, team: Team, owner: User, published: list[uuid.UUID]
    ) -> None:
        old = queued_attempt(team, owner)
        Attempt.objects.filter(pk=old.pk).update(created_at=timezone.now() - LONG_AGO)
        fresh = queued_attempt(team, owner)
        counts = sweeper.sweep()
        assert published == [old.id] and fresh.id not in published
        assert counts["republish"] == 1

    def test_it_publishes_a_lost_get_and_interrupts_a_lost_post(
        self, team: Team, owner: User, published: list[uuid.UUID]
    ) -> None:
        get, post = lost_attempt(team, owner, "GET"), lost_attempt(team, owner, "POST")
        alive = queued_attempt(team, owner, status=Attempt.Status.RUNNING, deliveries=1,
                           started_at=timezone.now(), heartbeat_at=timezone.now())  # fmt: skip
        counts = sweeper.sweep()
        assert published == [get.id]
        assert Attempt.objects.get(pk=post.pk).status == Attempt.Status.INTERRUPTED
        assert Attempt.objects.get(pk=alive.pk).status == Attempt.Status.RUNNING
        assert counts["republish"] == 1 and counts["interrupt"] == 1

    def test_it_settles_each_lost_attempt_once_when_two_sweeps_meet(
        self, team: Team, owner: User, published: list[uuid.UUID]
    ) -> None:
        post = lost_attempt(team, owner, "POST")
        first, second = sweeper.sweep(), sweeper.sweep()
        assert first["interrupt"] + second["interrupt"] == 1
        assert Attempt.objects.get(pk=post.pk).status == Attempt.Status.INTERRUPTED

    def test_it_leaves_done_cancelled_and_scheduled_attempts_alone(
        self, team: Team, owner: User, published: list[uuid.UUID]
    ) -> None:
        then = timezone.now() - LONG_AGO
        for status in (Attempt.Status.DONE, Attempt.Status.CANCELLED):
            attempt = queued_attempt(team, owner, status=status)
            Attempt.objects.filter(pk=attempt.pk).update(created_at=then)
        later = queued_attempt(team, owner, not_before=timezone.now() + timedelta(minutes=1))
        Attempt.objects.filter(pk=later.pk).update(created_at=then)
        sweeper.sweep()
        assert published == []
