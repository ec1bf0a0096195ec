"""A collection written out (apps.library.exporters): own JSON and Postman v2.1, with every
secret value turned into a variable listed without its value."""

import json

import pytest
from django.contrib.auth.models import User

from apps.accounts.models import Team
from apps.library.exporters import POSTMAN_SCHEMA, native_export, postman_export
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.importers.native import FORMAT, VERSION
from apps.library.models import Collection
from apps.library.services import import_collection

pytestmark = pytest.mark.django_db

KEY = "exported-api-key-0123456789"
TOKEN = "exported-bearer-token-987654"
QUERY_SECRET = "exported-query-secret-42"


@pytest.fixture
def collection(team: Team, owner: User) -> Collection:
    return import_collection(
        team=team,
        user=owner,
        imported=ImportedCollection(
            name="Market",
            description="Kaiko data",
            variables=[("base", "https://api.example.com")],
            requests=[
                ImportedRequest(
                    name="trades",
                    method="GET",
                    url="{{base}}/trades",
                    folder="Data/Spot",
                    headers=[("Authorization", f"Bearer {TOKEN}"), ("Accept", "application/json")],
                    params=[("access_token", QUERY_SECRET), ("page_size", "5")],
                    api_key=KEY,
                    description="The trades",
                ),
                ImportedRequest(
                    name="templated",
                    method="POST",
                    url="{{base}}/hook?x=1",
                    headers=[("Authorization", "Bearer {{token}}")],
                    params=[("page", "2")],
                    body='{"a": 1}',
                ),
            ],
        ),
    )


def test_the_own_export_holds_no_secret_and_lists_its_variables(collection: Collection) -> None:
    exported = native_export(collection)
    text = json.dumps(exported)
    assert not any(secret in text for secret in (KEY, TOKEN, QUERY_SECRET))
    assert (exported["format"], exported["version"]) == (FORMAT, VERSION)
    assert (exported["name"], exported["description"]) == ("Market", "Kaiko data")
    assert exported["variables"] == [
        {"name": "base", "value": "https://api.example.com"},
        {"name": "access_token", "value": ""},
        {"name": "api_key", "value": ""},
        {"name": "authorization", "value": ""},
    ]
    trades = next(r for r in exported["requests"] if r["name"] == "trades")
    assert trades["folder"] == "Data/Spot"
    assert trades["api_key"] == "{{api_key}}"
    assert ["Authorization", "Bearer {{authorization}}"] in trades["headers"]
    assert ["Accept", "application/json"] in trades["headers"]
    assert ["access_token", "{{access_token}}"] in trades["params"]
    assert ["page_size", "5"] in trades["params"]


def test_a_value_made_of_variables_only_is_kept(collection: Collection) -> None:
    templated = next(r for r in native_export(collection)["requests"] if r["name"] == "templated")
    assert ["Authorization", "Bearer {{token}}"] in templated["headers"]
    assert templated["api_key"] == ""


def test_the_postman_export_nests_folders_and_writes_the_key_as_auth(
    collection: Collection,
) -> None:
    exported = postman_export(collection)
    text = json.dumps(exported)
    assert not any(secret in text for secret in (KEY, TOKEN, QUERY_SECRET))
    assert exported["info"] == {
        "name": "Market",
        "description": "Kaiko data",
        "schema": POSTMAN_SCHEMA,
    }
    data = next(item for item in exported["item"] if item.get("name") == "Data")
    (spot,) = data["item"]
    assert spot["name"] == "Spot"
    (trades,) = spot["item"]
    request = trades["request"]
    assert request["url"]["raw"].startswith("{{base}}/trades?")
    assert "access_token={{access_token}}" in request["url"]["raw"]
    assert request["auth"]["apikey"] == [
        {"key": "key", "value": "X-Api-Key"},
        {"key": "value", "value": "{{api_key}}"},
        {"key": "in", "value": "header"},
    ]
    assert request["description"] == "The trades"
    assert "body" not in request
    templated = next(item for item in exported["item"] if item["name"] == "templated")
    assert templated["request"]["url"]["raw"] == "{{base}}/hook?x=1&page=2"
    assert templated["request"]["body"] == {"mode": "raw", "raw": '{"a": 1}'}
    assert "auth" not in templated["request"]
    assert {"key": "api_key", "value": ""} in exported["variable"]
