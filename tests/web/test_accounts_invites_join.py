"""Joining a team by invite link: sign in first, see the team, Join (POST). Single-use,
expiring, revocable; every link that does not open a usable invite answers the same 404."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.http import Http404
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import timezone

from apps.accounts import services
from apps.accounts.models import Invite, Membership, Team
from apps.accounts.selectors import SESSION_KEY
from tests.conftest import PASSWORD
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db
WEEK = timedelta(days=7)


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # rate-limit counters


@pytest.fixture
def invite_and_token(team: Team, owner: User) -> tuple[Invite, str]:
    return services.create_invite(team=team, created_by=owner, lifetime=WEEK)


def join_url(token: str) -> str:
    return reverse("accounts:join", args=[token])


def test_it_shows_the_team_and_a_join_button(
    invite_and_token: tuple[Invite, str], stranger: User
) -> None:
    _, token = invite_and_token
    response = client_for(stranger).get(join_url(token))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Join Alpha" in page
    assert "alice invited you" in page
    assert 'method="post"' in page and "csrfmiddlewaretoken" in page
    assert not Membership.objects.filter(user=stranger, team__name="Alpha").exists()


def test_it_adds_the_membership_uses_the_invite_and_switches_team(
    invite_and_token: tuple[Invite, str], team: Team, stranger: User
) -> None:
    invite, token = invite_and_token
    client = client_for(stranger)
    response = client.post(join_url(token))
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:team", args=[team.id])
    joined = Membership.objects.get(user=stranger, team=team)
    assert joined.role == Membership.Role.MEMBER
    invite.refresh_from_db()
    assert invite.used_by == stranger and invite.used_at is not None
    assert client.session[SESSION_KEY] == str(team.id)
    assert client.get(reverse("home")).context["team"] == team


def test_it_can_be_used_once_only(
    invite_and_token: tuple[Invite, str], team: Team, stranger: User
) -> None:
    _, token = invite_and_token
    client_for(stranger).post(join_url(token))
    latecomer = User.objects.create_user("latecomer")
    client = client_for(latecomer)
    assert client.get(join_url(token)).status_code == 404
    assert client.post(join_url(token)).status_code == 404
    assert not Membership.objects.filter(user=latecomer).exists()


def test_it_leaves_the_invite_unused_for_someone_already_in_the_team(
    invite_and_token: tuple[Invite, str], team: Team, teammate: User
) -> None:
    invite, token = invite_and_token
    client = client_for(teammate)
    assert "already a member" in client.get(join_url(token)).content.decode()
    response = client.post(join_url(token))
    assert response["Location"] == reverse("accounts:team", args=[team.id])
    invite.refresh_from_db()
    assert invite.used_at is None
    assert Membership.objects.filter(user=teammate).count() == 1


def test_it_answers_the_same_404_for_unknown_expired_used_and_revoked_links(
    team: Team, owner: User, teammate: User, stranger: User
) -> None:
    def fresh() -> tuple[Invite, str]:
        return services.create_invite(team=team, created_by=owner, lifetime=WEEK)

    expired, expired_token = fresh()
    Invite.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    used, used_token = fresh()
    Invite.objects.filter(pk=used.pk).update(used_at=timezone.now(), used_by=teammate)
    revoked, revoked_token = fresh()
    services.revoke_invite(invite=revoked)
    client = client_for(stranger)
    tokens = ["A" * 43, "short", expired_token, used_token, revoked_token]
    responses = [client.get(join_url(token)) for token in tokens]
    responses += [client.post(join_url(token)) for token in tokens]
    assert {response.status_code for response in responses} == {404}
    assert len({response.content for response in responses}) == 1
    assert not Membership.objects.filter(user=stranger, team=team).exists()


def test_it_refuses_an_invite_that_expires_between_page_and_join(
    invite_and_token: tuple[Invite, str], stranger: User
) -> None:
    invite, token = invite_and_token
    client = client_for(stranger)
    assert client.get(join_url(token)).status_code == 200
    Invite.objects.filter(pk=invite.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert client.post(join_url(token)).status_code == 404


def test_it_lets_one_of_two_racing_users_in(
    invite_and_token: tuple[Invite, str], stranger: User
) -> None:
    """Both loaded the invite while it was usable; the conditional update lets one in."""
    invite, _ = invite_and_token
    latecomer = User.objects.create_user("latecomer")
    services.accept_invite(invite=invite, user=stranger)
    with pytest.raises(Http404):
        services.accept_invite(invite=invite, user=latecomer)  # the stale, "usable" object
    assert not Membership.objects.filter(user=latecomer).exists()


def test_it_offers_an_anonymous_user_to_sign_up_or_sign_in_and_back(
    invite_and_token: tuple[Invite, str], stranger: User
) -> None:
    _, token = invite_and_token
    client = Client()
    page = client.get(join_url(token)).content.decode()
    login = f"{reverse('login')}?next={join_url(token)}"
    assert 'data-testid="signup-form"' in page
    assert f'href="{login}"' in page.replace("%2F", "/")
    assert "Sign in to open your invite link" in client.get(login).content.decode()
    signed_in = client.post(
        reverse("login"), {"username": "mallory", "password": PASSWORD, "next": join_url(token)}
    )
    assert signed_in.status_code == 302
    assert signed_in["Location"] == join_url(token)
    assert "Join Alpha" in client.get(join_url(token)).content.decode()


@override_settings(RATELIMIT_INVITE="3/d")
def test_it_rate_limits_invite_links(stranger: User) -> None:
    client = client_for(stranger)
    statuses = [client.get(join_url(f"{'B' * 42}{i}")).status_code for i in range(4)]
    assert statuses == [404, 404, 404, 429]
    assert "Too many invite links" in client.get(join_url("C" * 43)).content.decode()


def test_it_needs_the_csrf_token_to_join(
    invite_and_token: tuple[Invite, str], stranger: User
) -> None:
    invite, token = invite_and_token
    client = Client(enforce_csrf_checks=True)
    client.force_login(stranger)
    assert client.post(join_url(token)).status_code == 403
    invite.refresh_from_db()
    assert invite.used_at is None
