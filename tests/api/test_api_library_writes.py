"""The API's library writes: import a collection (Postman, OpenAPI, HAR, own export), export
one (own JSON, Postman) without its secrets, delete one; change and delete a saved request;
make, change and delete environments. The pages' forms judge the input (422 naming the
field); other teams' objects are not found and stay as they were."""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.library.models import Collection, Environment, SavedRequest, SpecProfile
from apps.runs import secrets
from apps.runs.models import Run
from tests.api.conftest import ApiClient
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"
POSTMAN = (FIXTURES / "postman" / "market-data.postman_collection.json").read_text()
PETSTORE = (FIXTURES / "openapi" / "petstore-3.0.yaml").read_text()
SECRET = "s3cret-pass"  # the basic-auth password in the Postman fixture
HAR = json.dumps(
    {
        "log": {
            "version": "1.2",
            "creator": {"name": "test", "version": "1"},
            "entries": [
                {
                    "request": {
                        "method": "GET",
                        "url": "https://us.market-api.kaiko.io/v2/data/x",
                        "headers": [{"name": "Accept", "value": "application/json"}],
                        "queryString": [],
                    },
                    "response": {"status": 200, "headers": [], "content": {"text": ""}},
                }
            ],
        }
    }
)


def delete(api: ApiClient, path: str):
    return api.client.delete(path, headers=api.headers)


def patch(api: ApiClient, path: str, data: object):
    return api.client.patch(path, data, content_type="application/json", headers=api.headers)


@pytest.fixture
def market(owner_api: ApiClient, team: Team) -> Collection:
    response = owner_api.post("/api/v1/collections/import", {"text": POSTMAN})
    assert response.status_code == 201, response.content
    return Collection.objects.for_team(team).get()


def test_a_postman_collection_is_imported_with_its_secrets_kept_apart(
    owner_api: ApiClient, team: Team
) -> None:
    response = owner_api.post("/api/v1/collections/import", {"text": POSTMAN})
    assert response.status_code == 201, response.content
    body = response.json()
    market = Collection.objects.for_team(team).get()
    assert (
        body["collection"]["id"] == str(market.pk) and body["collection"]["name"] == "Market data"
    )
    assert "Sign in" in [r["name"] for r in body["collection"]["requests"]]
    assert body["profile_id"] is None and isinstance(body["warnings"], list)
    sign_in = SavedRequest.objects.get(collection=market, name="Sign in")
    assert secrets.decrypt(sign_in.secrets_encrypted).headers[0][0] == "Authorization"
    assert SECRET not in response.content.decode()


def test_an_openapi_document_is_imported_and_becomes_the_profile(
    owner_api: ApiClient, team: Team
) -> None:
    response = owner_api.post(
        "/api/v1/collections/import", {"text": PETSTORE, "file_name": "petstore.yaml"}
    )
    assert response.status_code == 201, response.content
    profile = SpecProfile.objects.for_team(team).get()
    assert response.json()["profile_id"] == str(profile.pk)
    assert response.json()["profile_version"] == 1
    assert len(response.json()["collection"]["requests"]) == 3
    again = owner_api.post("/api/v1/collections/import", {"text": PETSTORE})
    assert again.json()["profile_version"] == 2 and again.json()["profile_id"] == str(profile.pk)


def test_a_har_file_is_imported_named_after_its_file(owner_api: ApiClient) -> None:
    response = owner_api.post(
        "/api/v1/collections/import", {"text": HAR, "file_name": "checkout.har"}
    )
    assert response.status_code == 201, response.content
    collection = response.json()["collection"]
    assert collection["name"] == "checkout"
    assert [r["url"] for r in collection["requests"]] == [
        "https://us.market-api.kaiko.io/v2/data/x"
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"hello": 1}', "none of what can be imported"),
        (POSTMAN.replace('"url": "https://archive.example.com/v1/jobs"', '"url": ""'),
         "(“Export job”).request.url` is missing"),
        ("openapi: 3.0.0\ninfo: [unclosed\n", "line 3"),
        ('{"log": {"entries": []}}', "holds no request"),
        ("", "paste its content"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("file_name", ["", "c.json"])
def test_a_bad_file_is_a_problem_naming_text_and_nothing_is_kept(
    owner_api: ApiClient, team: Team, text: str, message: str, file_name: str
) -> None:
    response = owner_api.post("/api/v1/collections/import", {"text": text, "file_name": file_name})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "text" and message in error["message"], error
    assert not Collection.objects.for_team(team).exists() and not SavedRequest.objects.exists()


@pytest.mark.parametrize("kind", ["native", "postman"])
def test_exports_hold_no_secret_and_import_back(
    owner_api: ApiClient, team: Team, market: Collection, kind: str
) -> None:
    response = owner_api.get(f"/api/v1/collections/{market.pk}/export", format=kind)
    assert response.status_code == 200
    text = response.content.decode()
    assert SECRET not in text and "YW5hOnMzY3JldC1wYXNz" not in text  # nor its base64
    assert "Basic {{authorization}}" in text
    again = owner_api.post("/api/v1/collections/import", {"text": text})
    assert again.status_code == 201, again.content
    copy = Collection.objects.get(pk=again.json()["collection"]["id"])
    assert sorted(copy.requests.values_list("name", flat=True)) == sorted(
        market.requests.values_list("name", flat=True)
    )


def test_deleting_a_collection_keeps_its_runs(
    teammate_api: ApiClient, owner: User, team: Team, market: Collection
) -> None:
    run = finished_run(team, owner)
    assert delete(teammate_api, f"/api/v1/collections/{market.pk}").status_code == 204
    assert not Collection.objects.exists() and not SavedRequest.objects.exists()
    assert Run.objects.filter(pk=run.pk).exists()


def test_a_saved_request_is_renamed_moved_and_changed_keeping_its_secrets(
    owner_api: ApiClient, team: Team, market: Collection
) -> None:
    sign_in = SavedRequest.objects.get(collection=market, name="Sign in")
    kept_before = secrets.decrypt(sign_in.secrets_encrypted)
    other = Collection.objects.create(team=team, name="Other")
    response = patch(
        owner_api,
        f"/api/v1/saved-requests/{sign_in.pk}",
        {"name": "Log in", "collection": "Other", "folder": "Auth/"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["name"] == "Log in" and response.json()["collection"] == "Other"
    sign_in.refresh_from_db()
    assert (sign_in.collection, sign_in.folder) == (other, "Auth")
    # The [redacted] header kept its value; nothing secret in the answer.
    assert secrets.decrypt(sign_in.secrets_encrypted).headers == kept_before.headers
    assert SECRET not in response.content.decode()
    changed = patch(
        owner_api,
        f"/api/v1/saved-requests/{sign_in.pk}",
        {"api_key": "k-new-key-77", "headers": [{"name": "Accept", "value": "text/csv"}]},
    )
    assert changed.status_code == 200, changed.content
    sign_in.refresh_from_db()
    assert sign_in.request_headers == [["Accept", "text/csv"]]
    assert secrets.decrypt(sign_in.secrets_encrypted).api_key == "k-new-key-77"
    assert "k-new-key-77" not in changed.content.decode()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"url": "ftp://x.example/"}, "url", ""),
        ({"method": "BREW"}, "method", ""),
        ({"name": ""}, "name", "required"),
        ({"collection": "Nowhere"}, "collection", "no collection “Nowhere”"),
        ({"headers": [{"name": "X-Api-Key", "value": "k"}]}, "headers", "API key field"),
        ({"body": "{[redacted]}", "method": "POST"}, "body", "[redacted]"),
        ({"headers": [{"name": "A", "value": "b\r\nC: d"}]}, "headers[0]", "Line breaks"),
    ],
)
def test_a_bad_change_is_a_problem_naming_the_field_and_nothing_changes(
    owner_api: ApiClient, market: Collection, payload: dict, field: str, message: str
) -> None:
    saved = market.requests.order_by("position").first()
    assert saved is not None
    before = (saved.name, saved.url, saved.method, saved.request_headers)
    response = patch(owner_api, f"/api/v1/saved-requests/{saved.pk}", payload)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    saved.refresh_from_db()
    assert (saved.name, saved.url, saved.method, saved.request_headers) == before


def test_deleting_a_saved_request(owner_api: ApiClient, market: Collection) -> None:
    saved = market.requests.order_by("position").first()
    assert saved is not None
    assert delete(owner_api, f"/api/v1/saved-requests/{saved.pk}").status_code == 204
    assert not SavedRequest.objects.filter(pk=saved.pk).exists()
    assert delete(owner_api, f"/api/v1/saved-requests/{saved.pk}").status_code == 404


def test_environments_are_made_changed_and_deleted(owner_api: ApiClient, team: Team) -> None:
    made = owner_api.post(
        "/api/v1/environments",
        {"name": "prod", "variables": [
            {"name": "host", "value": "us.market-api.kaiko.io"},
            {"name": "api_key", "value": "{{vault:kaiko-prod}}"},
        ]},
    )  # fmt: skip
    assert made.status_code == 201, made.content
    assert made.json()["name"] == "prod" and made.json()["variables"] == ["host", "api_key"]
    environment = Environment.objects.for_team(team).get()
    assert environment.variables == [["host", "us.market-api.kaiko.io"],
                                     ["api_key", "{{vault:kaiko-prod}}"]]  # fmt: skip
    renamed = patch(owner_api, f"/api/v1/environments/{environment.pk}", {"name": "production"})
    assert renamed.status_code == 200, renamed.content
    environment.refresh_from_db()
    assert environment.name == "production" and len(environment.variables) == 2
    replaced = patch(
        owner_api,
        f"/api/v1/environments/{environment.pk}",
        {"variables": [{"name": "host", "value": "eu.market-api.kaiko.io"}]},
    )
    assert replaced.json()["variables"] == ["host"]
    environment.refresh_from_db()
    assert environment.variables == [["host", "eu.market-api.kaiko.io"]]
    assert delete(owner_api, f"/api/v1/environments/{environment.pk}").status_code == 204
    assert not Environment.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"name": "prod"}, "name", "already"),
        ({"name": ""}, "name", "required"),
        ({"name": "x", "variables": [{"name": "api_key", "value": "k-plain"}]}, "variables",
         "looks like a secret"),
        ({"name": "x", "variables": [{"name": "a b", "value": "1"}]}, "variables", "Line 1"),
        ({"name": "x", "variables": [{"name": "a", "value": "1\n2"}]}, "variables[0]",
         "Line breaks"),
    ],
)  # fmt: skip
def test_a_bad_environment_is_a_problem_naming_the_field(
    owner_api: ApiClient, team: Team, payload: dict, field: str, message: str
) -> None:
    Environment.objects.create(team=team, name="prod", variables=[])
    response = owner_api.post("/api/v1/environments", payload)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    assert Environment.objects.count() == 1
    assert "k-plain" not in response.content.decode()


def test_another_teams_library_is_not_found_and_stays(
    stranger_api: ApiClient, team: Team, market: Collection
) -> None:
    saved = market.requests.order_by("position").first()
    assert saved is not None
    environment = Environment.objects.create(team=team, name="prod", variables=[["a", "1"]])
    for path in (f"/api/v1/collections/{market.pk}/export",):
        assert stranger_api.get(path).status_code == 404
    assert delete(stranger_api, f"/api/v1/collections/{market.pk}").status_code == 404
    assert (
        patch(stranger_api, f"/api/v1/saved-requests/{saved.pk}", {"name": "x"}).status_code == 404
    )
    assert delete(stranger_api, f"/api/v1/saved-requests/{saved.pk}").status_code == 404
    assert (
        patch(stranger_api, f"/api/v1/environments/{environment.pk}", {"name": "x"}).status_code
        == 404
    )
    assert delete(stranger_api, f"/api/v1/environments/{environment.pk}").status_code == 404
    saved.refresh_from_db()
    environment.refresh_from_db()
    assert saved.name != "x" and environment.name == "prod"
    assert Collection.objects.filter(pk=market.pk).exists()


HAR_TWO = json.dumps(
    {
        "log": {
            "version": "1.2",
            "creator": {"name": "test", "version": "1"},
            "entries": [
                {
                    "request": {
                        "method": "GET",
                        "url": f"https://us.market-api.kaiko.io/v2/data/{n}",
                        "headers": [{"name": "X-Api-Key", "value": f"k-har-secret-{n}"}],
                        "queryString": [],
                    },
                    "response": {
                        "status": 401,
                        "statusText": "Unauthorized",
                        "headers": [{"name": "Content-Type", "value": "application/json"}],
                        "content": {"text": '{"message": "Unauthorized"}'},
                    },
                }
                for n in (0, 1)
            ],
        }
    }
)


def test_picked_har_entries_are_saved_in_a_collection(owner_api: ApiClient, team: Team) -> None:
    response = owner_api.post(
        "/api/v1/har", {"text": HAR_TWO, "entries": [1], "action": "save", "name": "Checkout"}
    )
    assert response.status_code == 201, response.content
    collection = response.json()["collection"]
    assert collection["name"] == "Checkout" and response.json()["runs"] == []
    assert [r["url"] for r in collection["requests"]] == [
        "https://us.market-api.kaiko.io/v2/data/1"
    ]
    assert "k-har-secret-1" not in response.content.decode()


def test_picked_har_entries_are_diagnosed_as_recorded_without_sending(
    owner_api: ApiClient,
) -> None:
    response = owner_api.post(
        "/api/v1/har", {"text": HAR_TWO, "entries": [0, 1], "action": "diagnose"}
    )
    assert response.status_code == 201, response.content
    runs = response.json()["runs"]
    assert len(runs) == 2 and all(run["recorded"] for run in runs)
    assert all(run["result"]["status"] == 401 for run in runs)
    assert "k-har-secret-0" not in response.content.decode()
    assert Run.objects.filter(recorded=True).count() == 2


def test_picked_har_entries_are_sent_as_runs(owner_api: ApiClient) -> None:
    response = owner_api.post("/api/v1/har", {"text": HAR_TWO, "entries": [0], "action": "submit"})
    assert response.status_code == 201, response.content
    (run,) = response.json()["runs"]
    stored = Run.objects.get(pk=run["id"])
    assert stored.recorded is False and stored.url.endswith("/v2/data/0")
    assert "k-har-secret-0" not in response.content.decode()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"text": HAR_TWO, "entries": [], "action": "submit"}, "entries"),
        ({"text": HAR_TWO, "entries": [5], "action": "submit"}, "entries"),
        ({"text": HAR_TWO, "entries": [0], "action": "save"}, "name"),
        ({"text": "{not json", "entries": [0], "action": "diagnose"}, "text"),
        ({"text": "", "entries": [0], "action": "diagnose"}, "text"),
    ],
)
def test_a_bad_har_request_is_a_problem_naming_the_field_and_nothing_is_done(
    owner_api: ApiClient, payload: dict, field: str
) -> None:
    response = owner_api.post("/api/v1/har", payload)
    assert response.status_code == 422, response.content
    assert field in {e["field"] for e in response.json()["errors"]}, response.json()
    assert not Run.objects.exists() and not Collection.objects.exists()


def test_a_saved_request_is_read_with_its_history_and_no_secret(
    owner_api: ApiClient, market: Collection
) -> None:
    sign_in = SavedRequest.objects.get(collection=market, name="Sign in")
    ran = owner_api.post("/api/v1/saved-requests/run", {"saved": str(sign_in.pk)})
    assert ran.status_code == 201, ran.content
    response = owner_api.get(f"/api/v1/saved-requests/{sign_in.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["name"] == "Sign in" and body["collection_id"] == str(market.pk)
    assert {"name": "Authorization", "value": "[redacted]"} in body["headers"]
    assert [run["id"] for run in body["history"]] == [ran.json()["id"]]
    text = response.content.decode()
    assert SECRET not in text and "YW5hOnMzY3JldC1wYXNz" not in text


def test_another_teams_saved_request_is_not_found(
    stranger_api: ApiClient, market: Collection
) -> None:
    saved = market.requests.order_by("position").first()
    assert saved is not None
    response = stranger_api.get(f"/api/v1/saved-requests/{saved.pk}")
    assert response.status_code == 404 and saved.name not in response.content.decode()


def test_a_collection_is_read_with_its_variables_names_and_latest_runs(
    owner_api: ApiClient, stranger_api: ApiClient, market: Collection
) -> None:
    ran = owner_api.post("/api/v1/collections/run", {"collection": str(market.pk)})
    assert ran.status_code == 201, ran.content
    response = owner_api.get(f"/api/v1/collections/{market.pk}")
    assert response.status_code == 200, response.content
    body = response.json()
    assert (
        "base_url" in body["variables"]
        and "https://us.market-api.kaiko.io" not in body["variables"]
    )
    (latest,) = body["collection_runs"]
    assert latest["id"] == ran.json()["id"]
    again = owner_api.get(latest["api_url"].removeprefix("http://testserver"))
    assert again.status_code == 200 and again.json()["id"] == latest["id"]
    assert SECRET not in response.content.decode()
    assert stranger_api.get(f"/api/v1/collections/{market.pk}").status_code == 404
