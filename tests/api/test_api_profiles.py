"""The API's OpenAPI profiles: list, upload (JSON or YAML text), what one covers, replace
with a new version, delete; a bad document is a 422 naming `text` with its line, as the
page says it; the page's upload limit; other teams' profiles are not found."""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.library import selectors
from apps.library.models import SpecProfile, SpecVersion
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
PETSTORE_30 = (FIXTURES / "petstore-3.0.yaml").read_text()
PETSTORE_31 = (FIXTURES / "petstore-3.1.json").read_text()
KAIKO_LIKE = (FIXTURES / "kaiko-like.yaml").read_text()
BASE = "/api/v1/profiles"


@pytest.fixture
def profile(owner_api: ApiClient, team: Team) -> SpecProfile:
    response = owner_api.post(BASE, {"text": PETSTORE_30, "file_name": "petstore.yaml"})
    assert response.status_code == 201, response.content
    return SpecProfile.objects.for_team(team).get()


def test_it_uploads_yaml_and_answers_what_it_covers(
    owner_api: ApiClient, owner: User, team: Team
) -> None:
    response = owner_api.post(BASE, {"text": KAIKO_LIKE, "file_name": "kaiko.yaml"})
    assert response.status_code == 201, response.content
    body = response.json()
    profile = SpecProfile.objects.for_team(team).get()
    assert body["id"] == str(profile.id) and body["name"] == "Kaiko-like market data"
    assert body["hosts"] == ["us.market-api.example.com", "eu.market-api.example.com"]
    assert body["version"] == 1
    (version,) = body["versions"]
    assert (version["source_name"], version["operation_count"], version["created_by"]) == (
        "kaiko.yaml",
        2,
        owner.get_username(),
    )
    assert body["page"].endswith(f"/profiles/{profile.id}/")
    # Runs to its hosts are diagnosed against it, as after an upload on the page.
    assert selectors.spec_covering(
        team_id=team.id, url="https://us.market-api.example.com/v2/data/trades.v1/exchanges"
    )
    covers = owner_api.get(f"{BASE}/{profile.id}").json()
    assert "https://us.market-api.example.com/v2" in covers["servers"]
    (scheme,) = covers["schemes"]
    assert scheme["type"] == "apiKey" and scheme["sent_as"] == "the `X-Api-Key` header"
    trades = next(op for op in covers["operations"] if op["path"].endswith("/trades"))
    assert trades["method"] == "GET"
    assert {"name": "page_size", "location": "query", "required": False} in trades["parameters"]
    assert any(
        r["description"] == "The request parameters are invalid." for r in trades["responses"]
    )


def test_it_accepts_json_and_lists_the_teams_profiles(
    teammate_api: ApiClient, stranger_api: ApiClient, team: Team
) -> None:
    assert teammate_api.post(BASE, {"text": PETSTORE_31}).status_code == 201
    version = SpecVersion.objects.get(profile__team=team)
    assert (version.openapi, version.source_name) == ("3.1.0", "pasted")
    listed = teammate_api.get(BASE).json()
    assert [(p["name"], p["hosts"]) for p in listed] == [
        ("Swagger Petstore", ["petstore.swagger.io"])
    ]
    assert stranger_api.get(BASE).json() == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openapi: 3.0.0\ninfo: [unclosed\n", "(line 3, column 1)"),
        ("{not json", "The JSON is not valid"),
        (PETSTORE_30.replace("in: query", "in: body"), "Not valid OpenAPI 3.0.0"),
        (PETSTORE_30.replace("servers:\n  - url: http://petstore.swagger.io/v1\n", ""), "no host"),
        ("", "paste the document"),
        (
            PETSTORE_31.replace(
                '"summary"', '"x": "' + "y" * (2 * 1024 * 1024) + '", "summary"', 1
            ),
            "2 MB",
        ),
    ],
)
def test_a_bad_document_is_a_problem_naming_text_with_its_place(
    owner_api: ApiClient, team: Team, text: str, expected: str
) -> None:
    response = owner_api.post(BASE, {"text": text})
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    (error,) = response.json()["errors"]
    assert error["field"] == "text" and expected in error["message"], error
    assert not SpecProfile.objects.filter(team=team).exists()


def test_a_host_another_profile_covers_is_refused_until_that_one_is_replaced(
    owner_api: ApiClient, profile: SpecProfile
) -> None:
    response = owner_api.post(BASE, {"text": PETSTORE_31})
    assert response.status_code == 422
    (error,) = response.json()["errors"]
    assert error["field"] == "text" and "already covers `petstore.swagger.io`" in error["message"]
    assert SpecProfile.objects.count() == 1
    # The profile itself may take them again, as a new version.
    replaced = owner_api.post(f"{BASE}/{profile.id}/versions", {"text": PETSTORE_31})
    assert replaced.status_code == 201, replaced.content
    assert replaced.json()["version"] == 2
    assert [v["number"] for v in replaced.json()["versions"]] == [2, 1]
    now = selectors.spec_covering(team_id=profile.team_id, url="http://petstore.swagger.io/v1/pets")
    assert now is not None and now.version.number == 2


def test_replace_with_a_bad_document_keeps_the_current_version(
    owner_api: ApiClient, profile: SpecProfile
) -> None:
    response = owner_api.post(f"{BASE}/{profile.id}/versions", {"text": "{not json"})
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "text"
    assert profile.versions.count() == 1


def test_delete(teammate_api: ApiClient, profile: SpecProfile) -> None:
    response = teammate_api.client.delete(f"{BASE}/{profile.id}", headers=teammate_api.headers)
    assert response.status_code == 204
    assert not SpecProfile.objects.exists() and not SpecVersion.objects.exists()
    assert teammate_api.get(f"{BASE}/{profile.id}").status_code == 404


def test_another_teams_profile_is_not_found_and_stays(
    stranger_api: ApiClient, profile: SpecProfile
) -> None:
    assert stranger_api.get(f"{BASE}/{profile.id}").status_code == 404
    replaced = stranger_api.post(f"{BASE}/{profile.id}/versions", {"text": PETSTORE_31})
    assert replaced.status_code == 404
    deleted = stranger_api.client.delete(f"{BASE}/{profile.id}", headers=stranger_api.headers)
    assert deleted.status_code == 404
    assert profile.versions.count() == 1
    # The stranger's team may cover the same hosts: profiles are per team.
    assert stranger_api.post(BASE, {"text": PETSTORE_31}).status_code == 201


def test_uploads_share_the_pages_limit(owner_api: ApiClient, team: Team) -> None:
    for _ in range(10):
        assert owner_api.post(BASE, {"text": "{not json"}).status_code == 422
    response = owner_api.post(BASE, {"text": PETSTORE_31})
    assert response.status_code == 429 and int(response["Retry-After"]) >= 1
    assert not SpecProfile.objects.filter(team=team).exists()


def test_the_answers_carry_no_document_text(owner_api: ApiClient, profile: SpecProfile) -> None:
    """What it covers, never the stored document (examples in it may hold anything)."""
    answer = owner_api.get(f"{BASE}/{profile.id}").content.decode()
    assert "text" not in json.loads(answer) and "document" not in json.loads(answer)


def test_a_body_larger_than_the_server_reads_is_a_413_problem(
    owner_api: ApiClient, team: Team, settings: object
) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024  # type: ignore[attr-defined]
    response = owner_api.post(BASE, {"text": "x" * (1024 * 1024 + 1)})
    assert response.status_code == 413
    assert response["Content-Type"] == "application/problem+json"
    assert "1.0 MB" in response.json()["detail"]
    assert not SpecProfile.objects.filter(team=team).exists()
