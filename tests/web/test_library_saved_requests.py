"""Saved requests one by one: edited (renamed, moved to another collection or folder, its
request changed, its secrets kept unless replaced), deleted after a confirmation (POST only,
its runs stay in the log); who may do what (owner, teammate, stranger, anonymous)."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Team
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import Collection, SavedRequest, SavedRequestRun
from apps.library.services import import_collection
from apps.runs import secrets
from apps.runs.models import Run
from apps.vault.models import VaultSecret
from tests.support.clients import ClientResponse, client_for

pytestmark = pytest.mark.django_db
KEY = "k-saved-6e1b"
TOKEN = "Bearer tk-saved-93aa"
VAULT_VALUE = "kv-edit-4417"
URL = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def kaiko(team: Team, owner: User) -> Collection:
    imported = ImportedCollection(
        name="Kaiko",
        requests=[
            ImportedRequest(name="trades", method="GET", url=URL, api_key=KEY,
                            headers=[("Authorization", TOKEN), ("Accept", "application/json")],
                            folder="Trades"),
            ImportedRequest(name="second", method="GET", url=URL),
        ],
    )  # fmt: skip
    return import_collection(team=team, user=owner, imported=imported)


@pytest.fixture
def archive(team: Team, owner: User) -> Collection:
    return Collection.objects.create(team=team, name="Archive", created_by=owner)


@pytest.fixture
def saved(kaiko: Collection) -> SavedRequest:
    return kaiko.requests.get(name="trades")


def edit(user: User | None, saved: SavedRequest, **changes: str) -> ClientResponse:
    data = {
        "name": saved.name,
        "collection": str(saved.collection_id),
        "folder": saved.folder,
        "method": saved.method,
        "url": saved.url,
        "params": "\n".join(f"{n}={v}" for n, v in saved.query),
        "headers": "\n".join(f"{n}: {v}" for n, v in saved.request_headers),
        "body": saved.request_body,
        "api_key": "",
        "timeout": "",
        "profile": "",
        **changes,
    }
    return client_for(user).post(reverse("saved:edit_request", args=[saved.pk]), data)


def test_the_edit_page_shows_no_secret(owner: User, saved: SavedRequest) -> None:
    VaultSecret.objects.create(team=saved.team, name="kaiko-prod", value_encrypted=b"x",
                               hosts=["*.kaiko.io"])  # fmt: skip
    page = client_for(owner).get(reverse("saved:edit_request", args=[saved.pk])).content.decode()
    assert "Authorization: [redacted]" in page and 'value="trades"' in page
    assert KEY not in page and "tk-saved-93aa" not in page
    assert '<option value="kaiko-prod">kaiko-prod</option>' in page


def test_renamed_and_moved_to_another_collection_and_folder(
    teammate: User, saved: SavedRequest, archive: Collection
) -> None:
    response = edit(teammate, saved, name="Trades BTC", collection=str(archive.pk),
                    folder="/Old/2025/")  # fmt: skip
    assert response["Location"] == reverse("saved:request", args=[saved.pk])
    saved.refresh_from_db()
    assert (saved.name, saved.collection, saved.folder) == ("Trades BTC", archive, "Old/2025")
    kept = secrets.decrypt(saved.secrets_encrypted)
    assert kept.api_key == KEY and kept.headers == [("Authorization", TOKEN)]
    assert saved.request_headers == [["Authorization", "[redacted]"],
                                     ["Accept", "application/json"]]  # fmt: skip


def test_its_request_changed_keeps_the_secrets_not_replaced(
    owner: User, saved: SavedRequest
) -> None:
    edit(owner, saved, url=URL + "?page_size=5",
         headers="Authorization: [redacted]\nAccept: text/csv")  # fmt: skip
    saved.refresh_from_db()
    assert saved.url == URL + "?page_size=5"
    assert saved.request_headers == [["Authorization", "[redacted]"], ["Accept", "text/csv"]]
    client_for(owner).post(reverse("saved:run_request", args=[saved.pk]))
    run = Run.objects.get()
    sent = secrets.decrypt(run.secrets_encrypted)
    assert sent.api_key == KEY and ("Authorization", TOKEN) in sent.headers
    assert SavedRequestRun.objects.get().saved_request == saved


def test_opened_in_the_form_after_an_edit_it_is_the_edited_request_not_its_last_run(
    owner: User, saved: SavedRequest
) -> None:
    client = client_for(owner)
    client.post(reverse("saved:run_request", args=[saved.pk]))
    run = Run.objects.get()
    opened = client.get(reverse("saved:open_request", args=[saved.pk]))
    assert opened["Location"] == f"{reverse('runs:new')}?from={run.pk}"  # as it was run
    edit(owner, saved, headers="Authorization: [redacted]\nAccept: text/csv")
    opened = client.get(reverse("saved:open_request", args=[saved.pk]))
    assert opened.status_code == 200
    assert "Accept: text/csv" in opened.content.decode()


def test_a_new_key_replaces_the_kept_one_and_a_vault_secret_can_be_picked(
    owner: User, saved: SavedRequest
) -> None:
    edit(owner, saved, api_key="k-new-222")
    saved.refresh_from_db()
    assert secrets.decrypt(saved.secrets_encrypted).api_key == "k-new-222"
    client_for(owner).post(reverse("vault:vault"), {"name": "kaiko-prod", "value": VAULT_VALUE,
                                                    "hosts": "*.market-api.kaiko.io"})  # fmt: skip
    edit(owner, saved, vault_secret="kaiko-prod")
    saved.refresh_from_db()
    assert secrets.decrypt(saved.secrets_encrypted).api_key == "{{vault:kaiko-prod}}"
    page = client_for(owner).get(reverse("saved:edit_request", args=[saved.pk])).content.decode()
    assert '<option value="kaiko-prod" selected>kaiko-prod</option>' in page
    assert VAULT_VALUE not in page
    edit(owner, saved, remove_api_key="on")
    saved.refresh_from_db()
    assert (saved.has_api_key, secrets.decrypt(saved.secrets_encrypted).api_key) == (False, "")


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"url": "ftp://x"}, "url", ""),
        ({"headers": "X-Other: [redacted]"}, "headers", "X-Other has no kept value"),
        ({"headers": "X-Api-Key: abc"}, "headers", "Put the key in the API key field"),
        ({"name": ""}, "name", "This field is required."),
        ({"method": "GET", "body": "{}"}, "body", "A GET request is sent without a body."),
        ({"timeout": "0"}, "timeout", ""),
    ],
)
def test_bad_changes_are_named_at_their_field_and_nothing_is_saved(
    owner: User, saved: SavedRequest, changes: dict[str, str], field: str, message: str
) -> None:
    before = SavedRequest.objects.values().get(pk=saved.pk)
    response = edit(owner, saved, **changes)
    assert response.status_code == 400
    page = response.content.decode()
    assert f'id="id_{field}_error"' in page and message in page
    assert KEY not in page and "tk-saved-93aa" not in page
    assert SavedRequest.objects.values().get(pk=saved.pk) == before


def test_a_collection_of_another_team_is_not_a_choice(
    owner: User, stranger: User, saved: SavedRequest, other_team: Team
) -> None:
    theirs = Collection.objects.create(team=other_team, name="Theirs")
    response = edit(owner, saved, collection=str(theirs.pk))
    assert response.status_code == 400 and "Select a valid choice" in response.content.decode()
    saved.refresh_from_db()
    assert saved.collection != theirs


def test_deleted_after_a_confirmation_its_runs_stay(teammate: User, saved: SavedRequest) -> None:
    client = client_for(teammate)
    client.post(reverse("saved:run_request", args=[saved.pk]))
    url = reverse("saved:delete_request", args=[saved.pk])
    page = client.get(url)
    assert page.status_code == 200 and "Delete “trades”?" in page.content.decode()
    assert SavedRequest.objects.filter(pk=saved.pk).exists()  # asking deletes nothing
    response = client.post(url)
    assert response["Location"] == reverse("saved:collection", args=[saved.collection_id])
    assert not SavedRequest.objects.filter(pk=saved.pk).exists()
    assert Run.objects.count() == 1
    assert saved.collection.requests.count() == 1  # the other request stays


# Who may do what -------------------------------------------------------------------------


@pytest.fixture
def urls(saved: SavedRequest) -> list[tuple[str, str]]:
    return [
        ("get", reverse("saved:edit_request", args=[saved.pk])),
        ("post", reverse("saved:edit_request", args=[saved.pk])),
        ("get", reverse("saved:delete_request", args=[saved.pk])),
        ("post", reverse("saved:delete_request", args=[saved.pk])),  # last: it deletes
    ]


@pytest.mark.parametrize("who", ["owner", "teammate"])
def test_members_may(request: pytest.FixtureRequest, who: str, urls: list[tuple[str, str]]) -> None:
    client = client_for(request.getfixturevalue(who))
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code in (200, 302), (url, response.status_code)
    assert not SavedRequest.objects.filter(name="trades").exists()


def test_a_stranger_gets_404_and_changes_nothing(
    stranger: User, saved: SavedRequest, urls: list[tuple[str, str]]
) -> None:
    client = client_for(stranger)
    for method, url in urls:
        assert getattr(client, method)(url, {"name": "Mine"}).status_code == 404, url
    saved.refresh_from_db()
    assert saved.name == "trades"
    assert edit(stranger, saved, name="Mine").status_code == 404


def test_anonymous_people_are_asked_to_sign_in(
    saved: SavedRequest, urls: list[tuple[str, str]]
) -> None:
    client = client_for(None)
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url
    assert SavedRequest.objects.filter(pk=saved.pk).exists()


def test_other_methods_are_refused(owner: User, saved: SavedRequest) -> None:
    client = client_for(owner)
    assert client.delete(reverse("saved:delete_request", args=[saved.pk])).status_code == 405
    assert client.put(reverse("saved:edit_request", args=[saved.pk])).status_code == 405
    assert SavedRequest.objects.filter(pk=saved.pk).exists()
