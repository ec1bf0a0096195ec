"""Changing one's password (Django's view, our templates)."""

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db
NEW = "a-much-longer-new-passphrase"


def test_it_sends_anonymous_users_to_sign_in() -> None:
    response = Client().get(reverse("password_change"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_it_shows_a_labelled_form_linked_from_the_header(owner: User) -> None:
    client = client_for(owner)
    assert f'href="{reverse("password_change")}"' in client.get(reverse("home")).content.decode()
    page = client.get(reverse("password_change")).content.decode()
    for field in ("id_old_password", "id_new_password1", "id_new_password2"):
        assert f'<label for="{field}">' in page
    assert 'autocomplete="current-password"' in page
    assert 'autocomplete="new-password"' in page


def test_it_changes_the_password_and_keeps_this_session_only(owner: User) -> None:
    client = client_for(owner)
    elsewhere = client_for(owner)
    response = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW},
    )
    assert response["Location"] == reverse("password_change_done")
    assert "Password changed" in client.get(response["Location"]).content.decode()
    owner.refresh_from_db()
    assert owner.check_password(NEW)
    assert client.get(reverse("home")).status_code == 200
    assert elsewhere.get(reverse("home")).status_code == 302  # signed out


def test_it_refuses_a_wrong_old_password(owner: User) -> None:
    response = client_for(owner).post(
        reverse("password_change"),
        {"old_password": "wrong", "new_password1": NEW, "new_password2": NEW},
    )
    assert response.status_code == 200
    assert "id_old_password_error" in response.content.decode()
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)


def test_it_refuses_a_weak_or_mismatched_new_password(owner: User) -> None:
    client = client_for(owner)
    weak = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": "123", "new_password2": "123"},
    )
    assert "too short" in weak.content.decode()
    mismatched = client.post(
        reverse("password_change"),
        {"old_password": PASSWORD, "new_password1": NEW, "new_password2": NEW + "x"},
    )
    assert mismatched.context["form"].errors["new_password2"]
    owner.refresh_from_db()
    assert owner.check_password(PASSWORD)
