"""/healthz for a load balancer, and what pages say when no worker is running."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.health import selectors, services
from apps.health.models import WorkerHeartbeat
from apps.runs.models import Attempt, Run
from dashboard.celery import app as celery_app
from tests.support.clients import client_for
from tests.support.factories import add_attempt, make_run
from tests.support.servers import closed_port

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_other_worker() -> None:
    """These tests set the workers' state themselves: heartbeats of the real test worker
    (system tests) are removed inside the test's transaction."""
    WorkerHeartbeat.objects.all().delete()


def a_worker_is_running() -> None:
    services.record_heartbeat(name="w1@host", pid=123, started_at=timezone.now())


def test_it_reports_the_database_the_broker_and_the_workers() -> None:
    a_worker_is_running()
    response = Client().get("/healthz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"] == {"ok": True} and body["broker"] == {"ok": True}
    assert body["workers"]["count"] == 1
    assert 0 <= body["workers"]["last_heartbeat_seconds_ago"] < 5
    assert response["Cache-Control"].startswith("max-age=0")


def test_it_stays_200_without_a_worker_and_says_so() -> None:
    WorkerHeartbeat.objects.create(
        name="old@host",
        pid=1,
        started_at=timezone.now(),
        seen_at=timezone.now() - timedelta(minutes=5),
    )
    body = Client().get("/healthz").json()
    assert body["status"] == "ok"
    assert body["workers"]["count"] == 0 and body["workers"]["last_heartbeat_seconds_ago"] > 290


def test_it_answers_503_when_the_broker_cannot_be_reached(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(celery_app.conf, "broker_write_url", f"redis://127.0.0.1:{closed_port()}/0")
    assert not selectors.broker_ok(timeout=1)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json()["broker"] == {"ok": False}
    assert response.json()["status"] == "unavailable"


def test_it_shows_no_team_data_and_needs_no_sign_in(team: Team, owner: User) -> None:
    make_run(team, owner)
    text = Client().get("/healthz").content.decode()
    assert "Alpha" not in text and "alice" not in text and "kaiko" not in text


def test_it_forgets_a_worker_that_stops() -> None:
    a_worker_is_running()
    services.forget_worker(name="w1@host")
    assert selectors.worker_status().count == 0


def test_it_warns_in_the_header_when_no_worker_is_running(owner: User) -> None:
    client = client_for(owner)
    assert 'data-testid="no-worker"' in client.get(reverse("home")).content.decode()
    a_worker_is_running()
    assert 'data-testid="no-worker"' not in client.get(reverse("home")).content.decode()
    assert 'data-testid="no-worker"' not in Client().get(reverse("login")).content.decode()


def test_it_says_on_a_queued_run_that_no_worker_is_running(team: Team, owner: User) -> None:
    run = make_run(team, owner)
    add_attempt(run, published_at=timezone.now())
    client = client_for(owner)
    page = client.get(reverse("runs:detail", args=[run.id])).content.decode()
    assert 'data-testid="no-worker-run"' in page
    assert 'data-testid="unpublished"' not in page
    a_worker_is_running()
    fragment = client.get(reverse("runs:detail", args=[run.id]), HTTP_HX_REQUEST="true")
    assert 'data-testid="no-worker-run"' not in fragment.content.decode()


def test_it_says_when_the_broker_could_not_take_a_run(team: Team, owner: User) -> None:
    run = make_run(team, owner)
    add_attempt(run)  # never published
    client = client_for(owner)
    page = client.get(reverse("runs:detail", args=[run.id])).content.decode()
    assert 'data-testid="unpublished"' in page and "without submitting it again" in page


def test_it_shows_an_interrupted_run_with_send_again(team: Team, owner: User) -> None:
    run = make_run(team, owner, method="POST", status=Run.Status.INTERRUPTED)
    add_attempt(
        run,
        status=Attempt.Status.INTERRUPTED,
        failure_message="The worker stopped while this POST was in flight.",
    )
    client = client_for(owner)
    page = client.get(reverse("runs:detail", args=[run.id])).content.decode()
    assert 'data-testid="interrupted"' in page and "while this POST was in flight" in page
    assert "Send again" in page and reverse("runs:retry", args=[run.id]) in page
    assert "hx-trigger" not in page  # finished: the page stops polling
    response = client.post(reverse("runs:retry", args=[run.id]), {"mode": "now"})
    assert response.status_code == 302
    assert run.attempts.count() == 2
    assert Run.objects.get(pk=run.pk).status == Run.Status.QUEUED
