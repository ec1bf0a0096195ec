"""The Tokens page and `manage.py api_token`: a token is shown once, only its hash is kept,
each user sees and revokes their own (an owner also their team's members'), and a revoked
token stops working at once."""

import io
import re

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Team, hash_link_token
from apps.api.models import ApiToken
from tests.api.conftest import ApiClient, make_token
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db

TOKEN = re.compile(r"adt_[A-Za-z0-9_-]{40,}")


def test_it_asks_to_sign_in(db: None) -> None:
    response = Client().get(reverse("api_tokens:list"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_it_makes_a_token_shown_once(owner: User, team: Team) -> None:
    client = client_for(owner)
    response = client.post(
        reverse("api_tokens:list"), {"name": "CI job", "team": str(team.id), "lifetime": "30d"}
    )
    assert response.status_code == 200
    page = response.content.decode()
    found = TOKEN.search(page)
    assert found is not None
    value = found.group()
    token = ApiToken.objects.get()
    assert (token.name, token.user, token.team) == ("CI job", owner, team)
    assert token.token_hash == hash_link_token(value) and value not in str(token.__dict__)
    assert "no-store" in response["Cache-Control"]
    assert ApiClient(value).get("/api/v1/me").json()["user"] == owner.username
    again = client.get(reverse("api_tokens:list")).content.decode()
    assert value not in again and token.hint in again and "CI job" in again


@pytest.mark.parametrize(
    ("data", "field_text"),
    [
        ({"name": "", "lifetime": "30d"}, "This field is required"),
        ({"name": "x", "lifetime": "forever"}, "Select a valid choice"),
    ],
)
def test_a_bad_form_says_why_and_makes_nothing(
    owner: User, team: Team, data: dict, field_text: str
) -> None:
    response = client_for(owner).post(reverse("api_tokens:list"), {**data, "team": str(team.id)})
    assert response.status_code == 400
    assert field_text in response.content.decode()
    assert not ApiToken.objects.exists()


def test_a_token_can_only_be_made_for_ones_own_team(
    owner: User, other_team: Team, stranger: User
) -> None:
    response = client_for(owner).post(
        reverse("api_tokens:list"), {"name": "x", "team": str(other_team.id), "lifetime": "7d"}
    )
    assert response.status_code == 400
    assert not ApiToken.objects.exists()


def test_it_revokes_ones_own_token(owner: User, team: Team) -> None:
    value = make_token(owner, team)
    token = ApiToken.objects.get()
    response = client_for(owner).post(reverse("api_tokens:revoke", args=[token.id]), follow=True)
    assert "revoked" in response.content.decode()
    assert ApiClient(value).get("/api/v1/me").status_code == 401


def test_a_member_cannot_see_or_revoke_others_tokens(
    owner: User, teammate: User, team: Team
) -> None:
    value = make_token(owner, team)
    token = ApiToken.objects.get()
    client = client_for(teammate)
    page = client.get(reverse("api_tokens:list")).content.decode()
    assert token.hint not in page and 'data-testid="teammates-tokens"' not in page
    assert client.post(reverse("api_tokens:revoke", args=[token.id])).status_code == 404
    assert ApiClient(value).get("/api/v1/me").status_code == 200


def test_an_owner_sees_and_revokes_a_members_token_never_its_value(
    owner: User, teammate: User, team: Team
) -> None:
    value = make_token(teammate, team)
    token = ApiToken.objects.get()
    client = client_for(owner)
    page = client.get(reverse("api_tokens:list")).content.decode()
    listed = page.split('data-testid="teammates-tokens"')[1]
    assert token.hint in listed and teammate.username in listed and value not in page
    response = client.post(reverse("api_tokens:revoke", args=[token.id]), follow=True)
    assert f"of {teammate.username} revoked" in response.content.decode()
    assert ApiClient(value).get("/api/v1/me").status_code == 401


def test_an_owner_of_another_team_gets_404(
    stranger: User, teammate: User, team: Team, other_team: Team
) -> None:
    value = make_token(teammate, team)
    token = ApiToken.objects.get()
    client = client_for(stranger)
    assert token.hint not in client.get(reverse("api_tokens:list")).content.decode()
    assert client.post(reverse("api_tokens:revoke", args=[token.id])).status_code == 404
    assert ApiClient(value).get("/api/v1/me").status_code == 200


def test_revoking_needs_a_post(owner: User, team: Team) -> None:
    make_token(owner, team)
    token = ApiToken.objects.get()
    assert client_for(owner).get(reverse("api_tokens:revoke", args=[token.id])).status_code == 405


def test_the_navigation_links_to_the_tokens_page(owner: User) -> None:
    page = client_for(owner).get(reverse("home")).content.decode()
    assert f'href="{reverse("api_tokens:list")}"' in page


def test_the_command_prints_a_working_token(owner: User, team: Team) -> None:
    out = io.StringIO()
    call_command("api_token", "create", "--user", owner.username, "--team", team.name, stdout=out)
    value = out.getvalue().strip()
    assert TOKEN.fullmatch(value)
    assert ApiClient(value).get("/api/v1/me").json()["team"] == team.name


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--user", "nobody", "--team", "Alpha"], "No user"),
        (["--user", "alice", "--team", "Bravo"], "not a member"),
        (["--user", "alice", "--team", "Alpha", "--days", "0"], "--days"),
    ],
)
def test_the_command_refuses_with_a_reason(
    owner: User, team: Team, other_team: Team, args: list[str], message: str
) -> None:
    with pytest.raises(CommandError, match=message):
        call_command("api_token", "create", *args)
    assert not ApiToken.objects.exists()
