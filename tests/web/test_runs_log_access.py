"""Who sees the team log and its live fragment: owner, teammate, member of another team,
anonymous. The log shows the current team's runs only; nothing of another team leaks,
whatever the query string says."""

from collections.abc import Sequence
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Team
from apps.runs.filters import Cursor
from apps.runs.models import Run
from tests.support.clients import client_for
from tests.support.factories import make_run

pytestmark = pytest.mark.django_db
HTMX = {"HX-Request": "true"}


def fragment_query(team: Team, *, after: Run | None = None, pending: Sequence[Run] = ()) -> dict:
    """What the page's poller sends: its team, the newest row shown, the unfinished rows."""
    query = {"team": str(team.id), "pending": ",".join(str(run.id) for run in pending)}
    if after is not None:
        cursor = Cursor(created_at=after.created_at - timedelta(seconds=1), id=after.id)
        query["after"] = cursor.encode()
    return query


@pytest.fixture
def alpha_run(team: Team, owner: User) -> Run:
    return make_run(team, owner, url="https://alpha.example/secret-path", host="alpha.example")


@pytest.mark.parametrize("headers", [{}, HTMX], ids=["page", "fragment"])
def test_it_sends_anonymous_users_to_sign_in(headers: dict, team: Team, alpha_run: Run) -> None:
    response = Client().get(reverse("home"), fragment_query(team, after=alpha_run), headers=headers)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert b"alpha.example" not in response.content


@pytest.mark.parametrize("who", ["owner", "teammate"])
def test_it_shows_the_teams_runs_to_its_members(
    who: str, team: Team, owner: User, teammate: User, alpha_run: Run
) -> None:
    client = client_for({"owner": owner, "teammate": teammate}[who])
    page = client.get(reverse("home"))
    assert page.status_code == 200
    assert [run.id for run in page.context["runs"]] == [alpha_run.id]
    assert str(alpha_run.id) in page.content.decode()

    fragment = client.get(
        reverse("home"), fragment_query(team, after=alpha_run, pending=[alpha_run]), headers=HTMX
    )
    assert fragment.status_code == 200
    html = fragment.content.decode()
    assert "<html" not in html
    assert f'id="run-{alpha_run.id}"' in html  # new since `after`, and refreshed
    assert 'id="log-live"' in html


def test_it_shows_a_member_of_another_team_none_of_the_teams_runs(
    team: Team, other_team: Team, stranger: User, alpha_run: Run
) -> None:
    bravo_run = make_run(other_team, stranger, url="https://bravo.example/", host="bravo.example")
    client = client_for(stranger)
    for query in ({}, {"host": "alpha.example"}, {"q": "secret-path"}, {"member": "alice"}):
        page = client.get(reverse("home"), query)
        assert page.status_code == 200
        html = page.content.decode()
        assert alpha_run not in page.context["runs"]
        assert str(alpha_run.id) not in html
        assert "https://alpha.example/secret-path" not in html  # the value asked is echoed
        if "member" in query:  # not a member of their team: said so, the filter is left out
            assert "No member of this team is called “alice”." in html
        elif query:
            assert "No runs match these filters." in html
    assert [run.id for run in client.get(reverse("home")).context["runs"]] == [bravo_run.id]

    # The fragment asked about the team (its id, its run ids): nothing of it comes back.
    as_alpha = client.get(
        reverse("home"), fragment_query(team, after=alpha_run, pending=[alpha_run]), headers=HTMX
    )
    assert as_alpha.status_code == 286  # the poller stops
    assert "alpha.example" not in as_alpha.content.decode()
    assert str(alpha_run.id) not in as_alpha.content.decode()
    # Their own team's id, with the other team's run ids: only their own runs.
    own = client.get(
        reverse("home"),
        fragment_query(other_team, after=alpha_run, pending=[alpha_run]),
        headers=HTMX,
    )
    assert own.status_code == 200
    html = own.content.decode()
    assert str(alpha_run.id) not in html
    assert "alpha.example" not in html


def test_it_shows_a_user_without_a_team_nothing_and_stops_the_fragment(
    team: Team, alpha_run: Run
) -> None:
    loner = User.objects.create_user(username="loner", password="x-long-password-1")
    client = client_for(loner)
    page = client.get(reverse("home"))
    assert page.status_code == 200
    assert page.context["runs"] == []
    assert "not a member of any team" in page.content.decode()
    fragment = client.get(
        reverse("home"), fragment_query(team, after=alpha_run, pending=[alpha_run]), headers=HTMX
    )
    assert fragment.status_code == 286
    assert fragment.content == b""
