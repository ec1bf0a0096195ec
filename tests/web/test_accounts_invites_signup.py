"""Joining by invite without an account: with SIGNUP_OPEN off (the default), the invite is
the only way to sign up (tests/web/test_accounts_signup.py: the setting on)."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Invite, Membership, Team
from apps.accounts.services import create_invite
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough pass phrase 42"


def invite_url(team: Team, owner: User) -> tuple[Invite, str]:
    invite, token = create_invite(team=team, created_by=owner, lifetime=timedelta(days=1))
    return invite, reverse("accounts:join", args=[token])


def test_someone_without_an_account_signs_up_and_joins(team: Team, owner: User) -> None:
    invite, url = invite_url(team, owner)
    client = Client()
    page = client.get(url).content.decode()
    assert 'data-testid="signup-form"' in page and f"Join {team.name}" in page
    response = client.post(
        url, {"username": "newbie", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert response.status_code == 302 and response["Location"] == reverse("home")
    user = User.objects.get(username="newbie")
    assert Membership.objects.filter(user=user, team=team, role=Membership.Role.MEMBER).exists()
    invite.refresh_from_db()
    assert invite.used_by == user
    # Signed in, on the team's log.
    assert f"Recent runs of {team.name}" in client.get(reverse("home")).content.decode()


def test_every_signup_error_is_shown_and_no_account_is_made(team: Team, owner: User) -> None:
    _invite, url = invite_url(team, owner)
    response = Client().post(
        url, {"username": owner.get_username(), "password1": "x", "password2": "y"}
    )
    page = response.content.decode()
    assert response.status_code == 200
    assert (
        'id="error-summary"' in page
        and 'href="#id_username"' in page
        and 'href="#id_password2"' in page
    )
    assert User.objects.count() == 1


def test_a_used_invite_is_no_door(team: Team, owner: User) -> None:
    _invite, url = invite_url(team, owner)
    Client().post(url, {"username": "first", "password1": PASSWORD, "password2": PASSWORD})
    second = Client().post(
        url, {"username": "second", "password1": PASSWORD, "password2": PASSWORD}
    )
    assert second.status_code == 404
    assert not User.objects.filter(username="second").exists()
    assert Client().get(reverse("accounts:join", args=["not-a-token"])).status_code == 404


def test_there_is_no_other_sign_up_page() -> None:
    page = Client().get(reverse("login")).content.decode()
    assert "signup" not in page.lower() and "sign up" not in page.lower()


def test_the_invite_link_has_a_copy_button(team: Team, owner: User) -> None:
    client = client_for(owner)
    response = client.post(reverse("accounts:create_invite", args=[team.id]), {"lifetime": "7"})
    page = response.content.decode()
    assert 'data-copy="invite-link"' in page
