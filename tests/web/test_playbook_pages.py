"""The help pages: /help/ lists every playbook and every catalog entry; each playbook page
shows its steps and the diagnoses that lead to it. Public, no login."""

import re
import uuid

import pytest
from django.test import Client
from django.urls import reverse

from apps.diagnosis import lookups
from apps.diagnosis.profiles import CatalogEntry, CauseEntry

PLAYBOOK_SLUGS = [playbook.slug for playbook in lookups.playbooks()]


def test_it_serves_the_index_without_login(client: Client) -> None:
    response = client.get("/help/")
    assert response.status_code == 200
    assert reverse("diagnosis:index") == "/help/"


def test_it_lists_every_playbook_on_the_index(client: Client) -> None:
    page = client.get("/help/").content.decode()
    for playbook in lookups.playbooks():
        assert f'href="/help/playbooks/{playbook.slug}/"' in page
        assert playbook.title in page


def test_it_lists_every_catalog_entry_on_the_index(client: Client) -> None:
    page = client.get("/help/").content.decode()
    for profile in lookups.profiles():
        assert profile.name in page
        for entry in profile.entries():
            assert f'id="{entry.code}"' in page
    for entry in lookups.failure_entries():
        assert f'id="{entry.code}"' in page


def test_it_lists_every_cause_on_the_index_once(client: Client) -> None:
    page = client.get("/help/").content.decode()
    causes = [
        *(c for p in lookups.profiles() for c in p.cause_entries()),
        *lookups.failure_details(),
    ]
    assert len(causes) > 40
    for cause in causes:
        assert page.count(f'id="{cause.code}"') == 1, cause.code
    ids = re.findall(r'\bid="([^"]+)"', page)
    assert len(ids) == len(set(ids))


def test_it_says_how_kaiko_is_called_on_the_index(client: Client) -> None:
    page = client.get("/help/").content.decode()
    assert "<dt>Credentials header</dt><dd>X-Api-Key</dd>" in page
    assert "api_key" in page and "Authorization" in page
    assert "access.access_range" in page and "next_url" in page
    assert "<code>page_size</code>: a whole number from 1 to 100000" in page
    assert "/{version}/data/{data_version}/exchanges/{exchange}" in page


def test_it_quotes_kaiko_on_the_index(client: Client) -> None:
    page = client.get("/help/").content.decode()
    assert "Service Unavailable -- We&#x27;re temporarily offline for maintenance." in page
    assert "kaiko.401.entitlement" in page


@pytest.mark.parametrize("slug", PLAYBOOK_SLUGS)
def test_it_renders_every_playbook_page(client: Client, slug: str) -> None:
    playbook = lookups.get_playbook(slug)
    response = client.get(f"/help/playbooks/{slug}/")
    assert response.status_code == 200
    page = response.content.decode()
    assert playbook.title in page
    entries = lookups.entries_leading_to(slug)
    causes = lookups.causes_leading_to(slug)
    assert entries or causes
    leading: list[CatalogEntry | CauseEntry] = [*entries, *causes]
    for entry in leading:
        assert f'href="/help/#{entry.code}"' in page
        assert f"<code>{entry.code}</code>" in page
    if playbook.action:
        assert "offered as a button" in page


def test_it_shows_general_and_kaiko_steps(client: Client) -> None:
    page = client.get("/help/playbooks/reauthenticate/").content.decode()
    assert "For the Kaiko market-data API" in page
    assert "<code>X-Api-Key: &lt;your key&gt;</code>" in page
    assert 'href="https://docs.kaiko.com/rest-api/general/getting-started/authentication"' in page


def test_it_lists_the_codes_leading_to_check_access(client: Client) -> None:
    page = client.get("/help/playbooks/check-access/").content.decode()
    for code in ("kaiko.401", "kaiko.401.entitlement", "kaiko.403", "http.403"):
        assert f"<code>{code}</code>" in page
    for code in (
        "kaiko.403.no_entitlement",
        "kaiko.403.outside_access_range",
        "http.401.entitlement",
    ):
        assert f"<code>{code}</code>" in page


def test_it_lists_the_causes_leading_to_a_playbook_only_causes_reach(client: Client) -> None:
    page = client.get("/help/playbooks/send-key-in-header/").content.decode()
    assert "For the Kaiko market-data API" in page
    for code in (
        "kaiko.401.key_in_query",
        "kaiko.401.key_in_authorization",
        "http.401.key_in_query",
    ):
        assert f'href="/help/#{code}"' in page
    assert "offered as a button (Edit and re-run)" in page


@pytest.mark.parametrize(
    ("slug", "codes"),
    [
        (
            "check-tls",
            ["network.tls", "network.tls.certificate_expired", "network.tls.self_signed"],
        ),
        ("reduce-request-rate", ["kaiko.429.sustained", "http.429.sustained"]),
        (
            "ask-for-less",
            ["network.response_too_large", "network.response_too_large.compressed_body"],
        ),
        ("fix-time-range", ["kaiko.403.outside_access_range"]),
        ("wait-for-maintenance", ["kaiko.503", "kaiko.503.maintenance", "http.503.maintenance"]),
        ("fix-endpoint", ["kaiko.404.exchange", "kaiko.404.instrument", "kaiko.404.path"]),
    ],
)
def test_it_links_each_playbook_to_what_leads_there(
    client: Client, slug: str, codes: list[str]
) -> None:
    page = client.get(f"/help/playbooks/{slug}/").content.decode()
    for code in codes:
        assert f"<code>{code}</code>" in page


def test_it_answers_404_for_an_unknown_playbook(client: Client) -> None:
    assert client.get("/help/playbooks/no-such-playbook/").status_code == 404


def test_it_refuses_to_post(client: Client) -> None:
    assert client.post("/help/").status_code == 405


def test_a_playbook_opened_from_a_run_links_back_to_it(client: Client) -> None:
    run_id = uuid.uuid4()
    page = client.get(reverse("diagnosis:playbook", args=["reauthenticate"]), {"run": str(run_id)})
    assert f'href="{reverse("runs:detail", args=[run_id])}" data-testid="back-to-run"' in (
        page.content.decode()
    )
    other = client.get(reverse("diagnosis:playbook", args=["reauthenticate"]), {"run": "<x>"})
    assert b"back-to-run" not in other.content
