"""A team's page: members with roles; owners also see invites and member actions."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.accounts import services
from apps.accounts.forms import INVITE_LIFETIMES
from apps.accounts.models import Membership, Team
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db


def test_it_lists_the_members_with_their_roles(team: Team, owner: User, teammate: User) -> None:
    response = client_for(teammate).get(reverse("accounts:team", args=[team.id]))
    members = list(response.context["members"])
    assert [(m.user.username, m.role) for m in members] == [("alice", "owner"), ("bob", "member")]
    page = response.content.decode()
    assert "alice" in page and "bob" in page and "(you)" in page


def test_it_shows_owners_the_invites_and_member_actions(team: Team, owner: User) -> None:
    week = INVITE_LIFETIMES["7"][1]
    services.create_invite(team=team, created_by=owner, lifetime=week)
    response = client_for(owner).get(reverse("accounts:team", args=[team.id]))
    page = response.content.decode()
    assert "Create invite link" in page
    assert "Pending invites" in page
    assert len(response.context["invites"]) == 1
    assert "Revoke" in page


def test_it_hides_owner_actions_from_members(team: Team, owner: User, teammate: User) -> None:
    services.create_invite(team=team, created_by=owner, lifetime=INVITE_LIFETIMES["7"][1])
    response = client_for(teammate).get(reverse("accounts:team", args=[team.id]))
    page = response.content.decode()
    assert "invites" not in response.context
    assert "Create invite link" not in page
    assert "Revoke" not in page
    assert "Make owner" not in page and "Remove" not in page
    assert "Leave Alpha" in page


def test_it_tells_the_only_owner_that_they_cannot_leave(team: Team, owner: User) -> None:
    page = client_for(owner).get(reverse("accounts:team", args=[team.id])).content.decode()
    assert "You are the only owner" in page
    assert reverse("accounts:leave_team", args=[team.id]) not in page


def test_it_lets_one_of_two_owners_leave(team: Team, owner: User, teammate: User) -> None:
    Membership.objects.filter(user=teammate).update(role=Membership.Role.OWNER)
    page = client_for(owner).get(reverse("accounts:team", args=[team.id])).content.decode()
    assert reverse("accounts:leave_team", args=[team.id]) in page
    assert "Make member" in page
