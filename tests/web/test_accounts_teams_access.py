"""The access matrix of every URL that takes a team, a member, or an invite: owner, teammate,
member of another team, anonymous.

Outsiders get 404 (as if the team did not exist); a teammate trying an owner's action gets
403; anonymous users are sent to sign in.
"""

import uuid
from dataclasses import dataclass
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts import services
from apps.accounts.models import Invite, Membership, Team
from tests.support.clients import ClientResponse, client_for

pytestmark = pytest.mark.django_db
WEEK = timedelta(days=7)


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    # expected status for: owner, teammate, stranger
    owner: int
    teammate: int
    stranger: int


CASES = [
    Case("accounts:team", "get", 200, 200, 404),
    Case("accounts:leave_team", "post", 302, 302, 404),
    Case("accounts:create_invite", "post", 200, 403, 404),
    Case("accounts:revoke_invite", "post", 302, 403, 404),
    Case("accounts:remove_member", "post", 302, 403, 404),
    Case("accounts:change_role", "post", 302, 403, 404),
    Case("accounts:switch_team", "post", 302, 302, 404),
]


@pytest.fixture
def invite(team: Team, owner: User) -> Invite:
    return services.create_invite(team=team, created_by=owner, lifetime=WEEK)[0]


def _request(
    client: Client, case: Case, team: Team, teammate: User, invite: Invite
) -> ClientResponse:
    membership = Membership.objects.get(team=team, user=teammate)
    routes: dict[str, list[object]] = {
        "accounts:team": [team.id],
        "accounts:leave_team": [team.id],
        "accounts:create_invite": [team.id],
        "accounts:revoke_invite": [team.id, invite.id],
        "accounts:remove_member": [team.id, membership.pk],
        "accounts:change_role": [team.id, membership.pk],
        "accounts:switch_team": [],
    }
    args = routes[case.name]
    data = {
        "accounts:create_invite": {"lifetime": "7"},
        "accounts:change_role": {"role": "owner"},
        "accounts:switch_team": {"team": str(team.id)},
    }.get(case.name, {})
    url = reverse(case.name, args=args)
    if case.method == "get":
        return client.get(url)
    return client.post(url, data)


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
@pytest.mark.parametrize("who", ["owner", "teammate", "stranger", "anonymous"])
def test_it_answers_each_kind_of_user(
    case: Case,
    who: str,
    team: Team,
    owner: User,
    teammate: User,
    stranger: User,
    invite: Invite,
) -> None:
    client = client_for({"owner": owner, "teammate": teammate, "stranger": stranger}.get(who))
    response = _request(client, case, team, teammate, invite)
    if who == "anonymous":
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("login"))
        return
    assert response.status_code == getattr(case, who)


@pytest.mark.parametrize("case", CASES[1:6], ids=lambda case: case.name)
def test_it_changes_nothing_for_outsiders_and_teammates_without_the_right(
    case: Case, team: Team, owner: User, teammate: User, stranger: User, invite: Invite
) -> None:
    before = sorted(Membership.objects.values_list("team_id", "user_id", "role"))
    for user in (stranger, teammate):
        if case.name == "accounts:leave_team" and user == teammate:
            continue  # a teammate may leave
        client = client_for(user)
        _request(client, case, team, teammate, invite)
    assert sorted(Membership.objects.values_list("team_id", "user_id", "role")) == before
    invite.refresh_from_db()
    assert invite.revoked_at is None
    assert Invite.objects.count() == 1


def test_it_answers_404_for_another_teams_member_or_invite_under_ones_own_team(
    team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    """An owner cannot reach another team's rows by putting their ids under their own team."""
    their_invite, _ = services.create_invite(team=other_team, created_by=stranger, lifetime=WEEK)
    their_membership = Membership.objects.get(team=other_team, user=stranger)
    client = client_for(owner)
    revoke = reverse("accounts:revoke_invite", args=[team.id, their_invite.id])
    remove = reverse("accounts:remove_member", args=[team.id, their_membership.pk])
    role = reverse("accounts:change_role", args=[team.id, their_membership.pk])
    assert client.post(revoke).status_code == 404
    assert client.post(remove).status_code == 404
    assert client.post(role, {"role": "member"}).status_code == 404
    their_invite.refresh_from_db()
    assert their_invite.revoked_at is None
    assert Membership.objects.filter(pk=their_membership.pk, role="owner").exists()


def test_it_answers_404_for_a_team_that_does_not_exist(owner: User) -> None:
    client = client_for(owner)
    assert client.get(reverse("accounts:team", args=[uuid.uuid4()])).status_code == 404


@pytest.mark.parametrize("method", ["get", "post"])
def test_an_invite_link_that_opens_nothing_answers_404_to_anonymous_users_too(
    method: str, invite: Invite
) -> None:
    url = reverse("accounts:join", args=["x" * 43])
    response = getattr(Client(), method)(url)
    assert response.status_code == 404


def test_it_refuses_get_on_the_post_only_urls(team: Team, owner: User) -> None:
    client = client_for(owner)
    for name in ("accounts:leave_team", "accounts:create_invite"):
        assert client.get(reverse(name, args=[team.id])).status_code == 405
    assert client.get(reverse("accounts:switch_team")).status_code == 405
    assert client.get(reverse("accounts:create_team")).status_code == 405
