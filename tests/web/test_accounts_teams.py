"""The teams page (my teams) and creating a team."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Membership, Team
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db


def test_it_sends_anonymous_users_to_sign_in() -> None:
    response = Client().get(reverse("accounts:teams"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_lists_only_my_teams_with_my_role(
    team: Team, other_team: Team, owner: User, stranger: User
) -> None:
    Membership.objects.create(user=owner, team=Team.objects.create(name="Charlie"))
    page = client_for(owner).get(reverse("accounts:teams")).content.decode()
    assert "Alpha" in page and "Charlie" in page
    assert "Bravo" not in page
    assert "Owner" in page and "Member" in page
    assert "Current team" in page


def test_it_says_what_to_do_without_a_team() -> None:
    loner = User.objects.create_user("loner")
    page = client_for(loner).get(reverse("accounts:teams")).content.decode()
    assert "You are not in any team yet" in page


def test_it_creates_a_team_with_its_creator_as_owner_and_switches_to_it(owner: User) -> None:
    client = client_for(owner)
    response = client.post(reverse("accounts:create_team"), {"name": "  Payments  "})
    created = Team.objects.get(name="Payments")
    assert response.status_code == 302
    assert response["Location"] == reverse("accounts:team", args=[created.id])
    assert Membership.objects.get(team=created).user == owner
    assert Membership.objects.get(team=created).role == Membership.Role.OWNER
    home = client.get(reverse("home")).content.decode()
    assert "Recent runs of Payments" in home


def test_it_creates_a_first_team_for_a_user_without_one() -> None:
    loner = User.objects.create_user("loner")
    client = client_for(loner)
    client.post(reverse("accounts:create_team"), {"name": "Solo"})
    assert client.get(reverse("home")).context["team"].name == "Solo"


@pytest.mark.parametrize("name", ["", "   ", "x" * 101])
def test_it_refuses_a_bad_name_and_keeps_what_was_typed(owner: User, name: str) -> None:
    response = client_for(owner).post(reverse("accounts:create_team"), {"name": name})
    assert response.status_code == 200
    assert response.context["form"].errors["name"]
    page = response.content.decode()
    assert 'id="id_name_error"' in page and 'aria-describedby="id_name_error"' in page
    assert Team.objects.count() == 1
