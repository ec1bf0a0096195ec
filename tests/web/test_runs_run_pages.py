"""The run pages: submit form, run page and its htmx fragment, access for every kind of user."""

import re
import uuid
from urllib.parse import urlencode

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from apps.accounts.models import Team
from apps.runs import secrets
from apps.runs.models import Attempt, Run
from apps.sandbox.state import team_scope
from tests.support.clients import client_for
from tests.support.factories import add_attempt, finished_run, make_run

pytestmark = pytest.mark.django_db

VALID = {
    "method": "GET",
    "url": "http://127.0.0.1:8000/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades",
    "params": "page_size=10",
    "headers": "Accept: application/json",
    "body": "",
    "api_key": "sandbox-demo-key",
    "timeout": "10",
    "profile": "",
}


@pytest.mark.parametrize("name", ["home", "runs:new"])
def test_it_sends_anonymous_users_to_sign_in(name: str) -> None:
    response = Client().get(reverse(name))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_sends_anonymous_users_to_sign_in_from_a_run(team: Team, owner: User) -> None:
    run = make_run(team, owner)
    for headers in ({}, {"HX-Request": "true"}):
        response = Client().get(reverse("runs:detail", args=[run.id]), headers=headers)
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))


@pytest.mark.parametrize("who", ["owner", "teammate"])
def test_it_shows_a_run_to_its_team(who: str, team: Team, owner: User, teammate: User) -> None:
    run = make_run(team, owner)
    client = client_for({"owner": owner, "teammate": teammate}[who])
    page = client.get(reverse("runs:detail", args=[run.id]))
    assert page.status_code == 200
    assert b"us.market-api.kaiko.io" in page.content
    fragment = client.get(reverse("runs:detail", args=[run.id]), headers={"HX-Request": "true"})
    assert fragment.status_code == 200
    assert b'id="run-result"' in fragment.content
    assert b"<html" not in fragment.content


def test_it_answers_404_to_other_teams_for_page_and_fragment(
    team: Team, owner: User, stranger: User
) -> None:
    run = make_run(team, owner)
    client = client_for(stranger)
    assert client.get(reverse("runs:detail", args=[run.id])).status_code == 404
    fragment = client.get(reverse("runs:detail", args=[run.id]), headers={"HX-Request": "true"})
    assert fragment.status_code == 404


def test_it_answers_404_for_an_unknown_run(owner: User) -> None:
    response = client_for(owner).get(reverse("runs:detail", args=[uuid.uuid4()]))
    assert response.status_code == 404


def test_it_polls_while_queued_and_stops_once_done(team: Team, owner: User) -> None:
    run = make_run(team, owner)
    attempt = add_attempt(run)
    client = client_for(owner)
    url = reverse("runs:detail", args=[run.id])
    queued = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert 'hx-trigger="every' in queued and "Queued" in queued
    Attempt.objects.filter(pk=attempt.pk).update(
        status=Attempt.Status.DONE,
        outcome=Run.Outcome.RESPONSE,
        response_status=200,
        response_reason="OK",
        response_headers=[["Content-Type", "application/json"]],
        response_body='{"result":"success","data":[1,2]}',
        response_body_bytes=33,
        duration_ms=12.5,
    )
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE)
    done = client.get(url, headers={"HX-Request": "true"}).content.decode()
    assert "hx-trigger" not in done
    # Pretty-printed, escaped, and highlighted by classes (no inline style).
    assert '<span class="nt">&quot;result&quot;</span>' in done
    assert '<span class="s2">&quot;success&quot;</span>' in done


def test_it_escapes_response_bodies(team: Team, owner: User) -> None:
    run = finished_run(
        team,
        owner,
        response_status=502,
        response_headers=[["Content-Type", "text/html"]],
        response_body="<script>alert(1)</script><h1>Bad gateway</h1>",
        response_body_bytes=40,
    )
    page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    assert "<script>alert(1)</script>" not in page
    viewer = page[page.index('<ol class="code hl"') : page.index("</ol>")]
    # Highlighted as HTML source: tokens in classed spans, every character escaped.
    assert '<span class="nt">script</span>' in viewer
    text = re.sub(r"</?(span|li)[^>]*>", "", viewer.split(">", 1)[1])
    assert text == "&lt;script&gt;alert(1)&lt;/script&gt;&lt;h1&gt;Bad gateway&lt;/h1&gt;"


def test_it_lists_only_the_teams_runs_on_home(
    team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    mine = make_run(team, owner, url="https://mine.example/")
    theirs = make_run(other_team, stranger, url="https://theirs.example/")
    page = client_for(owner).get(reverse("home")).content.decode()
    assert str(mine.id) in page
    assert str(theirs.id) not in page


def test_it_fills_the_form_from_a_preset(owner: User, team: Team) -> None:
    page = client_for(owner).get(reverse("runs:new"), {"preset": "sandbox-no-key"}).content.decode()
    # The team's own sandbox: its maintenance switch and rate limits are the team's.
    base = f"http://testserver/sandbox/t/{team_scope(team.id)}"
    assert f"{base}/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd" in page


def test_it_hides_the_sandbox_presets_when_the_sandbox_is_off(
    owner: User, settings: object
) -> None:
    settings.SANDBOX_ENABLED = False  # type: ignore[attr-defined]
    client = client_for(owner)
    page = client.get(reverse("runs:new")).content.decode()
    assert "sandbox-no-key" not in page and "/sandbox" not in page
    assert "kaiko-" in page  # the real hosts' presets stay
    page = client.get(reverse("runs:new"), {"preset": "sandbox-no-key"}).content.decode()
    assert "That preset does not exist" in page and "/sandbox" not in page


def test_it_stores_a_valid_submission_with_the_key_encrypted_and_redirects(
    owner: User, team: Team, django_capture_on_commit_callbacks: object
) -> None:
    with django_capture_on_commit_callbacks() as callbacks:  # type: ignore[operator]
        response = client_for(owner).post(
            reverse("runs:new"),
            {**VALID, "headers": "Accept: application/json\nAuthorization: Bearer tok-987"},
        )
    run = Run.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("runs:detail", args=[run.id])
    assert run.team == team and run.status == Run.Status.QUEUED
    assert run.host == "127.0.0.1"
    assert [a.status for a in run.attempts.all()] == [Attempt.Status.QUEUED]
    assert len(callbacks) == 1  # the attempt is enqueued once the rows are committed
    assert ["Authorization", "[redacted]"] in run.request_headers
    assert run.has_api_key
    stored = secrets.decrypt(run.secrets_encrypted)
    assert stored.api_key == "sandbox-demo-key"
    assert stored.headers == [("Authorization", "Bearer tok-987")]
    row = Run.objects.filter(pk=run.pk).values().get()
    for column, value in row.items():
        if column != "secrets_encrypted":
            assert "sandbox-demo-key" not in str(value), column
            assert "tok-987" not in str(value), column


def test_a_submission_is_one_transaction_without_savepoints_inside(owner: User) -> None:
    # Every form post goes through here: the session, the user and the team are read, then
    # the run and its attempt are written in one transaction (in a test, itself a savepoint).
    client = client_for(owner)
    client.get(reverse("runs:new"))  # the session remembers the team
    with CaptureQueriesContext(connection) as queries:
        response = client.post(reverse("runs:new"), VALID)
    assert response.status_code == 302
    statements = [query["sql"].split()[0].upper() for query in queries.captured_queries]
    assert statements.count("SAVEPOINT") == 1, statements
    assert statements.count("INSERT") == 2, statements
    assert len(statements) == 7, statements  # 3 reads, the transaction, 2 inserts


@pytest.mark.parametrize(
    ("change", "field", "message"),
    [
        ({"url": "not a url"}, "url", "spaces"),
        ({"url": "ftp://example.com/"}, "url", "Only http and https"),
        ({"url": ""}, "url", "required"),
        ({"method": "BREW"}, "method", "valid choice"),
        ({"headers": "Accept application/json"}, "headers", "Line 1 is not a header"),
        ({"headers": "Bad Name: x"}, "headers", "not a valid header name"),
        ({"headers": "Host: evil.example"}, "headers", "set by the HTTP client"),
        ({"params": "novalue"}, "params", "Line 1 is not a parameter"),
        (
            {"method": "POST", "headers": "Content-Type: application/json", "body": "{nope"},
            "body",
            "not valid JSON",
        ),
        ({"timeout": "0"}, "timeout", "greater than or equal"),
        ({"timeout": "600"}, "timeout", "less than or equal"),
        # Issue 13, rows 1 and 8: each was a 500 or a failed run, not a message.
        (
            {
                "method": "POST",
                "headers": "Content-Type: application/json",
                "body": "[" * 1000 + "]" * 1000,
            },
            "body",
            "nested more than 64 levels deep",
        ),
        ({"headers": "X-A: \U0001f600"}, "headers", "value of X-A contains “\U0001f600”"),
        ({"headers": "X-A: a\x7fb"}, "headers", "value of X-A contains a control character"),
        (
            {"method": "POST", "body": "x" * (256 * 1024 + 1)},
            "body",
            "larger than the limit of 256 KiB (262,144 characters)",
        ),
    ],
)
def test_it_explains_bad_input_at_the_field_and_keeps_what_was_typed(
    owner: User, change: dict[str, str], field: str, message: str
) -> None:
    data = {**VALID, **change}
    response = client_for(owner).post(reverse("runs:new"), data)
    assert response.status_code == 200
    form = response.context["form"]
    assert field in form.errors
    assert message in " ".join(form.errors[field])
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page
    assert "sandbox-demo-key" in page  # the key typed is still in its (masked) field
    assert Run.objects.count() == 0


def test_it_shows_a_run_whose_worker_stopped_with_its_state(team: Team, owner: User) -> None:
    from datetime import timedelta

    from django.utils import timezone

    long_ago = timezone.now() - timedelta(minutes=10)
    run = make_run(team, owner, status=Run.Status.RUNNING)
    add_attempt(run, status=Attempt.Status.RUNNING, started_at=long_ago)
    page = client_for(owner).get(reverse("runs:detail", args=[run.id])).content.decode()
    assert "Running" in page
    assert "longer than its timeout" in page
    queued = make_run(team, owner)
    attempt = add_attempt(queued)
    Attempt.objects.filter(pk=attempt.pk).update(created_at=long_ago)
    page = client_for(owner).get(reverse("runs:detail", args=[queued.id])).content.decode()
    assert "No worker has taken this run yet" in page


def test_it_explains_a_body_far_over_the_limit_at_its_field_and_keeps_the_rest(
    owner: User,
) -> None:
    """Issue 13, row 8: a 10 MB body was a bare 400 before any view ran."""
    data = {**VALID, "method": "POST", "body": "x" * (10 * 1024 * 1024)}
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner)
    token = client.get(reverse("runs:new")).context["csrf_token"]
    response = client.post(
        reverse("runs:new"),
        urlencode({**data, "csrfmiddlewaretoken": str(token)}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert "larger than the limit of 256 KiB" in " ".join(form.errors["body"])
    assert set(form.errors) == {"body"}
    assert form.data["url"] == VALID["url"]
    assert Run.objects.count() == 0


def test_it_refuses_a_form_post_larger_than_any_form_takes(owner: User) -> None:
    response = client_for(owner).post(
        reverse("runs:new"),
        b"body=" + b"x" * (64 * 1024 * 1024),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 413
    assert b"larger than 64 MiB" in response.content
