"""Owners create invite links (shown once, only the hash stored), list and revoke them."""

import re
from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from apps.accounts import services
from apps.accounts.models import Invite, Team, hash_invite_token
from tests.support.clients import ClientResponse, client_for

pytestmark = pytest.mark.django_db
LINK = re.compile(r"http://testserver/invites/([A-Za-z0-9_-]{43})/")


def create(client: Client, team: Team, lifetime: str = "7") -> ClientResponse:
    return client.post(reverse("accounts:create_invite", args=[team.id]), {"lifetime": lifetime})


def test_it_shows_the_link_once_and_stores_only_its_hash(team: Team, owner: User) -> None:
    response = create(client_for(owner), team)
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    match = LINK.search(response.content.decode())
    assert match, response.content.decode()
    token = match.group(1)
    invite = Invite.objects.get()
    assert invite.token_hash == hash_invite_token(token)
    assert token not in str(Invite.objects.values().get())
    assert invite.created_by == owner and invite.team == team
    page = client_for(owner).get(reverse("accounts:team", args=[team.id])).content.decode()
    assert token not in page


@pytest.mark.parametrize(("choice", "days"), [("1", 1), ("7", 7), ("30", 30)])
def test_it_sets_the_expiry_from_the_choice(
    team: Team, owner: User, choice: str, days: int
) -> None:
    before = timezone.now()
    create(client_for(owner), team, choice)
    expires_at = Invite.objects.get().expires_at
    assert before + timedelta(days=days) <= expires_at <= timezone.now() + timedelta(days=days)


def test_it_offers_seven_days_by_default(team: Team, owner: User) -> None:
    page = client_for(owner).get(reverse("accounts:team", args=[team.id])).content.decode()
    assert '<option value="7" selected>7 days</option>' in page


def test_it_refuses_an_unknown_lifetime(team: Team, owner: User) -> None:
    response = create(client_for(owner), team, "365")
    assert response.status_code == 302
    assert not Invite.objects.exists()


def test_it_lists_pending_invites_with_creator_and_expiry(
    team: Team, owner: User, teammate: User
) -> None:
    pending, _ = services.create_invite(team=team, created_by=owner, lifetime=timedelta(days=7))
    used, _ = services.create_invite(team=team, created_by=owner, lifetime=timedelta(days=7))
    revoked, _ = services.create_invite(team=team, created_by=owner, lifetime=timedelta(days=7))
    expired, _ = services.create_invite(team=team, created_by=owner, lifetime=timedelta(days=7))
    Invite.objects.filter(pk=used.pk).update(used_at=timezone.now(), used_by=teammate)
    Invite.objects.filter(pk=revoked.pk).update(revoked_at=timezone.now())
    Invite.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = client_for(owner).get(reverse("accounts:team", args=[team.id]))
    assert list(response.context["invites"]) == [pending]
    page = response.content.decode()
    assert pending.expires_at.strftime("%Y-%m-%d %H:%M") in page
    assert reverse("accounts:revoke_invite", args=[team.id, pending.id]) in page


def test_it_revokes_an_invite_so_its_link_answers_404(
    team: Team, owner: User, stranger: User
) -> None:
    invite, token = services.create_invite(team=team, created_by=owner, lifetime=timedelta(days=7))
    client = client_for(owner)
    response = client.post(reverse("accounts:revoke_invite", args=[team.id, invite.id]))
    assert response.status_code == 302
    invite.refresh_from_db()
    assert invite.revoked_at is not None
    assert client_for(stranger).get(reverse("accounts:join", args=[token])).status_code == 404
    again = client.post(reverse("accounts:revoke_invite", args=[team.id, invite.id]))
    assert again.status_code == 404


def test_it_answers_404_to_revoking_a_used_invite(team: Team, owner: User, stranger: User) -> None:
    invite, _ = services.create_invite(team=team, created_by=owner, lifetime=timedelta(days=7))
    services.accept_invite(invite=invite, user=stranger)
    url = reverse("accounts:revoke_invite", args=[team.id, invite.id])
    assert client_for(owner).post(url).status_code == 404
    invite.refresh_from_db()
    assert invite.revoked_at is None
