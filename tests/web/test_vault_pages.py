"""The team vault: owners write, members use by name, values never shown back, bound to
hosts (a request elsewhere is refused at submit with a clear message), every change and use
recorded; who may open what (owner, teammate, stranger, anonymous)."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Team
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import Collection, SavedRequest
from apps.library.services import import_collection
from apps.runs import secrets
from apps.runs.models import Run
from apps.vault.models import VaultEvent, VaultSecret
from tests.api.conftest import ApiClient, make_token
from tests.support.clients import ClientResponse, client_for
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db
VALUE = "kv-7f3a9c-very-secret"
NEW_VALUE = "kv-rotated-5521"
KAIKO = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
VAULT = reverse("vault:vault")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def secret(owner: User, team: Team) -> VaultSecret:
    response = client_for(owner).post(
        VAULT, {"name": "kaiko", "value": VALUE, "hosts": "*.market-api.kaiko.io"}
    )
    assert response.status_code == 302
    return VaultSecret.objects.for_team(team).get()


def submit(
    user: User, url: str, api_key: str = "{{vault:kaiko}}", headers: str = ""
) -> ClientResponse:
    data = {"method": "GET", "url": url, "api_key": api_key, "headers": headers, "timeout": "5"}
    return client_for(user).post(reverse("runs:new"), data)


def stored_text(run: Run) -> str:
    return " ".join(str(getattr(run, f.attname)) for f in Run._meta.concrete_fields
                    if f.attname != "secrets_encrypted")  # fmt: skip


def test_the_value_is_encrypted_and_never_shown(owner: User, secret: VaultSecret) -> None:
    assert VALUE.encode() not in bytes(secret.value_encrypted)
    client = client_for(owner)
    for url in (VAULT, reverse("vault:detail", args=[secret.pk])):
        page = client.get(url).content.decode()
        assert "kaiko" in page and VALUE not in page
    # A form error does not echo it either.
    response = client.post(VAULT, {"name": "kaiko", "value": VALUE, "hosts": "https://x/"})
    assert response.status_code == 400 and VALUE not in response.content.decode()
    assert [e.action for e in VaultEvent.objects.all()] == ["created"]


def test_a_member_uses_it_by_name_and_the_use_is_recorded(
    teammate: User, secret: VaultSecret
) -> None:
    response = submit(teammate, KAIKO)
    run = Run.objects.get()
    assert response["Location"] == reverse("runs:detail", args=[run.pk])
    assert secrets.decrypt(run.secrets_encrypted).api_key == VALUE
    assert run.has_api_key and VALUE not in stored_text(run)
    event = VaultEvent.objects.get(action="used")
    assert (event.user, event.run, event.secret) == (teammate, run, secret)
    page = client_for(teammate).get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert VALUE not in page


def test_it_is_refused_for_a_host_it_is_not_bound_to(owner: User, secret: VaultSecret) -> None:
    response = submit(owner, "https://evil.example.com/collect")
    assert response.status_code == 200  # the form again, with the message at the key field
    page = response.content.decode()
    assert "may only be sent to *.market-api.kaiko.io" in page
    assert "this request goes to evil.example.com" in page
    assert not Run.objects.exists() and VALUE not in page
    refused = VaultEvent.objects.get(action="refused")
    assert (refused.user, refused.detail) == (owner, "host: evil.example.com")


def test_it_is_refused_where_it_would_not_be_redacted(owner: User, secret: VaultSecret) -> None:
    response = submit(owner, KAIKO, api_key="", headers="X-Note: {{vault:kaiko}}")
    assert "can only be sent as the API key" in response.content.decode()
    assert not Run.objects.exists()


def test_an_unknown_name_is_named(owner: User, secret: VaultSecret) -> None:
    response = submit(owner, KAIKO, api_key="{{vault:nope}}")
    assert "no secret named “nope”" in response.content.decode()


def test_rotation_keeps_the_name_and_changes_what_is_sent(owner: User, secret: VaultSecret) -> None:
    client = client_for(owner)
    response = client.post(reverse("vault:rotate", args=[secret.pk]), {"value": NEW_VALUE})
    assert response.status_code == 302
    secret.refresh_from_db()
    assert (secret.name, secret.version) == ("kaiko", 2)
    submit(owner, KAIKO)
    assert secrets.decrypt(Run.objects.get().secrets_encrypted).api_key == NEW_VALUE
    assert NEW_VALUE not in client.get(reverse("vault:detail", args=[secret.pk])).content.decode()


def test_members_use_but_only_owners_change(teammate: User, secret: VaultSecret) -> None:
    client = client_for(teammate)
    assert (
        client.post(VAULT, {"name": "x", "value": "v", "hosts": "a.example.com"}).status_code == 403
    )
    assert (
        client.post(reverse("vault:rotate", args=[secret.pk]), {"value": "v2"}).status_code == 403
    )
    assert (
        client.post(reverse("vault:rebind", args=[secret.pk]), {"hosts": "evil.com"}).status_code
        == 403
    )
    client.post(reverse("vault:delete", args=[secret.pk]))
    secret.refresh_from_db()
    assert (secret.version, secret.hosts) == (1, ["*.market-api.kaiko.io"])


def test_a_saved_request_uses_it_in_a_credential_header(
    owner: User, team: Team, secret: VaultSecret
) -> None:
    imported = ImportedCollection(name="K", requests=[ImportedRequest(
        name="trades", method="GET", url=KAIKO,
        headers=[("Authorization", "Bearer {{vault:kaiko}}")])])  # fmt: skip
    collection = import_collection(team=team, user=owner, imported=imported)
    saved = SavedRequest.objects.get(collection=collection)
    client_for(owner).post(reverse("saved:run_request", args=[saved.pk]))
    run = Run.objects.get()
    assert secrets.decrypt(run.secrets_encrypted).headers == [("Authorization", f"Bearer {VALUE}")]
    assert VALUE not in stored_text(run)
    # Exported, it stays a reference: no value leaves.
    export = client_for(owner).get(reverse("saved:export", args=[collection.pk])).content.decode()
    assert "Bearer {{vault:kaiko}}" in export and VALUE not in export
    assert Collection.objects.count() == 1


def test_the_api_refuses_it_for_another_host(owner: User, team: Team, secret: VaultSecret) -> None:
    api = ApiClient(make_token(owner, team))
    response = api.post("/api/v1/runs", {"method": "GET", "url": "https://evil.example.com/",
                                         "api_key": "{{vault:kaiko}}"})  # fmt: skip
    assert response.status_code == 422
    assert "may only be sent to" in response.content.decode()
    ok = api.post("/api/v1/runs", {"method": "GET", "url": KAIKO, "api_key": "{{vault:kaiko}}"})
    assert ok.status_code == 201 and VALUE not in ok.content.decode()


# Who may open what ------------------------------------------------------------------------


def test_a_stranger_gets_404_and_anonymous_people_sign_in(
    stranger: User, secret: VaultSecret
) -> None:
    urls = [
        ("get", reverse("vault:detail", args=[secret.pk])),
        ("post", reverse("vault:rotate", args=[secret.pk])),
        ("post", reverse("vault:rebind", args=[secret.pk])),
        ("post", reverse("vault:delete", args=[secret.pk])),
    ]
    for method, url in urls:
        assert getattr(client_for(stranger), method)(url, {"value": "x"}).status_code == 404
        anonymous = getattr(client_for(None), method)(url)
        assert anonymous.status_code == 302 and "/accounts/login/" in anonymous["Location"]
    assert "<code>kaiko</code>" not in client_for(stranger).get(VAULT).content.decode()
    assert VaultSecret.objects.get().version == 1


def test_a_teammate_opens_the_pages(teammate: User, secret: VaultSecret) -> None:
    client = client_for(teammate)
    assert client.get(VAULT).status_code == 200
    assert client.get(reverse("vault:detail", args=[secret.pk])).status_code == 200


def test_re_authenticate_keeps_the_new_key_in_the_vault(
    owner: User, teammate: User, team: Team
) -> None:
    run = finished_run(team, owner)
    url = reverse("runs:reauthenticate", args=[run.pk])
    refused = client_for(teammate).post(url, {"api_key": "k-new-1", "save_to_vault": "kaiko"})
    assert "Only the team&#x27;s owners add secrets." in refused.content.decode()
    assert Run.objects.count() == 1 and not VaultSecret.objects.exists()
    response = client_for(owner).post(url, {"api_key": "k-new-1", "save_to_vault": "kaiko"})
    new_run = Run.objects.exclude(pk=run.pk).get()
    assert response["Location"] == reverse("runs:detail", args=[new_run.pk])
    secret = VaultSecret.objects.get()
    assert (secret.name, secret.hosts) == ("kaiko", ["us.market-api.kaiko.io"])
    assert secrets.decrypt(new_run.secrets_encrypted).api_key == "k-new-1"
    # Again with another key: the same secret, a new version.
    client_for(owner).post(url, {"api_key": "k-new-2", "save_to_vault": "kaiko"})
    secret.refresh_from_db()
    assert secret.version == 2
    assert [e.action for e in VaultEvent.objects.order_by("at", "id")] == [
        "created", "used", "rotated", "used"
    ]  # fmt: skip


def test_re_authenticate_offers_the_vault_to_owners_only(
    owner: User, teammate: User, team: Team
) -> None:
    diagnosis = {"code": "kaiko.401.no_key", "severity": "error", "status": 401,
                 "title": "No API key was sent", "profile": "kaiko",
                 "causes": [{"code": "kaiko.401.no_key", "title": "No API key was sent",
                             "playbooks": ["reauthenticate"]}],
                 "playbooks": ["reauthenticate"]}  # fmt: skip
    run = finished_run(team, owner, response_status=401, response_reason="Unauthorized",
                       diagnosis=diagnosis)  # fmt: skip
    for user, offered in ((owner, True), (teammate, False)):
        client = client_for(user)
        page = client.get(reverse("runs:reauthenticate", args=[run.pk])).content.decode()
        assert ('name="save_to_vault"' in page) is offered
        detail = client.get(reverse("runs:detail", args=[run.pk])).content.decode()
        assert 'id="reauth-key"' in detail
        assert ('id="reauth-vault"' in detail) is offered
