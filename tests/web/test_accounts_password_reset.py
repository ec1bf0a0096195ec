"""Password reset by email: the email in the outbox carries a working, single-use link;
unknown addresses are not revealed; requests are rate-limited; a reset lifts a lockout."""

import re

import pytest
from django.contrib.auth.models import User
from django.core import mail
from django.core.cache import cache
from django.test import Client, override_settings
from django.urls import reverse

from tests.conftest import PASSWORD
from tests.support.clients import ClientResponse

pytestmark = pytest.mark.django_db
NEW = "a-much-longer-new-passphrase"
LINK = re.compile(r"http://testserver(/accounts/password/reset/[^/\s]+/[^/\s]+/)")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # rate-limit counters


@pytest.fixture
def user(owner: User) -> User:
    owner.email = "alice@example.com"
    owner.save()
    return owner


def ask_for_reset(client: Client, email: str) -> ClientResponse:
    return client.post(reverse("password_reset"), {"email": email})


def sign_in(client: Client, password: str) -> ClientResponse:
    return client.post(reverse("login"), {"username": "alice", "password": password})


def test_it_is_linked_from_the_sign_in_page() -> None:
    page = Client().get(reverse("login")).content.decode()
    assert f'href="{reverse("password_reset")}"' in page


def test_it_emails_a_link_that_sets_a_new_password(user: User) -> None:
    client = Client()
    response = ask_for_reset(client, "alice@example.com")
    assert response["Location"] == reverse("password_reset_done")
    assert "Check your email" in client.get(response["Location"]).content.decode()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["alice@example.com"]
    assert message.subject == "Reset your API diagnostics password"
    path = LINK.search(str(message.body)).group(1)  # type: ignore[union-attr]
    # The token moves out of the URL into the session before the form is shown.
    form_url = client.get(path)["Location"]
    assert "set-password" in form_url
    form = client.get(form_url)
    assert "Choose a new password" in form.content.decode()
    done = client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert done["Location"] == reverse("password_reset_complete")
    assert "Password set" in client.get(done["Location"]).content.decode()
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert sign_in(Client(), NEW)["Location"] == reverse("home")
    # The link works once.
    reused = Client().get(path)
    assert "This link does not work" in reused.content.decode()


def test_it_does_not_reveal_unknown_addresses(user: User) -> None:
    response = ask_for_reset(Client(), "nobody@example.com")
    assert response["Location"] == reverse("password_reset_done")
    assert mail.outbox == []


def test_it_refuses_a_tampered_link(user: User) -> None:
    ask_for_reset(Client(), "alice@example.com")
    path = LINK.search(str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]
    tampered = path.rstrip("/")[:-2] + "xx/"
    page = Client().get(tampered, follow=True).content.decode()
    assert "This link does not work" in page


@override_settings(RATELIMIT_PASSWORD_RESET="2/d")
def test_it_rate_limits_reset_emails(user: User) -> None:
    client = Client()
    statuses = [ask_for_reset(client, "alice@example.com").status_code for _ in range(3)]
    assert statuses == [302, 302, 429]
    assert len(mail.outbox) == 2
    page = ask_for_reset(client, "alice@example.com").content.decode()
    assert "Too many password reset requests" in page


@override_settings(AXES_FAILURE_LIMIT=2)
def test_it_lifts_a_sign_in_lockout_once_the_password_is_reset(user: User) -> None:
    client = Client()
    for _ in range(2):
        sign_in(client, "wrong")
    assert sign_in(client, PASSWORD).status_code == 429  # locked out
    ask_for_reset(client, "alice@example.com")
    path = LINK.search(str(mail.outbox[0].body)).group(1)  # type: ignore[union-attr]
    form_url = client.get(path)["Location"]
    client.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert sign_in(Client(), NEW)["Location"] == reverse("home")
