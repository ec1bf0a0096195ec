"""Environments: {{name}} values picked when a request or a collection runs, the
environment noted with each run; secrets only as vault references; who may open what."""

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.urls import reverse

from apps.accounts.models import Team
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import Collection, CollectionRun, Environment, SavedRequestRun
from apps.library.services import import_collection
from apps.runs import secrets
from apps.runs.models import Run
from apps.vault.models import VaultEvent
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db
LIST = reverse("saved:environments")
VALUE = "kv-env-3141"


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()


@pytest.fixture
def collection(team: Team, owner: User) -> Collection:
    imported = ImportedCollection(
        name="Kaiko",
        variables=[("host", "eu.market-api.kaiko.io"), ("api_key", "")],
        requests=[ImportedRequest(name="trades", method="GET", url="https://{{host}}/v2/x",
                                  api_key="{{api_key}}")],
    )  # fmt: skip
    return import_collection(team=team, user=owner, imported=imported)


@pytest.fixture
def production(owner: User, team: Team) -> Environment:
    client = client_for(owner)
    client.post(reverse("vault:vault"), {"name": "kaiko", "value": VALUE,
                                          "hosts": "*.market-api.kaiko.io"})  # fmt: skip
    variables = "host=us.market-api.kaiko.io\napi_key={{vault:kaiko}}"
    response = client.post(LIST, {"name": "Kaiko production", "variables": variables})
    assert response.status_code == 302
    return Environment.objects.for_team(team).get()


def test_a_collection_runs_with_an_environment_over_its_variables(
    owner: User, collection: Collection, production: Environment
) -> None:
    client_for(owner).post(reverse("saved:run_collection", args=[collection.pk]),
                           {"environment": str(production.pk)})  # fmt: skip
    run = Run.objects.get()
    assert run.host == "us.market-api.kaiko.io"
    assert secrets.decrypt(run.secrets_encrypted).api_key == VALUE
    assert SavedRequestRun.objects.get().environment == production
    assert CollectionRun.objects.get().environment == production
    assert VaultEvent.objects.get(action="used").run == run


def test_without_an_environment_the_collection_s_values_apply(
    owner: User, collection: Collection
) -> None:
    saved = collection.requests.get()
    client_for(owner).post(reverse("saved:run_request", args=[saved.pk]))
    run = Run.objects.get()
    assert (run.host, run.has_api_key) == ("eu.market-api.kaiko.io", False)
    assert SavedRequestRun.objects.get().environment is None


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ("api_key=k-plain-123", "looks like a secret"),
        ("no equals sign", "Line 1 is not a variable"),
        ("ok=1\nvault:x=2", "Line 2: names starting with vault:"),
    ],
)
def test_bad_variables_are_named(owner: User, variables: str, message: str) -> None:
    response = client_for(owner).post(LIST, {"name": "E", "variables": variables})
    assert response.status_code == 400 and message in response.content.decode()
    assert not Environment.objects.exists()


def test_names_are_unique_in_a_team(owner: User, production: Environment) -> None:
    response = client_for(owner).post(LIST, {"name": "Kaiko production", "variables": ""})
    assert response.status_code == 400 and "already" in response.content.decode()


def test_who_may_open_what(
    owner: User, teammate: User, stranger: User, collection: Collection, production: Environment
) -> None:
    detail = reverse("saved:environment", args=[production.pk])
    delete = reverse("saved:delete_environment", args=[production.pk])
    assert client_for(teammate).get(detail).status_code == 200
    assert client_for(stranger).get(detail).status_code == 404
    assert client_for(stranger).post(delete).status_code == 404
    assert client_for(None).get(detail).status_code == 302
    # Another team's environment cannot be used to run this one's collection, nor the reverse.
    other = Environment.objects.create(team=stranger.membership_set.get().team, name="X")
    response = client_for(owner).post(reverse("saved:run_collection", args=[collection.pk]),
                                      {"environment": str(other.pk)})  # fmt: skip
    assert response.status_code == 404 and not Run.objects.exists()
    edited = client_for(owner).post(detail, {"name": "Prod", "variables": "host=a.example.com"})
    assert edited.status_code == 302
    production.refresh_from_db()
    assert (production.name, production.variables) == ("Prod", [["host", "a.example.com"]])
    assert client_for(owner).post(delete).status_code == 302
    assert not Environment.objects.filter(pk=production.pk).exists()
