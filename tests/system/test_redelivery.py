"""Deliveries that arrive twice or after a worker stopped, handled by a real worker process.
The local upstream counts what was really sent."""

import time
import uuid
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs import services
from apps.runs.models import Attempt, Run
from tests.support.factories import add_attempt, make_run
from tests.support.upstream import CountingUpstream, counting_upstream

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def upstream() -> Iterator[CountingUpstream]:
    with counting_upstream() as server:
        yield server


def run_to(upstream: CountingUpstream, team: Team, user: User, method: str) -> tuple[str, Run]:
    path = f"/r/{uuid.uuid4().hex}"
    run = make_run(team, user, method=method, url=f"{upstream.url}{path}", host="127.0.0.1",
                   profile="http", timeout_seconds=5)  # fmt: skip
    return path, run


def wait_for(attempt: Attempt, status: str, timeout: float = 30) -> Attempt:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        attempt.refresh_from_db()
        if attempt.status == status:
            return attempt
        time.sleep(0.1)
    raise AssertionError(f"attempt is {attempt.status}, not {status}, after {timeout} s")


def lost_attempt(run: Run) -> Attempt:
    then = timezone.now() - timedelta(minutes=10)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    return add_attempt(run, status=Attempt.Status.RUNNING, deliveries=1, started_at=then,
                       heartbeat_at=then, worker="gone@host pid 1")  # fmt: skip


def test_it_sends_a_get_delivered_twice_once(
    celery_worker: object, upstream: CountingUpstream, team: Team, owner: User
) -> None:
    path, run = run_to(upstream, team, owner, "GET")
    attempt = add_attempt(run)
    assert services.enqueue_attempt(attempt_id=attempt.id)
    assert services.enqueue_attempt(attempt_id=attempt.id)
    wait_for(attempt, Attempt.Status.DONE)
    time.sleep(1.5)  # time for the second delivery to arrive and be ignored
    attempt.refresh_from_db()
    assert upstream.count(path) == 1
    assert attempt.deliveries == 1 and attempt.response_status == 200
    assert Run.objects.get(pk=run.pk).status == Run.Status.DONE


def test_it_sends_again_a_get_whose_worker_stopped_and_stores_it_once(
    celery_worker: object, upstream: CountingUpstream, team: Team, owner: User
) -> None:
    path, run = run_to(upstream, team, owner, "GET")
    attempt = lost_attempt(run)
    assert services.enqueue_attempt(attempt_id=attempt.id)
    attempt = wait_for(attempt, Attempt.Status.DONE)
    assert upstream.count(path) == 1
    assert attempt.deliveries == 2 and attempt.response_status == 200
    assert attempt.worker.startswith("test-")
    assert run.attempts.count() == 1


def test_it_marks_a_post_whose_worker_stopped_interrupted_and_does_not_send_it(
    celery_worker: object, upstream: CountingUpstream, team: Team, owner: User
) -> None:
    path, run = run_to(upstream, team, owner, "POST")
    attempt = lost_attempt(run)
    assert services.enqueue_attempt(attempt_id=attempt.id)
    attempt = wait_for(attempt, Attempt.Status.INTERRUPTED)
    time.sleep(0.5)
    assert upstream.count(path) == 0
    assert "may or may not have reached the server" in attempt.failure_message
    assert Run.objects.get(pk=run.pk).status == Run.Status.INTERRUPTED
