"""The log's live fragment: runs newer than the page's newest row come in at the top, once;
unfinished rows are refreshed until they are done; the poller carries filters and state."""

import html
import re
from datetime import timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Membership, Team
from apps.runs import selectors
from apps.runs.models import Run
from tests.support.factories import finished_run, make_run

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}
ROW = re.compile(r'<tr id="run-([0-9a-f-]{36})"')


def poller_url(page: str) -> str:
    found = re.search(r'<div id="log-live"[^>]* hx-get="([^"]+)" hx-trigger="every 5s"', page)
    assert found, "no live poller on the page"
    return html.unescape(found.group(1))


def poll(client: Client, url: str) -> tuple[str, str]:
    """The fragment's HTML and the poller URL it comes back with."""
    response = client.get(url, headers=HTMX)
    assert response.status_code == 200
    body = response.content.decode()
    return body, poller_url(body)


def later(run: Run, seconds: int) -> Run:
    Run.objects.filter(pk=run.pk).update(created_at=timezone.now() + timedelta(seconds=seconds))
    run.refresh_from_db()
    return run


def test_it_polls_on_the_first_page_only_with_the_filters_and_the_newest_row(
    team: Team, owner: User, owner_client: Client
) -> None:
    runs = [finished_run(team, owner) for _ in range(selectors.LOG_PAGE_SIZE + 1)]
    newest = max(runs, key=lambda run: (run.created_at, run.id))
    page = owner_client.get(reverse("home"), {"class": "2xx"})
    url = poller_url(page.content.decode())
    params = parse_qs(urlsplit(url).query)
    assert params["class"] == ["2xx"]
    assert params["team"] == [str(team.id)]
    assert "pending" not in params  # every row is done
    assert selectors.Cursor.decode(params["after"][0]).id == newest.id  # type: ignore[union-attr]
    older = page.context["older_query"].urlencode()
    assert 'id="log-live"' not in owner_client.get(f"/?{older}").content.decode()


def test_it_brings_each_new_run_once_at_the_top(
    team: Team, owner: User, owner_client: Client
) -> None:
    shown = make_run(team, owner)
    url = poller_url(owner_client.get(reverse("home")).content.decode())
    body, url = poll(owner_client, url)
    assert ROW.findall(body) == [str(shown.id)]  # the shown row is pending: refreshed only
    assert 'hx-swap-oob="afterbegin:#log-rows"' not in body

    first = later(make_run(team, owner, url="https://a.example/one"), 1)
    second = later(make_run(team, owner, url="https://a.example/two"), 2)
    body, url = poll(owner_client, url)
    inserted = body.split('hx-swap-oob="afterbegin:#log-rows">', 1)[1].split("</tbody>", 1)[0]
    assert ROW.findall(inserted) == [str(second.id), str(first.id)]  # newest first
    assert 'id="log-empty"' not in body  # the page showed a run: it has no "no runs" row

    body, url = poll(owner_client, url)
    assert 'hx-swap-oob="afterbegin:#log-rows"' not in body  # nothing new: nothing repeated
    pending = parse_qs(urlsplit(url).query)["pending"][0].split(",")
    assert set(pending) == {str(shown.id), str(first.id), str(second.id)}


def test_it_refreshes_unfinished_rows_until_they_are_done(
    team: Team, owner: User, owner_client: Client
) -> None:
    run = make_run(team, owner)
    url = poller_url(owner_client.get(reverse("home")).content.decode())
    assert parse_qs(urlsplit(url).query)["pending"] == [str(run.id)]
    Run.objects.filter(pk=run.pk).update(status=Run.Status.RUNNING)
    body, url = poll(owner_client, url)
    assert (
        f'<tr id="run-{run.id}" class="log-row" data-status="running" hx-swap-oob="true">' in body
    )
    Run.objects.filter(pk=run.pk).update(
        status=Run.Status.DONE, outcome=Run.Outcome.RESPONSE, response_status=404
    )
    body, url = poll(owner_client, url)
    assert 'data-status="done" hx-swap-oob="true">' in body
    assert '<span class="badge warning">404</span>' in body
    assert "pending" not in parse_qs(urlsplit(url).query)
    body, url = poll(owner_client, url)
    assert ROW.findall(body) == []


def test_it_brings_only_new_runs_that_match_the_filters(
    team: Team, owner: User, teammate: User, owner_client: Client
) -> None:
    finished_run(team, owner)
    url = poller_url(owner_client.get(reverse("home"), {"member": "alice"}).content.decode())
    theirs = later(make_run(team, teammate), 1)
    mine = later(make_run(team, owner), 2)
    body, _ = poll(owner_client, url)
    assert str(mine.id) in body
    assert str(theirs.id) not in body


def test_it_catches_up_without_a_gap_when_many_runs_came(
    team: Team, owner: User, owner_client: Client
) -> None:
    finished_run(team, owner)
    url = poller_url(owner_client.get(reverse("home")).content.decode())
    count = selectors.LOG_PAGE_SIZE + 3
    made = [later(finished_run(team, owner), index + 1) for index in range(count)]
    first, url = poll(owner_client, url)
    second, url = poll(owner_client, url)
    seen = ROW.findall(first) + ROW.findall(second)
    assert len(seen) == count
    assert set(seen) == {str(run.id) for run in made}
    # The first poll brought the oldest of them, the second the newest three.
    assert ROW.findall(second) == [str(run.id) for run in reversed(made[-3:])]


def test_it_answers_a_bad_position_with_nothing_new_rather_than_an_error(
    team: Team, owner: User, owner_client: Client
) -> None:
    make_run(team, owner)
    query = {"team": str(team.id), "after": "not-a-cursor", "pending": "nope,also-not"}
    body, url = poll(
        owner_client, f"{reverse('home')}?{'&'.join(f'{k}={v}' for k, v in query.items())}"
    )
    assert ROW.findall(body) == []
    assert "after=" in url


def test_it_stops_when_the_current_team_changed_in_another_tab(
    team: Team, other_team: Team, owner: User, owner_client: Client
) -> None:
    Membership.objects.create(user=owner, team=other_team, role=Membership.Role.MEMBER)
    make_run(team, owner)
    make_run(other_team, owner, url="https://bravo.example/")
    url = poller_url(owner_client.get(reverse("home")).content.decode())
    owner_client.post(reverse("accounts:switch_team"), {"team": str(other_team.id)})
    response = owner_client.get(url, headers=HTMX)
    assert response.status_code == 286
    assert "The current team changed" in response.content.decode()
    assert "bravo.example" not in response.content.decode()


def test_it_removes_the_no_runs_row_once_when_the_first_run_arrives(
    team: Team, owner: User, owner_client: Client
) -> None:
    make_run(team, owner, url="https://a.example/other")  # the team has runs, none match
    page = owner_client.get(reverse("home"), {"q": "wanted"}).content.decode()
    assert 'id="log-empty"' in page
    url = poller_url(page)
    body, url = poll(owner_client, url)
    assert 'id="log-empty"' not in body  # nothing new yet: the row stays

    later(make_run(team, owner, url="https://a.example/wanted"), 1)
    body, url = poll(owner_client, url)
    assert 'id="log-empty" hx-swap-oob="delete"' in body
    assert "empty" not in parse_qs(urlsplit(url).query)
    body, url = poll(owner_client, url)
    assert 'id="log-empty"' not in body  # removed once: never again
