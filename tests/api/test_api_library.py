"""The API's library: collections and environments listed, a saved request or a whole
collection run (by name or id, with an environment); other teams' objects are not found."""

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import Collection, Environment, RunEnvironment
from apps.library.services import import_collection
from apps.runs import secrets
from apps.runs.models import Run
from tests.api.conftest import ApiClient
from tests.support.factories import make_run

pytestmark = pytest.mark.django_db


@pytest.fixture
def collection(team: Team, owner: User) -> Collection:
    imported = ImportedCollection(
        name="Kaiko",
        variables=[("host", "eu.market-api.kaiko.io")],
        requests=[
            ImportedRequest(name="trades", method="GET", url="https://{{host}}/v2/t",
                            api_key="k-api-lib-1", folder="Data"),
            ImportedRequest(name="broken", method="GET", url="https://{{nowhere}}/x"),
        ],
    )  # fmt: skip
    return import_collection(team=team, user=owner, imported=imported)


@pytest.fixture
def environment(team: Team) -> Environment:
    return Environment.objects.create(
        team=team, name="prod", variables=[["host", "us.market-api.kaiko.io"]]
    )


def test_it_lists_collections_and_environments_without_secrets(
    owner_api: ApiClient, collection: Collection, environment: Environment
) -> None:
    response = owner_api.get("/api/v1/collections")
    assert response.status_code == 200
    (listed,) = response.json()
    assert listed["name"] == "Kaiko"
    assert [(r["name"], r["folder"]) for r in listed["requests"]] == [
        ("trades", "Data"),
        ("broken", ""),
    ]
    assert "k-api-lib-1" not in response.content.decode()
    envs = owner_api.get("/api/v1/environments").json()
    assert envs == [{"id": str(environment.pk), "name": "prod", "variables": ["host"]}]


def test_it_runs_a_saved_request_by_name_with_an_environment(
    owner_api: ApiClient, collection: Collection, environment: Environment
) -> None:
    response = owner_api.post("/api/v1/saved-requests/run", {"saved": "trades", "env": "prod"})
    assert response.status_code == 201
    run = Run.objects.get(pk=response.json()["id"])
    assert run.host == "us.market-api.kaiko.io"
    assert secrets.decrypt(run.secrets_encrypted).api_key == "k-api-lib-1"
    assert "k-api-lib-1" not in response.content.decode()


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"saved": "nope"}, "saved", "no saved request “nope”"),
        ({"saved": "trades", "env": "staging"}, "env", "no environment “staging”"),
        ({"saved": "broken"}, "saved", "No value for {{nowhere}}"),
        ({"saved": "trades", "collection": "Other"}, "saved", "no collection “Other”"),
    ],
)
def test_a_bad_name_is_a_problem_naming_the_field(
    owner_api: ApiClient, collection: Collection, payload: dict, field: str, message: str
) -> None:
    response = owner_api.post("/api/v1/saved-requests/run", payload)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == field and message in problem["errors"][0]["message"]
    assert not Run.objects.exists()


def test_it_runs_a_collection_and_answers_its_summary(
    owner_api: ApiClient, collection: Collection
) -> None:
    response = owner_api.post("/api/v1/collections/run", {"collection": "Kaiko"})
    assert response.status_code == 201
    body = response.json()
    assert [run["request"]["url"] for run in body["runs"]] == [
        "https://eu.market-api.kaiko.io/v2/t"
    ]
    assert body["skipped"][0]["name"] == "broken" and body["finished"] is False
    again = owner_api.get(f"/api/v1/collection-runs/{body['id']}")
    assert again.status_code == 200 and again.json()["id"] == body["id"]


def test_other_teams_objects_are_not_found(
    stranger_api: ApiClient, owner_api: ApiClient, collection: Collection
) -> None:
    run = owner_api.post("/api/v1/collections/run", {"collection": str(collection.pk)}).json()
    assert stranger_api.get(f"/api/v1/collection-runs/{run['id']}").status_code == 404
    response = stranger_api.post("/api/v1/collections/run", {"collection": str(collection.pk)})
    assert response.status_code == 422 and "no collection" in response.content.decode()
    assert stranger_api.get("/api/v1/collections").json() == []
    assert ApiClient(None).get("/api/v1/collections").status_code == 401


def test_a_run_submitted_with_an_environment_fills_its_variables_and_notes_it(
    owner_api: ApiClient, environment: Environment
) -> None:
    payload = {
        "url": "https://{{host}}/v2/data",
        "headers": [{"name": "X-Host", "value": "{{host}}"}],
    }
    response = owner_api.post("/api/v1/runs", {**payload, "env": "prod"})
    assert response.status_code == 201, response.content
    run = Run.objects.get(pk=response.json()["id"])
    assert run.url == "https://us.market-api.kaiko.io/v2/data"
    assert ["X-Host", "us.market-api.kaiko.io"] in [list(h) for h in run.request_headers]
    assert RunEnvironment.objects.get(run=run).environment == environment


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"url": "https://{{host}}/x", "env": "staging"}, "env", "no environment “staging”"),
        ({"url": "https://{{host}}/{{version}}", "env": "prod"}, "url", "no value for {{version}}"),
    ],
)
def test_a_run_with_a_bad_environment_is_a_problem_naming_the_field(
    owner_api: ApiClient, environment: Environment, payload: dict, field: str, message: str
) -> None:
    response = owner_api.post("/api/v1/runs", payload)
    assert response.status_code == 422
    problem = response.json()
    assert problem["errors"][0]["field"] == field and message in problem["errors"][0]["message"]
    assert not Run.objects.exists()


def test_another_teams_environment_is_not_found_by_id(
    stranger_api: ApiClient, environment: Environment
) -> None:
    response = stranger_api.post(
        "/api/v1/runs", {"url": "https://x.example/", "env": str(environment.pk)}
    )
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "env"
    assert not Run.objects.exists()


def test_a_run_is_saved_in_a_collection_made_by_name_then_in_it_again(
    owner_api: ApiClient, team: Team, owner: User
) -> None:
    key = "k-save-run-9f3a"
    run = make_run(team, owner, has_api_key=True,
                   secrets_encrypted=secrets.encrypt(secrets.RunSecrets(api_key=key)))  # fmt: skip
    first = owner_api.post(f"/api/v1/runs/{run.pk}/save", {"collection": "From the CLI"})
    assert first.status_code == 201, first.content
    body = first.json()
    assert (
        body["collection"] == "From the CLI" and body["name"] == "GET us.market-api.kaiko.io/v2/x"
    )
    assert key not in first.content.decode()
    again = owner_api.post(
        f"/api/v1/runs/{run.pk}/save", {"collection": "From the CLI", "name": "x"}
    )
    assert again.status_code == 201 and again.json()["name"] == "x"
    collection = Collection.objects.get(name="From the CLI")
    assert [s.name for s in collection.requests.order_by("position")] == [body["name"], "x"]
    saved = collection.requests.get(name="x")
    assert secrets.decrypt(saved.secrets_encrypted).api_key == key


def test_saving_another_teams_run_is_not_found_and_a_collection_is_required(
    stranger_api: ApiClient, owner_api: ApiClient, team: Team, owner: User
) -> None:
    run = make_run(team, owner)
    assert stranger_api.post(f"/api/v1/runs/{run.pk}/save", {"collection": "x"}).status_code == 404
    response = owner_api.post(f"/api/v1/runs/{run.pk}/save", {"collection": " "})
    assert response.status_code == 422 and response.json()["errors"][0]["field"] == "collection"
    assert not Collection.objects.exists()
