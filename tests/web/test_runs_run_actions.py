"""Actions on a run: retry now, retry with backoff, cancel, re-authenticate, edit and
re-run, compare; and who may use them."""

import uuid
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.runs import secrets
from apps.runs.models import Attempt, Run
from tests.support.clients import client_for
from tests.support.factories import add_attempt, finished_run, make_run

pytestmark = pytest.mark.django_db

RATE_LIMITED = {
    "code": "kaiko.429", "severity": "warning", "title": "Rate limit reached",
    "profile": "kaiko", "profile_name": "Kaiko market-data API", "retryable": True,
    "retry_after_seconds": 2, "playbooks": ["back-off"],
}  # fmt: skip


def rate_limited_run(team: Team, user: User, method: str = "GET") -> Run:
    return finished_run(
        team, user, run={"method": method}, response_status=429, diagnosis=RATE_LIMITED
    )


def test_it_retries_now_as_a_new_attempt(
    team: Team, owner: User, django_capture_on_commit_callbacks: object
) -> None:
    run = rate_limited_run(team, owner)
    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[operator]
        response = client_for(owner).post(reverse("runs:retry", args=[run.id]), {"mode": "now"})
    assert response.status_code == 302
    run.refresh_from_db()
    assert run.status == Run.Status.QUEUED
    assert [(a.number, a.reason, a.status) for a in run.attempts.all()] == [
        (1, "first", "done"),
        (2, "retry", "queued"),
    ]
    assert len(callbacks) == 1


def test_it_refuses_to_retry_a_run_in_progress(team: Team, owner: User) -> None:
    run = make_run(team, owner)
    add_attempt(run)
    response = client_for(owner).post(
        reverse("runs:retry", args=[run.id]), {"mode": "now"}, follow=True
    )
    assert "still in progress" in response.content.decode()
    assert run.attempts.count() == 1


def test_it_schedules_a_backoff_retry_after_retry_after(team: Team, owner: User) -> None:
    run = rate_limited_run(team, owner)
    before = timezone.now()
    client_for(owner).post(reverse("runs:retry", args=[run.id]), {"mode": "backoff"})
    run.refresh_from_db()
    attempt = run.attempts.get(number=2)
    assert run.status == Run.Status.WAITING and run.retry_policy
    assert attempt.reason == Attempt.Reason.BACKOFF
    assert attempt.not_before is not None
    assert timedelta(seconds=1.5) < attempt.not_before - before < timedelta(seconds=3)
    page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    assert "Waiting 2 s as the server asked" in page
    assert "Cancel pending attempts" in page


def test_it_refuses_backoff_for_a_post(team: Team, owner: User) -> None:
    run = rate_limited_run(team, owner, method="POST")
    page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    assert 'value="backoff"' not in page
    assert "not idempotent" in page
    response = client_for(owner).post(
        reverse("runs:retry", args=[run.id]), {"mode": "backoff"}, follow=True
    )
    assert "not idempotent" in response.content.decode()
    assert run.attempts.count() == 1


def test_it_cancels_pending_attempts(team: Team, owner: User) -> None:
    run = rate_limited_run(team, owner)
    client_for(owner).post(reverse("runs:retry", args=[run.id]), {"mode": "backoff"})
    client_for(owner).post(reverse("runs:cancel_retries", args=[run.id]))
    run.refresh_from_db()
    assert run.status == Run.Status.DONE and run.retry_policy == {}
    assert run.attempts.get(number=2).status == Attempt.Status.CANCELLED


def test_it_reauthenticates_with_a_new_key_as_a_new_run(team: Team, owner: User) -> None:
    run = finished_run(
        team,
        owner,
        run={
            "request_headers": [["Authorization", "[redacted]"], ["Accept", "application/json"]],
            "secrets_encrypted": secrets.encrypt(
                secrets.RunSecrets("old-key-1", headers=[("Authorization", "Bearer tok-1")])
            ),
            "has_api_key": True,
        },
        response_status=401,
    )
    client = client_for(owner)
    assert client.get(reverse("runs:reauthenticate", args=[run.id])).status_code == 200
    response = client.post(reverse("runs:reauthenticate", args=[run.id]), {"api_key": "new-key-2"})
    new = Run.objects.exclude(pk=run.pk).get()
    assert response["Location"] == reverse("runs:detail", args=[new.id])
    assert new.source == run and new.url == run.url
    stored = secrets.decrypt(new.secrets_encrypted)
    assert stored.api_key == "new-key-2"
    assert stored.headers == [("Authorization", "Bearer tok-1")]  # other credentials kept


def test_it_prefills_edit_and_rerun_without_showing_secrets(team: Team, owner: User) -> None:
    run = finished_run(
        team,
        owner,
        run={
            "query": [["interval", "1h"]],
            "request_headers": [["Authorization", "[redacted]"]],
            "secrets_encrypted": secrets.encrypt(
                secrets.RunSecrets("key-abc-1", headers=[("Authorization", "Bearer tok-9")])
            ),
            "has_api_key": True,
        },
    )
    page = client_for(owner).get(reverse("runs:new"), {"from": str(run.id)}).content.decode()
    assert run.url in page and "interval=1h" in page
    assert "Authorization: [redacted]" in page
    assert "key-abc-1" not in page and "tok-9" not in page
    assert "Keep the API key" in page


def test_it_reruns_an_edited_request_keeping_the_key(team: Team, owner: User) -> None:
    run = finished_run(
        team,
        owner,
        run={
            "request_headers": [["Authorization", "[redacted]"]],
            "secrets_encrypted": secrets.encrypt(
                secrets.RunSecrets("key-abc-1", headers=[("Authorization", "Bearer tok-9")])
            ),
            "has_api_key": True,
        },
    )
    data = {
        "source": str(run.id), "method": "GET", "url": run.url + "?page_size=5", "params": "",
        "headers": "Authorization: [redacted]", "body": "", "api_key": "", "timeout": "5",
        "profile": "", "keep_api_key": "on",
    }  # fmt: skip
    response = client_for(owner).post(reverse("runs:new"), data)
    new = Run.objects.exclude(pk=run.pk).get()
    assert response.status_code == 302 and new.source == run
    stored = secrets.decrypt(new.secrets_encrypted)
    assert stored.api_key == "key-abc-1"
    assert stored.headers == [("Authorization", "Bearer tok-9")]


def test_it_compares_two_runs_of_the_same_request(team: Team, owner: User) -> None:
    earlier = finished_run(
        team, owner, response_status=200,
        response_headers=[["Content-Type", "application/json"], ["X-Version", "1"]],
        response_body='{"result": "success", "data": [1]}',
    )  # fmt: skip
    later = finished_run(
        team, owner, response_status=429,
        response_headers=[["Content-Type", "application/json"], ["Retry-After", "3"]],
        response_body='{"result": "error", "message": "Rate limit reached"}',
    )  # fmt: skip
    Run.objects.filter(pk=earlier.pk).update(created_at=timezone.now() - timedelta(minutes=1))
    detail = client_for(owner).get(reverse("runs:detail", args=[later.id])).content.decode()
    compare_url = reverse("runs:compare", args=[later.id, earlier.id])
    assert compare_url in detail
    page = client_for(owner).get(compare_url).content.decode()
    assert "retry-after" in page and "x-version" in page
    assert "changed" in page
    assert "-  &quot;result&quot;: &quot;success&quot;," in page
    assert "+  &quot;result&quot;: &quot;error&quot;," in page


ACTION_URLS = [
    ("post", "runs:retry"),
    ("post", "runs:cancel_retries"),
    ("get", "runs:reauthenticate"),
    ("post", "runs:reauthenticate"),
]


@pytest.mark.parametrize(("method", "name"), ACTION_URLS)
def test_it_answers_404_to_other_teams_for_every_action(
    method: str, name: str, team: Team, owner: User, stranger: User
) -> None:
    run = rate_limited_run(team, owner)
    response = getattr(client_for(stranger), method)(reverse(name, args=[run.id]), {"api_key": "x"})
    assert response.status_code == 404
    assert run.attempts.count() == 1 and Run.objects.count() == 1


@pytest.mark.parametrize(("method", "name"), ACTION_URLS)
def test_it_sends_anonymous_users_to_sign_in_for_every_action(
    method: str, name: str, team: Team, owner: User
) -> None:
    run = rate_limited_run(team, owner)
    response = getattr(Client(), method)(reverse(name, args=[run.id]))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_answers_404_to_other_teams_for_compare_and_rerun(
    team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    mine = rate_limited_run(team, owner)
    theirs = rate_limited_run(other_team, stranger)
    client = client_for(owner)
    assert client.get(reverse("runs:compare", args=[mine.id, theirs.id])).status_code == 404
    assert client.get(reverse("runs:compare", args=[theirs.id, mine.id])).status_code == 404
    assert client.get(reverse("runs:new"), {"from": str(theirs.id)}).status_code == 404
    data = {"source": str(theirs.id), "method": "GET", "url": "https://a.example/", "timeout": "5"}
    assert client.post(reverse("runs:new"), data).status_code == 404
    assert client.get(reverse("runs:new"), {"from": str(uuid.uuid4())}).status_code == 404


@pytest.mark.parametrize("name", ["runs:retry", "runs:cancel_retries"])
def test_it_refuses_get_on_actions_that_change_things(name: str, team: Team, owner: User) -> None:
    run = rate_limited_run(team, owner)
    assert client_for(owner).get(reverse(name, args=[run.id])).status_code == 405
