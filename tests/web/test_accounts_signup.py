"""Open sign-up (SIGNUP_OPEN): off by default, so the invite stays the only door; on, anyone
creates an account with a team of their own, as often as the rate limit allows."""

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse

from apps.accounts import services
from apps.accounts.models import Membership, Team
from tests.support.clients import ClientResponse, client_for

pytestmark = pytest.mark.django_db
PASSWORD = "a long enough pass phrase 42"
SIGNUP = "/accounts/signup/"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # rate-limit counters


def sign_up(client: Client, username: str = "newbie", **data: str) -> ClientResponse:
    fields = {
        "username": username,
        "password1": PASSWORD,
        "password2": PASSWORD,
        "team_name": "Newbie's team",
    }
    return client.post(SIGNUP, {**fields, **data})


def test_it_is_at_the_documented_path() -> None:
    assert reverse("accounts:signup") == SIGNUP


@override_settings(SIGNUP_OPEN=False)
def test_it_is_closed_by_default_a_404_and_no_link() -> None:
    client = Client()
    assert client.get(SIGNUP).status_code == 404
    assert sign_up(client).status_code == 404
    assert not User.objects.exists()
    page = client.get(reverse("login")).content.decode()
    assert SIGNUP not in page and "Create an account" not in page


def test_the_default_setting_is_off() -> None:
    assert settings.SIGNUP_OPEN is False


@override_settings(SIGNUP_OPEN=True)
def test_when_open_the_sign_in_page_links_to_it() -> None:
    page = Client().get(reverse("login")).content.decode()
    assert f'href="{SIGNUP}"' in page and "Create an account" in page
    form = Client().get(SIGNUP)
    assert form.status_code == 200
    assert "no-store" in form["Cache-Control"] or "max-age=0" in form["Cache-Control"]
    for field in ("id_username", "id_password1", "id_password2", "id_team_name"):
        assert f'for="{field}"' in form.content.decode()


@override_settings(SIGNUP_OPEN=True)
def test_when_open_it_creates_a_user_who_owns_their_first_team(team: Team) -> None:
    client = Client()
    response = sign_up(client)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    user = User.objects.get(username="newbie")
    assert user.check_password(PASSWORD)
    membership = Membership.objects.get(user=user)
    assert membership.role == Membership.Role.OWNER
    assert membership.team.name == "Newbie's team" and membership.team != team
    assert Membership.objects.filter(team=membership.team).count() == 1
    # Signed in, working in the new team, and nothing of another team in sight.
    home = client.get(reverse("home")).content.decode()
    assert "Recent runs of Newbie&#x27;s team" in home or "Recent runs of Newbie's team" in home
    assert client.get(reverse("accounts:team", args=[team.id])).status_code == 404


@override_settings(SIGNUP_OPEN=True)
def test_when_open_every_error_is_shown_at_once_and_nothing_is_made(owner: User) -> None:
    response = sign_up(Client(), owner.get_username(), password1="x", password2="y", team_name="  ")
    page = response.content.decode()
    assert response.status_code == 200
    assert 'id="error-summary"' in page
    for field in ("id_username", "id_password2", "id_team_name"):
        assert f'href="#{field}"' in page, field
    assert 'value="alice"' in page  # what was typed stays
    assert User.objects.count() == 1 and Team.objects.count() == 1


@override_settings(SIGNUP_OPEN=True)
def test_when_open_a_signed_in_person_is_sent_home(owner: User) -> None:
    response = client_for(owner).get(SIGNUP)
    assert response.status_code == 302 and response["Location"] == reverse("home")
    assert "Create an account" not in client_for(owner).get(reverse("home")).content.decode()


@override_settings(SIGNUP_OPEN=True, RATELIMIT_SIGNUP="2/d")
def test_when_open_it_is_rate_limited_per_address() -> None:
    statuses = [sign_up(Client(), f"user{n}").status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert not User.objects.filter(username="user2").exists()
    limited = sign_up(Client(), "user3")
    assert "Too many accounts asked for from your address" in limited.content.decode()
    # Looking at the form does not count; another address is counted apart.
    assert Client().get(SIGNUP).status_code == 200
    assert sign_up(Client(REMOTE_ADDR="10.0.0.9"), "user4").status_code == 302


@override_settings(SIGNUP_OPEN=True)
def test_when_open_a_name_taken_in_the_meantime_is_a_message_not_a_500(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    real_sign_up = services.sign_up

    def taken_first(**fields: str) -> Membership:
        User.objects.create_user(username=fields["username"])  # another request got there
        return real_sign_up(**fields)

    monkeypatch.setattr(services, "sign_up", taken_first)
    response = sign_up(Client())
    assert response.status_code == 200
    assert "A user with that username already exists." in response.content.decode()
    assert Team.objects.count() == 0
