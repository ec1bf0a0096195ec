"""Owners remove members and change roles; members leave. A team always keeps an owner."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Membership, Team
from apps.runs.models import Run
from tests.support.clients import client_for
from tests.support.factories import make_run

pytestmark = pytest.mark.django_db


def membership(user: User, team: Team) -> Membership:
    return Membership.objects.get(user=user, team=team)


def messages_of(client: Client, team: Team) -> str:
    return client.get(reverse("accounts:team", args=[team.id])).content.decode()


def test_it_lets_an_owner_remove_a_member_whose_runs_stay(
    team: Team, owner: User, teammate: User
) -> None:
    run = make_run(team, teammate)
    url = reverse("accounts:remove_member", args=[team.id, membership(teammate, team).pk])
    response = client_for(owner).post(url)
    assert response.status_code == 302
    assert not Membership.objects.filter(user=teammate, team=team).exists()
    assert Run.objects.filter(pk=run.pk, team=team).exists()
    removed = client_for(teammate)
    assert removed.get(reverse("accounts:team", args=[team.id])).status_code == 404
    assert removed.get(reverse("runs:detail", args=[run.id])).status_code == 404


def test_it_refuses_to_remove_the_last_owner(team: Team, owner: User, teammate: User) -> None:
    client = client_for(owner)
    url = reverse("accounts:remove_member", args=[team.id, membership(owner, team).pk])
    assert client.post(url).status_code == 302
    assert membership(owner, team).role == Membership.Role.OWNER
    assert "A team needs an owner" in messages_of(client, team)


def test_it_lets_an_owner_remove_themselves_when_another_owner_remains(
    team: Team, owner: User, teammate: User
) -> None:
    Membership.objects.filter(user=teammate).update(role=Membership.Role.OWNER)
    url = reverse("accounts:remove_member", args=[team.id, membership(owner, team).pk])
    response = client_for(owner).post(url)
    assert response["Location"] == reverse("accounts:teams")
    assert not Membership.objects.filter(user=owner, team=team).exists()


def test_it_lets_an_owner_promote_and_demote(team: Team, owner: User, teammate: User) -> None:
    client = client_for(owner)
    url = reverse("accounts:change_role", args=[team.id, membership(teammate, team).pk])
    client.post(url, {"role": "owner"})
    assert membership(teammate, team).role == Membership.Role.OWNER
    client.post(url, {"role": "member"})
    assert membership(teammate, team).role == Membership.Role.MEMBER


def test_it_refuses_to_demote_the_last_owner(team: Team, owner: User) -> None:
    client = client_for(owner)
    url = reverse("accounts:change_role", args=[team.id, membership(owner, team).pk])
    client.post(url, {"role": "member"})
    assert membership(owner, team).role == Membership.Role.OWNER
    assert "A team needs an owner" in messages_of(client, team)


def test_it_refuses_an_unknown_role(team: Team, owner: User, teammate: User) -> None:
    client = client_for(owner)
    url = reverse("accounts:change_role", args=[team.id, membership(teammate, team).pk])
    client.post(url, {"role": "admin"})
    assert membership(teammate, team).role == Membership.Role.MEMBER
    assert "not one of the available choices" in messages_of(client, team)


def test_it_answers_404_for_a_member_that_is_not_in_the_team(team: Team, owner: User) -> None:
    url = reverse("accounts:remove_member", args=[team.id, 999999])
    assert client_for(owner).post(url).status_code == 404


def test_it_lets_a_member_leave(team: Team, owner: User, teammate: User) -> None:
    client = client_for(teammate)
    response = client.post(reverse("accounts:leave_team", args=[team.id]))
    assert response["Location"] == reverse("accounts:teams")
    assert not Membership.objects.filter(user=teammate, team=team).exists()
    assert client.get(reverse("home")).context["team"] is None


def test_it_refuses_to_let_the_last_owner_leave(team: Team, owner: User, teammate: User) -> None:
    client = client_for(owner)
    response = client.post(reverse("accounts:leave_team", args=[team.id]))
    assert response["Location"] == reverse("accounts:team", args=[team.id])
    assert membership(owner, team).role == Membership.Role.OWNER
    assert "A team needs an owner" in messages_of(client, team)
