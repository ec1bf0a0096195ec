"""Collections: import (Postman, OpenAPI, HAR, own export), run one request or all, the
summary, history, exports that re-import without loss and hold no secret, saving a run's
request; and who may open what (owner, teammate, stranger, anonymous)."""

from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from apps.accounts.models import Team
from apps.library.models import (
    Collection,
    CollectionRun,
    SavedRequest,
    SavedRequestRun,
    SpecProfile,
)
from apps.runs import secrets
from apps.runs.models import Run
from tests.support.clients import ClientResponse, client_for
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
POSTMAN = (FIXTURES / "postman" / "market-data.postman_collection.json").read_text()
PETSTORE = (FIXTURES / "openapi" / "petstore-3.0.yaml").read_text()
LIST = reverse("saved:collections")
SECRET = "s3cret-pass"  # the basic-auth password in the Postman fixture


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # rate-limit counters


def import_text(user: User, text: str, name: str = "c.json") -> ClientResponse:
    return client_for(user).post(LIST, {"file": SimpleUploadedFile(name, text.encode())})


@pytest.fixture
def market(owner: User, team: Team) -> Collection:
    response = import_text(owner, POSTMAN)
    assert response.status_code == 302
    return Collection.objects.for_team(team).get()


def test_a_postman_collection_imports_with_folders_variables_and_secrets_kept_apart(
    owner: User, market: Collection
) -> None:
    assert market.name == "Market data"
    assert ["base_url", "https://us.market-api.kaiko.io"] in market.variables
    sign_in = SavedRequest.objects.get(collection=market, name="Sign in")
    assert sign_in.request_headers == [
        ["Content-Type", "application/x-www-form-urlencoded"],
        ["Authorization", "[redacted]"],
    ]
    kept = secrets.decrypt(sign_in.secrets_encrypted)
    assert kept.headers[0][0] == "Authorization"
    page = client_for(owner).get(reverse("saved:collection", args=[market.pk])).content.decode()
    assert "Trades/Archive" in page and "Export job" in page
    detail = client_for(owner).get(reverse("saved:request", args=[sign_in.pk])).content.decode()
    assert "$AUTHORIZATION" in detail  # copy as cURL: the secret is a variable
    assert kept.headers[0][1] not in detail and SECRET not in detail


def test_petstore_imports_as_a_collection_and_becomes_the_profile(owner: User, team: Team) -> None:
    response = import_text(owner, PETSTORE, "petstore.yaml")
    assert response.status_code == 302
    collection = Collection.objects.for_team(team).get()
    assert collection.requests.count() == 3
    profile = SpecProfile.objects.for_team(team).get()
    assert profile.hosts == ["petstore.swagger.io"]
    # Imported again: a new version of the same profile, a second collection.
    assert import_text(owner, PETSTORE, "petstore.yaml").status_code == 302
    assert SpecProfile.objects.for_team(team).get().versions.count() == 2
    assert Collection.objects.for_team(team).count() == 2


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"hello": 1}', "none of what can be imported"),
        (POSTMAN.replace('"url": "https://archive.example.com/v1/jobs"', '"url": ""'),
         "(“Export job”).request.url` is missing"),
        ("openapi: 3.0.0\ninfo: [unclosed\n", "line 3"),
        ('{"log": {"entries": []}}', "holds no request"),
    ],
)  # fmt: skip
def test_a_bad_file_is_named_and_nothing_is_kept(
    owner: User, team: Team, text: str, message: str
) -> None:
    response = import_text(owner, text)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Collection.objects.for_team(team).exists()
    assert not SavedRequest.objects.exists()


def test_running_a_saved_request_resolves_variables_and_notes_its_history(
    owner: User, market: Collection
) -> None:
    saved = SavedRequest.objects.get(collection=market, name="Recent trades")
    Collection.objects.filter(pk=market.pk).update(
        variables=[*market.variables, ["api_key", "k-live-123"]]
    )
    market.refresh_from_db()
    Collection.objects.filter(pk=market.pk).update(
        variables=[[n, v] for n, v in market.variables if not (n == "api_key" and v == "")]
    )
    response = client_for(owner).post(reverse("saved:run_request", args=[saved.pk]))
    run = Run.objects.get()
    assert response["Location"] == reverse("runs:detail", args=[run.pk])
    assert run.url == (
        "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/trades"
        "?page_size=10"
    )
    assert secrets.decrypt(run.secrets_encrypted).api_key == "k-live-123"
    assert SavedRequestRun.objects.get().saved_request == saved
    history = client_for(owner).get(reverse("saved:request", args=[saved.pk])).content.decode()
    assert reverse("runs:detail", args=[run.pk]) in history


def test_a_request_with_a_variable_without_value_is_refused_clearly(
    owner: User, market: Collection
) -> None:
    saved = SavedRequest.objects.get(collection=market, name="Export job")
    client = client_for(owner)
    response = client.post(reverse("saved:run_request", args=[saved.pk]), follow=True)
    assert "No value for {{archive_token}}" in response.content.decode()
    assert not Run.objects.exists()


def test_running_the_collection_makes_a_run_each_and_a_summary(
    owner: User, market: Collection
) -> None:
    client = client_for(owner)
    response = client.post(reverse("saved:run_collection", args=[market.pk]))
    collection_run = CollectionRun.objects.get()
    assert response["Location"] == reverse("saved:collection_run", args=[collection_run.pk])
    # "Export job" needs {{archive_token}}, which the collection does not define.
    assert [name for name, _ in collection_run.skipped] == ["Export job"]
    assert Run.objects.count() == 4
    page = client.get(response["Location"])
    text = page.content.decode()
    assert "4 of 4 still running" in text and "No value for {{archive_token}}" in text
    assert 'hx-trigger="every' in text
    # Finished: the fragment stops polling and shows each outcome.
    Run.objects.update(status=Run.Status.DONE, outcome=Run.Outcome.RESPONSE, response_status=200,
                       diagnosis_title="Success")  # fmt: skip
    fragment = client.get(response["Location"], headers={"HX-Request": "true"})
    assert fragment.status_code == 286
    assert "All 4 finished" in fragment.content.decode()
    assert "2xx: 4" in fragment.content.decode()


def test_exports_hold_no_secret_and_import_back_without_loss(
    owner: User, team: Team, market: Collection
) -> None:
    client = client_for(owner)
    for name in ("saved:export", "saved:export_postman"):
        response = client.get(reverse(name, args=[market.pk]))
        assert response.status_code == 200
        assert "attachment" in response["Content-Disposition"]
        text = response.content.decode()
        assert SECRET not in text and "YW5hOnMzY3JldC1wYXNz" not in text  # nor its base64
        assert "Basic {{authorization}}" in text
        again = import_text(owner, text)
        assert again.status_code == 302, again.content.decode()[:2000]
        copy = Collection.objects.for_team(team).order_by("-created_at").first()
        assert copy is not None

        def shape(collection: Collection) -> list[tuple[str, str, str, str]]:
            return [
                (s.folder, s.name, s.method, s.request_body)
                for s in collection.requests.order_by("position")
            ]

        assert shape(copy) == shape(market)
        first = copy.requests.get(name="Recent trades")
        assert secrets.decrypt(first.secrets_encrypted).api_key == "{{api_key}}"
        assert dict((n, v) for n, v in copy.variables)["exchange"] == "cbse"


def test_a_run_is_saved_to_a_new_collection_with_its_secrets(owner: User, team: Team) -> None:
    run = finished_run(team, owner)
    Run.objects.filter(pk=run.pk).update(
        has_api_key=True, secrets_encrypted=secrets.encrypt(secrets.RunSecrets(api_key="k-9"))
    )
    client = client_for(owner)
    url = reverse("saved:save_run", args=[run.pk])
    assert client.post(url, {"name": "Trades"}).status_code == 400  # no collection named
    response = client.post(url, {"name": "Trades", "new_collection": "Kaiko"})
    saved = SavedRequest.objects.get()
    assert response["Location"] == reverse("saved:request", args=[saved.pk])
    assert (saved.collection.name, saved.has_api_key) == ("Kaiko", True)
    assert secrets.decrypt(saved.secrets_encrypted).api_key == "k-9"
    assert SavedRequestRun.objects.get().run == run  # it opens the saved request's history
    # Saved again elsewhere: a second saved request, the run stays in the first's history.
    assert client.post(url, {"name": "Again", "new_collection": "Other"}).status_code == 302
    assert SavedRequestRun.objects.count() == 1


# Who may open what ---------------------------------------------------------------------


@pytest.fixture
def urls(owner: User, team: Team, market: Collection) -> list[tuple[str, str]]:
    saved = SavedRequest.objects.get(collection=market, name="No auth here")
    client_for(owner).post(reverse("saved:run_collection", args=[market.pk]))
    collection_run = CollectionRun.objects.get()
    run = finished_run(team, owner)
    return [
        ("get", reverse("saved:collection", args=[market.pk])),
        ("get", reverse("saved:export", args=[market.pk])),
        ("get", reverse("saved:export_postman", args=[market.pk])),
        ("get", reverse("saved:collection_run", args=[collection_run.pk])),
        ("get", reverse("saved:request", args=[saved.pk])),
        ("get", reverse("saved:open_request", args=[saved.pk])),
        ("get", reverse("saved:save_run", args=[run.pk])),
        ("post", reverse("saved:run_request", args=[saved.pk])),
        ("post", reverse("saved:run_collection", args=[market.pk])),
        ("post", reverse("saved:delete_collection", args=[market.pk])),  # last: it deletes
    ]


@pytest.mark.parametrize("who", ["owner", "teammate"])
def test_members_open_every_page(
    request: pytest.FixtureRequest, who: str, urls: list[tuple[str, str]]
) -> None:
    client = client_for(request.getfixturevalue(who))
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code in (200, 302), (url, response.status_code)
        if method == "post":
            assert "/accounts/login/" not in response["Location"]


def test_a_stranger_gets_404_everywhere(stranger: User, urls: list[tuple[str, str]]) -> None:
    runs_before = Run.objects.count()
    client = client_for(stranger)
    for method, url in urls:
        assert getattr(client, method)(url).status_code == 404, url
    assert Run.objects.count() == runs_before
    assert Collection.objects.count() == 1


def test_anonymous_people_are_asked_to_sign_in(urls: list[tuple[str, str]]) -> None:
    client = client_for(None)
    for method, url in urls:
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/accounts/login/" in response["Location"], url


def test_the_run_page_offers_copy_as_with_secrets_as_variables(owner: User, team: Team) -> None:
    run = finished_run(team, owner, run={"request_headers": [["Authorization", "[redacted]"]]})
    Run.objects.filter(pk=run.pk).update(
        has_api_key=True,
        secrets_encrypted=secrets.encrypt(
            secrets.RunSecrets(api_key="k-run-77", headers=[("Authorization", "Bearer zz-99")])
        ),
    )
    page = client_for(owner).get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert 'data-testid="snippet-curl"' in page and 'data-testid="snippet-httpie"' in page
    assert "os.environ[&quot;API_KEY&quot;]" in page and "$AUTHORIZATION" in page
    assert "k-run-77" not in page and "zz-99" not in page


def test_deleting_a_collection_keeps_its_runs(owner: User, market: Collection) -> None:
    saved = SavedRequest.objects.get(collection=market, name="No auth here")
    client = client_for(owner)
    client.post(reverse("saved:run_request", args=[saved.pk]))
    response = client.post(reverse("saved:delete_collection", args=[market.pk]))
    assert response["Location"] == reverse("saved:collections")
    assert not Collection.objects.exists() and not SavedRequest.objects.exists()
    assert Run.objects.count() == 1
