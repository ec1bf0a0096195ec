"""The help pages: /help/ lists every playbook and every catalog entry; each playbook page
shows its steps and the diagnoses that lead to it. Public, no login."""

import pytest
from django.test import Client
from django.urls import reverse

from apps.diagnosis import catalog

PLAYBOOK_SLUGS = [playbook.slug for playbook in catalog.playbooks()]


def test_it_serves_the_index_without_login(client: Client) -> None:
    response = client.get("/help/")
    assert response.status_code == 200
    assert reverse("diagnosis:index") == "/help/"


def test_it_lists_every_playbook_on_the_index(client: Client) -> None:
    page = client.get("/help/").content.decode()
    for playbook in catalog.playbooks():
        assert f'href="/help/playbooks/{playbook.slug}/"' in page
        assert playbook.title in page


def test_it_lists_every_catalog_entry_on_the_index(client: Client) -> None:
    page = client.get("/help/").content.decode()
    for profile in catalog.profiles():
        assert profile.name in page
        for entry in profile.entries():
            assert f'id="{entry.code}"' in page
    for entry in catalog.failure_entries():
        assert f'id="{entry.code}"' in page


def test_it_quotes_kaiko_on_the_index(client: Client) -> None:
    page = client.get("/help/").content.decode()
    assert "Service Unavailable -- We&#x27;re temporarily offline for maintenance." in page
    assert "kaiko.401.entitlement" in page


@pytest.mark.parametrize("slug", PLAYBOOK_SLUGS)
def test_it_renders_every_playbook_page(client: Client, slug: str) -> None:
    playbook = catalog.get_playbook(slug)
    response = client.get(f"/help/playbooks/{slug}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert playbook.title in page
    leading = catalog.entries_leading_to(slug)
    assert leading
    for entry in leading:
        assert f'href="/help/#{entry.code}"' in page


def test_it_shows_general_and_kaiko_steps(client: Client) -> None:
    page = client.get("/help/playbooks/reauthenticate/").content.decode()
    assert "For the Kaiko market-data API" in page
    assert "<code>X-Api-Key: &lt;your key&gt;</code>" in page
    assert 'href="https://docs.kaiko.com/rest-api/general/getting-started/authentication"' in page


def test_it_lists_the_codes_leading_to_check_access(client: Client) -> None:
    page = client.get("/help/playbooks/check-access/").content.decode()
    for code in ("kaiko.401", "kaiko.401.entitlement", "kaiko.403", "http.403"):
        assert f"<code>{code}</code>" in page


def test_it_answers_404_for_an_unknown_playbook(client: Client) -> None:
    assert client.get("/help/playbooks/no-such-playbook/").status_code == 404


def test_it_refuses_to_post(client: Client) -> None:
    assert client.post("/help/").status_code == 405
