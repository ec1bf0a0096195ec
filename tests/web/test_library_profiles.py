"""The Profiles pages: upload (file or pasted), what a profile covers, replace, delete; who
may do what (owner, teammate, stranger, anonymous); bad documents answered at their field."""

import json
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from apps.accounts.models import Team
from apps.library import selectors
from apps.library.models import SpecProfile, SpecVersion
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db
FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
PETSTORE_30 = (FIXTURES / "petstore-3.0.yaml").read_text()
PETSTORE_31 = (FIXTURES / "petstore-3.1.json").read_text()
KAIKO_LIKE = (FIXTURES / "kaiko-like.yaml").read_text()
LIST = reverse("library:profiles")


@pytest.fixture(autouse=True)
def _clear_cache() -> None:
    cache.clear()  # upload rate-limit counters


def upload(client: Client, text: str, *, name: str = "spec.yaml", url: str = LIST):
    return client.post(url, {"file": SimpleUploadedFile(name, text.encode())})


@pytest.fixture
def profile(team: Team, owner: User) -> SpecProfile:
    response = upload(client_for(owner), PETSTORE_30, name="petstore.yaml")
    assert response.status_code == 302
    return SpecProfile.objects.for_team(team).get()


def test_it_uploads_a_file_and_shows_what_it_covers(owner: User, team: Team) -> None:
    client = client_for(owner)
    response = upload(client, KAIKO_LIKE, name="kaiko.yaml")
    profile = SpecProfile.objects.for_team(team).get()
    assert response.status_code == 302
    assert response["Location"] == reverse("library:profile", args=[profile.id])
    assert profile.name == "Kaiko-like market data"
    assert profile.hosts == ["us.market-api.example.com", "eu.market-api.example.com"]
    version = profile.latest
    assert version is not None
    assert (version.number, version.source_name, version.operation_count) == (1, "kaiko.yaml", 2)
    page = client.get(response["Location"]).content.decode()
    assert "https://us.market-api.example.com/v2" in page
    assert "the <code>X-Api-Key</code> header" in page
    assert "GET /data/trades.v1/exchanges/{exchange}/{instrument_class}/{instrument}/trades" in page
    assert 'page_size</code> <span class="muted">(query, ≥ 1, ≤ 100000)' in page
    assert "The request parameters are invalid." in page
    listing = client.get(LIST).content.decode()
    assert "Kaiko-like market data" in listing and "us.market-api.example.com" in listing


def test_it_accepts_a_pasted_document(teammate: User, team: Team) -> None:
    response = client_for(teammate).post(LIST, {"text": PETSTORE_31})
    assert response.status_code == 302
    version = SpecVersion.objects.get(profile__team=team)
    assert (version.openapi, version.source_name) == ("3.1.0", "pasted")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("openapi: 3.0.0\ninfo: [unclosed\n", "(line 3, column 1)"),
        (PETSTORE_30.replace("in: query", "in: body"), "Not valid OpenAPI 3.0.0"),
        (
            PETSTORE_30.replace("servers:\n  - url: http://petstore.swagger.io/v1\n", ""),
            "name no host",
        ),
        (
            PETSTORE_30.replace(
                '$ref: "#/components/schemas/Error"', '$ref: "#/components/schemas/Err"'
            ),
            "points at nothing",
        ),
    ],
)
def test_a_bad_document_is_named_at_its_field_with_its_line(
    owner: User, team: Team, text: str, expected: str
) -> None:
    response = client_for(owner).post(LIST, {"text": text})
    assert response.status_code == 400
    page = response.content.decode()
    assert expected in page
    assert 'data-testid="error-summary"' in page and 'href="#id_text"' in page
    assert "line " in page or "at servers" in page  # where it is wrong
    assert "info:" in page  # nothing typed is lost
    assert not SpecProfile.objects.filter(team=team).exists()


def test_a_10_mb_file_is_refused_at_its_field(owner: User, team: Team) -> None:
    huge = PETSTORE_31.replace('"summary"', '"x": "' + "y" * (10 * 1024 * 1024) + '", "summary"', 1)
    response = upload(client_for(owner), huge, name="huge.json")
    assert response.status_code == 400
    assert "The file is 10.0 MB; documents of up to 2 MB are accepted." in response.content.decode()
    assert not SpecProfile.objects.filter(team=team).exists()


def test_a_reference_cycle_is_refused(owner: User) -> None:
    cyclic = PETSTORE_30.replace(
        '    Pets:\n      type: array\n      items:\n        $ref: "#/components/schemas/Pet"',
        '    Pets:\n      $ref: "#/components/schemas/Pets"',
    )
    response = upload(client_for(owner), cyclic)
    assert response.status_code == 400
    assert "cycle that never ends" in response.content.decode()


def test_nothing_given_or_both_given(owner: User) -> None:
    client = client_for(owner)
    assert "Choose a file, or paste" in client.post(LIST, {}).content.decode()
    both = client.post(
        LIST, {"text": PETSTORE_31, "file": SimpleUploadedFile("a.json", PETSTORE_31.encode())}
    )
    assert "not both" in both.content.decode()


def test_a_host_already_covered_by_another_profile(owner: User, profile: SpecProfile) -> None:
    response = client_for(owner).post(LIST, {"text": PETSTORE_31})
    assert response.status_code == 400
    assert "already covers <code>petstore.swagger.io</code>" in response.content.decode()


def test_replace_makes_a_new_version_used_from_then_on(
    teammate: User, team: Team, profile: SpecProfile
) -> None:
    first = selectors.spec_covering(team_id=team.id, url="http://petstore.swagger.io/v1/pets")
    assert first is not None and first.version.number == 1
    response = upload(
        client_for(teammate), PETSTORE_31, url=reverse("library:replace", args=[profile.id])
    )
    assert response.status_code == 302
    assert list(profile.versions.values_list("number", flat=True)) == [2, 1]
    now = selectors.spec_covering(team_id=team.id, url="http://petstore.swagger.io/v1/pets")
    assert now is not None and now.version.number == 2
    assert now.spec.label == "Swagger Petstore (OpenAPI profile, version 2)"
    assert "api_key" in now.spec.schemes


def test_replace_with_a_bad_document_keeps_the_current_version(
    owner: User, profile: SpecProfile
) -> None:
    response = client_for(owner).post(
        reverse("library:replace", args=[profile.id]), {"text": "{not json"}
    )
    assert response.status_code == 400
    assert "The JSON is not valid" in response.content.decode()
    assert profile.versions.count() == 1


def test_delete(teammate: User, team: Team, profile: SpecProfile) -> None:
    client = client_for(teammate)
    asked = client.get(reverse("library:delete", args=[profile.id]))
    assert asked.status_code == 200
    assert "Delete “Swagger Petstore”?" in asked.content.decode()
    assert SpecProfile.objects.filter(pk=profile.pk).exists()  # asking deletes nothing
    response = client.post(reverse("library:delete", args=[profile.id]))
    assert response.status_code == 302
    assert not SpecProfile.objects.filter(pk=profile.pk).exists()
    assert (
        selectors.spec_covering(team_id=team.id, url="http://petstore.swagger.io/v1/pets") is None
    )


@pytest.mark.parametrize(
    ("who", "detail", "replace", "delete"),
    [
        ("owner", 200, 302, 302),
        ("teammate", 200, 302, 302),
        ("stranger", 404, 404, 404),
        ("anonymous", 302, 302, 302),
    ],
)
def test_access(
    request: pytest.FixtureRequest,
    profile: SpecProfile,
    who: str,
    detail: int,
    replace: int,
    delete: int,
) -> None:
    user = None if who == "anonymous" else request.getfixturevalue(who)
    client = client_for(user)
    got_detail = client.get(reverse("library:profile", args=[profile.id]))
    assert got_detail.status_code == detail
    got_replace = upload(client, PETSTORE_31, url=reverse("library:replace", args=[profile.id]))
    assert got_replace.status_code == replace
    if who == "anonymous":
        assert got_replace["Location"].startswith(reverse("login"))
    asked = client.get(reverse("library:delete", args=[profile.id]))
    assert asked.status_code == (detail if who != "anonymous" else 302)
    got_delete = client.post(reverse("library:delete", args=[profile.id]))
    assert got_delete.status_code == delete
    assert SpecProfile.objects.filter(pk=profile.pk).exists() == (
        delete != 302 or who == "anonymous"
    )


def test_the_list_shows_only_the_current_team(
    stranger: User, other_team: Team, profile: SpecProfile
) -> None:
    page = client_for(stranger).get(LIST).content.decode()
    assert "Swagger Petstore" not in page
    # A stranger's upload of the same hosts is their own team's business.
    assert upload(client_for(stranger), PETSTORE_31).status_code == 302
    assert SpecProfile.objects.for_team(other_team).count() == 1


def test_anonymous_is_sent_to_sign_in() -> None:
    response = Client().get(LIST)
    assert response.status_code == 302 and response["Location"].startswith(reverse("login"))


def test_the_navigation_links_to_profiles(owner: User) -> None:
    page = client_for(owner).get(reverse("home")).content.decode()
    assert f'href="{LIST}">Profiles</a>' in page


def test_stored_document_is_json_data(owner: User, profile: SpecProfile) -> None:
    version = profile.latest
    assert version is not None
    assert (
        json.loads(json.dumps(version.document))["paths"]["/pets"]["get"]["operationId"]
        == "listPets"
    )


def test_uploads_are_rate_limited_and_keep_what_was_pasted(owner: User, team: Team) -> None:
    client = client_for(owner)
    for _ in range(10):
        assert client.post(LIST, {"text": "{not json"}).status_code == 400
    response = client.post(LIST, {"text": PETSTORE_31})
    page = response.content.decode()
    assert response.status_code == 429
    assert "Too many documents uploaded in a short time" in page
    assert "Swagger Petstore" in page  # the pasted text is still in the form
    assert not SpecProfile.objects.filter(team=team).exists()


def test_a_stored_document_that_no_longer_reads_covers_nothing(
    team: Team, profile: SpecProfile
) -> None:
    version = profile.latest
    assert version is not None
    broken = {
        "servers": [{"url": "http://petstore.swagger.io/v1"}],
        "paths": {"/x": {"$ref": "#/no"}},
    }
    SpecVersion.objects.filter(pk=version.pk).update(document=broken)
    assert (
        selectors.spec_covering(team_id=team.id, url="http://petstore.swagger.io/v1/pets") is None
    )
