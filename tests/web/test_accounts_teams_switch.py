"""The current team: kept in the session, switched from the header, checked against the
memberships on every request (a removed membership falls back to another team, or none)."""

import re

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Membership, Team
from apps.accounts.selectors import SESSION_KEY
from apps.runs.models import Run
from tests.support.clients import ClientResponse, client_for
from tests.support.factories import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def both(team: Team, other_team: Team, owner: User) -> User:
    """alice: owner of Alpha (joined first), member of Bravo."""
    Membership.objects.create(user=owner, team=other_team)
    return owner


def switch(client: Client, team: Team, next_url: str = "/") -> ClientResponse:
    return client.post(reverse("accounts:switch_team"), {"team": str(team.id), "next": next_url})


def test_it_starts_in_the_first_team_joined(both: User, team: Team) -> None:
    client = client_for(both)
    assert client.get(reverse("home")).context["team"] == team
    assert client.session[SESSION_KEY] == str(team.id)


def test_it_switches_team_and_shows_that_teams_runs(
    both: User, team: Team, other_team: Team, stranger: User
) -> None:
    make_run(team, both, url="https://alpha.example/")
    make_run(other_team, stranger, url="https://bravo.example/", host="bravo.example")
    client = client_for(both)
    response = switch(client, other_team, "/runs/new/")
    assert response.status_code == 302
    assert response["Location"] == "/runs/new/"
    assert client.session[SESSION_KEY] == str(other_team.id)
    home = client.get(reverse("home"))
    assert home.context["team"] == other_team
    assert [run.host for run in home.context["runs"]] == ["bravo.example"]
    selected = re.search(r'<option value="([^"]+)" selected>', home.content.decode())
    assert selected and selected.group(1) == str(other_team.id)


def test_it_stores_new_runs_in_the_current_team(
    both: User, other_team: Team, django_capture_on_commit_callbacks: object
) -> None:
    client = client_for(both)
    switch(client, other_team)
    data = {"method": "GET", "url": "https://api.example/x", "timeout": "5"}
    assert client.post(reverse("runs:new"), data).status_code == 302
    assert Run.objects.get().team == other_team


def test_it_refuses_a_switch_to_a_team_one_is_not_in(
    team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    client = client_for(owner)
    client.get(reverse("home"))
    response = switch(client, other_team)
    assert response.status_code == 404
    assert client.session[SESSION_KEY] == str(team.id)
    assert client.get(reverse("home")).context["team"] == team


@pytest.mark.parametrize("value", ["", "not-a-uuid", "00000000-0000-0000-0000-000000000000"])
def test_it_answers_404_to_a_switch_to_no_team(owner: User, value: str) -> None:
    response = client_for(owner).post(reverse("accounts:switch_team"), {"team": value})
    assert response.status_code == 404


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/", ""])
def test_it_goes_home_after_a_switch_with_an_unsafe_next(
    both: User, other_team: Team, target: str
) -> None:
    response = switch(client_for(both), other_team, target)
    assert response["Location"] == reverse("home")


def test_it_needs_the_csrf_token_to_switch(both: User, team: Team, other_team: Team) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(both)
    client.get(reverse("home"))
    assert switch(client, other_team).status_code == 403
    assert client.session[SESSION_KEY] == str(team.id)


def test_it_shows_the_switcher_only_with_several_teams(
    both: User, team: Team, teammate: User
) -> None:
    page = client_for(both).get(reverse("home")).content.decode()
    assert 'action="/teams/switch/"' in page
    assert 'name="csrfmiddlewaretoken"' in page
    assert "Alpha</option>" in page and "Bravo</option>" in page
    single = client_for(teammate).get(reverse("home")).content.decode()
    assert 'action="/teams/switch/"' not in single
    assert "Alpha" in single


def test_it_falls_back_to_another_team_when_the_membership_is_removed(
    both: User, team: Team, other_team: Team
) -> None:
    client = client_for(both)
    switch(client, other_team)
    Membership.objects.filter(user=both, team=other_team).delete()
    assert client.get(reverse("home")).context["team"] == team
    assert client.session[SESSION_KEY] == str(team.id)


def test_it_fails_closed_when_the_last_membership_is_removed(
    team: Team, teammate: User, owner: User
) -> None:
    run = make_run(team, owner)
    client = client_for(teammate)
    client.get(reverse("home"))
    Membership.objects.filter(user=teammate).delete()
    home = client.get(reverse("home"))
    assert home.context["team"] is None
    assert home.context["runs"] == []
    assert SESSION_KEY not in client.session
    assert client.get(reverse("runs:detail", args=[run.id])).status_code == 404
    data = {"method": "GET", "url": "https://api.example/x", "timeout": "5"}
    refused = client.post(reverse("runs:new"), data)
    assert "not a member of any team" in refused.content.decode()
    assert Run.objects.count() == 1


def test_it_ignores_a_session_naming_a_team_one_is_not_in(
    team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    """A forged or stale session value is checked, not trusted."""
    make_run(other_team, stranger, host="bravo.example")
    client = client_for(owner)
    session = client.session
    session[SESSION_KEY] = str(other_team.id)
    session.save()
    home = client.get(reverse("home"))
    assert home.context["team"] == team
    assert list(home.context["runs"]) == []


def test_it_keeps_runs_of_the_other_team_reachable_by_url(
    both: User, other_team: Team, stranger: User
) -> None:
    run = make_run(other_team, stranger)
    client = client_for(both)
    assert client.get(reverse("home")).context["team"] != other_team
    assert client.get(reverse("runs:detail", args=[run.id])).status_code == 200


@pytest.mark.parametrize(
    "next_url",
    ["evil", "on", "-1", "%00", "\x00", "/\x00x", "//evil.example/", "https://evil.example/", ""],
)
def test_it_goes_home_when_next_is_not_a_path_of_this_site(
    both: User, other_team: Team, next_url: str
) -> None:
    client = client_for(both)
    response = switch(client, other_team, next_url)
    assert response.status_code == 302
    assert response["Location"] == reverse("home")
    assert client.session[SESSION_KEY] == str(other_team.id)
