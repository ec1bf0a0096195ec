"""The API's team vault: owners add, rotate, re-bind and delete secrets; members list them
and read their history; a member's write is a 403 problem, a stranger's call a 404; the
pages' checks answer 422 naming the field; and no answer holds a value, in any encoding."""

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.runs.secrets import fernet
from apps.vault.models import VaultEvent, VaultSecret
from tests.api.conftest import ApiClient
from tests.api.test_api_runs import all_forms

pytestmark = pytest.mark.django_db
VALUE = "kv-7f3a9c-api-secret"
NEW_VALUE = "kv-rotated-api-5521"
BASE = "/api/v1/vault"


def call(api: ApiClient, method: str, path: str, data: object = None):
    return getattr(api.client, method)(
        path, data, content_type="application/json", headers=api.headers
    )


def assert_no_value(text: str) -> None:
    for value in (VALUE, NEW_VALUE):
        for form in all_forms(value):
            assert form not in text, f"{form!r} leaked"


@pytest.fixture
def secret(owner_api: ApiClient, team: Team) -> VaultSecret:
    response = owner_api.post(
        BASE, {"name": "kaiko", "value": VALUE, "hosts": ["*.market-api.kaiko.io"]}
    )
    assert response.status_code == 201, response.content
    return VaultSecret.objects.for_team(team).get()


def test_an_owner_adds_a_secret_answered_without_its_value(
    owner_api: ApiClient, owner: User, team: Team
) -> None:
    response = owner_api.post(
        BASE,
        {"name": "kaiko", "value": VALUE, "hosts": ["*.market-api.kaiko.io", "api.example.com"],
         "description": "prod key"},
    )  # fmt: skip
    assert response.status_code == 201, response.content
    body = response.json()
    secret = VaultSecret.objects.for_team(team).get()
    assert fernet().decrypt(bytes(secret.value_encrypted)).decode() == VALUE
    assert body["id"] == str(secret.pk) and body["reference"] == "{{vault:kaiko}}"
    assert body["hosts"] == ["*.market-api.kaiko.io", "api.example.com"]
    assert (body["version"], body["created_by"]) == (1, owner.get_username())
    assert "value" not in body
    assert_no_value(response.content.decode())
    assert VaultEvent.objects.filter(secret=secret, action="created").exists()


def test_members_list_and_read_secrets_and_their_history_never_a_value(
    teammate_api: ApiClient, owner_api: ApiClient, secret: VaultSecret
) -> None:
    rotated = call(owner_api, "post", f"{BASE}/{secret.pk}/rotate", {"value": NEW_VALUE})
    assert rotated.status_code == 200
    answers = [
        teammate_api.get(BASE),
        teammate_api.get(f"{BASE}/{secret.pk}"),
        teammate_api.get(f"{BASE}/{secret.pk}/events"),
    ]
    assert all(a.status_code == 200 for a in answers)
    assert [s["name"] for s in answers[0].json()] == ["kaiko"]
    assert answers[1].json()["version"] == 2
    assert [e["action"] for e in answers[2].json()] == ["rotated", "created"]
    for answer in answers:
        assert_no_value(answer.content.decode())


def test_an_owner_rotates_rebinds_and_deletes(owner_api: ApiClient, secret: VaultSecret) -> None:
    rotated = call(owner_api, "post", f"{BASE}/{secret.pk}/rotate", {"value": NEW_VALUE})
    assert rotated.status_code == 200 and rotated.json()["version"] == 2
    assert_no_value(rotated.content.decode())
    secret.refresh_from_db()
    assert fernet().decrypt(bytes(secret.value_encrypted)).decode() == NEW_VALUE
    rebound = call(owner_api, "put", f"{BASE}/{secret.pk}/hosts", {"hosts": ["eu.example.com"]})
    assert rebound.status_code == 200 and rebound.json()["hosts"] == ["eu.example.com"]
    secret.refresh_from_db()
    assert secret.hosts == ["eu.example.com"]
    assert call(owner_api, "delete", f"{BASE}/{secret.pk}").status_code == 204
    assert not VaultSecret.objects.exists()
    assert VaultEvent.objects.filter(secret_name="kaiko", action="deleted").exists()


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("post", "", {"name": "other", "value": VALUE, "hosts": ["api.example.com"]}),
        ("post", "/{id}/rotate", {"value": NEW_VALUE}),
        ("put", "/{id}/hosts", {"hosts": ["evil.example.com"]}),
        ("delete", "/{id}", None),
    ],
)
def test_a_member_who_is_not_an_owner_is_refused_with_403_and_nothing_changes(
    teammate_api: ApiClient, secret: VaultSecret, method: str, suffix: str, data: object
) -> None:
    response = call(teammate_api, method, BASE + suffix.format(id=secret.pk), data)
    assert response.status_code == 403
    assert response["Content-Type"] == "application/problem+json"
    assert "owners" in response.json()["detail"]
    assert_no_value(response.content.decode())
    secret.refresh_from_db()
    assert (secret.version, secret.hosts) == (1, ["*.market-api.kaiko.io"])
    assert VaultSecret.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "suffix", "data"),
    [
        ("get", "/{id}", None),
        ("get", "/{id}/events", None),
        ("post", "/{id}/rotate", {"value": NEW_VALUE}),
        ("put", "/{id}/hosts", {"hosts": ["evil.example.com"]}),
        ("delete", "/{id}", None),
    ],
)
def test_a_stranger_gets_404_and_nothing_changes(
    stranger_api: ApiClient, secret: VaultSecret, method: str, suffix: str, data: object
) -> None:
    response = call(stranger_api, method, BASE + suffix.format(id=secret.pk), data)
    assert response.status_code == 404
    secret.refresh_from_db()
    assert (secret.version, secret.hosts) == (1, ["*.market-api.kaiko.io"])
    assert stranger_api.get(BASE).json() == []


@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"name": "1bad", "value": VALUE, "hosts": ["a.example"]}, "name", "starts with a letter"),
        ({"name": "kaiko", "value": VALUE, "hosts": ["a.example"]}, "name", "already"),
        ({"name": "ok", "value": VALUE, "hosts": ["https://a.example/x"]}, "hosts",
         "not a host pattern"),
        ({"name": "ok", "value": VALUE, "hosts": []}, "hosts", "required"),
        ({"name": "ok", "value": VALUE + "\n", "hosts": ["a.example"]}, "value",
         "no line breaks"),
        ({"name": "ok", "value": "", "hosts": ["a.example"]}, "value", "required"),
    ],
)  # fmt: skip
def test_a_bad_secret_is_a_problem_naming_the_field_without_its_value(
    owner_api: ApiClient, secret: VaultSecret, data: dict, field: str, message: str
) -> None:
    response = owner_api.post(BASE, data)
    assert response.status_code == 422, response.content
    errors = response.json()["errors"]
    assert any(e["field"] == field and message in e["message"] for e in errors), errors
    assert_no_value(response.content.decode())
    assert VaultSecret.objects.count() == 1


def test_a_bad_rotation_or_hosts_change_is_a_problem_and_nothing_changes(
    owner_api: ApiClient, secret: VaultSecret
) -> None:
    rotated = call(owner_api, "post", f"{BASE}/{secret.pk}/rotate", {"value": "a\tb"})
    assert rotated.status_code == 422 and rotated.json()["errors"][0]["field"] == "value"
    rebound = call(owner_api, "put", f"{BASE}/{secret.pk}/hosts", {"hosts": ["a/b"]})
    assert rebound.status_code == 422 and rebound.json()["errors"][0]["field"] == "hosts"
    secret.refresh_from_db()
    assert (secret.version, secret.hosts) == (1, ["*.market-api.kaiko.io"])
