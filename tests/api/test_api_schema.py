"""The OpenAPI 3.1 document, its docs page, and schemathesis against the API (WSGI mode):
no 5xx, and every answer conforms to the document (status, content type, headers, body)."""

import functools
import json
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from django.test import Client
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.definitions import OPENAPI_31_VALIDATOR

from apps.accounts import services as account_services
from apps.accounts.models import Membership, Team
from apps.api import api as api_module
from apps.api import services as api_services
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import CollectionRun, Environment
from apps.library.services import check_document, create_profile, import_collection
from apps.monitors import services as monitor_services
from apps.sharing import services as sharing_services
from apps.vault import services as vault_services
from tests.api.conftest import make_token
from tests.support.factories import finished_run
from tests.web.test_runs_run_timings import HOP

pytestmark = pytest.mark.django_db


def test_the_document_is_openapi_3_1_and_public(db: None) -> None:
    response = Client().get("/api/v1/openapi.json")
    assert response.status_code == 200

    def no_duplicate_keys(pairs: list[tuple[str, object]]) -> dict:
        keys = [key for key, _ in pairs]
        assert len(keys) == len(set(keys)), f"duplicate keys in the document: {keys}"
        return dict(pairs)

    document = json.loads(response.content, object_pairs_hook=no_duplicate_keys)
    assert document["openapi"].startswith("3.1")
    # Valid against the OpenAPI 3.1 meta-schema (the one schemathesis ships and uses).
    problems = [error.message for error in OPENAPI_31_VALIDATOR.iter_errors(document)]
    assert problems == []
    assert document["components"]["securitySchemes"]["TokenAuth"]["scheme"] == "bearer"
    paths = document["paths"]
    for path in (
        "/api/v1/runs",
        "/api/v1/runs/curl",
        "/api/v1/runs/{run_id}",
        "/api/v1/runs/{run_id}/retry",
        "/api/v1/runs/{run_id}/share-links",
        "/api/v1/exports/runs.har",
        "/api/v1/diagnose",
    ):
        assert path in paths
    errors = paths["/api/v1/runs"]["post"]["responses"]["422"]["content"]
    assert list(errors) == ["application/problem+json"]
    assert "api_key" not in json.dumps(document["components"]["schemas"]["RunOut"])


def test_the_docs_page_loads_its_assets_from_this_site(db: None) -> None:
    response = Client().get("/api/v1/docs")
    assert response.status_code == 200
    page = response.content.decode()
    sources = re.findall(r'(?:src|href)="([^"]+)"', page)
    assert sources and all(source.startswith("/static/") for source in sources), sources
    policy = response["Content-Security-Policy"]
    assert "script-src 'self'" in policy and "cdn" not in policy


# schemathesis --------------------------------------------------------------------------------

MAX_EXAMPLES = 12  # per operation: the whole run stays well under a minute
# "Schema-valid data is accepted" does not hold for this API by design: the document gives
# the shape of each field, and the same validation as the pages then judges its meaning (a
# URL the address policy refuses, a member who is not in the team, a filter that names no
# diagnosis), answering 422 with the field named. Every other check runs.
EXCLUDED_CHECKS = [schemathesis.checks.positive_data_acceptance]
KAIKO = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges"
OPENAPI = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
# Bodies that are valid in meaning too, sent for every third case of their operation, so
# that the success answers of the writes are checked against the document as well.
VALID_BODIES: dict[tuple[str, str], dict[str, Any]] = {
    ("POST", "/api/v1/runs"): {"url": KAIKO, "api_key": "k-123456"},
    ("POST", "/api/v1/runs/curl"): {"command": f"curl -H 'Accept: application/json' {KAIKO}"},
    ("POST", "/api/v1/channels"): {
        "name": "Ops",
        "kind": "slack",
        "target": "http://127.0.0.1:9/x",
    },
    ("POST", "/api/v1/runs/{run_id}/try-fix"): {"cause": "kaiko.429.page_size"},
    ("POST", "/api/v1/collections/import"): {
        "text": (OPENAPI.parent / "postman" / "market-data.postman_collection.json").read_text()
    },
    ("POST", "/api/v1/har"): {
        "text": json.dumps({"log": {"entries": [{"request": {"method": "GET", "url": KAIKO}}]}}),
        "entries": [0],
        "action": "submit",
    },
    ("POST", "/api/v1/environments"): {
        "name": "staging",
        "variables": [{"name": "host", "value": "x.example"}],
    },
    ("PATCH", "/api/v1/saved-requests/{saved_id}"): {"name": "Renamed", "folder": "A/B"},
    ("PATCH", "/api/v1/environments/{environment_id}"): {"name": "renamed"},
    ("POST", "/api/v1/team/invites"): {"lifetime": "7"},
    ("POST", "/api/v1/team/members/{membership_id}/role"): {"role": "owner"},
    ("PUT", "/api/v1/team/settings"): {"send_traceparent": True},
    ("PUT", "/api/v1/status-page"): {"enabled": True, "new_address": True},
    ("POST", "/api/v1/vault"): {"name": "other", "value": "kv-1", "hosts": ["api.example.com"]},
    ("POST", "/api/v1/vault/{secret_id}/rotate"): {"value": "kv-2"},
    ("PUT", "/api/v1/vault/{secret_id}/hosts"): {"hosts": ["*.example.com"]},
    ("POST", "/api/v1/profiles"): {"text": (OPENAPI / "kaiko-like.yaml").read_text()},
    ("POST", "/api/v1/profiles/{profile_id}/versions"): {
        "text": (OPENAPI / "petstore-3.1.json").read_text()
    },
    ("POST", "/api/v1/diagnose"): {
        "request": {"method": "GET", "url": KAIKO},
        "response": {"status": 401, "body": '{"message": "Unauthorized"}'},
    },
}


@functools.cache
def _document() -> schemathesis.BaseSchema:
    """Loaded once for all the operations (0.4 s a load): the document does not change."""
    return schemathesis.openapi.from_wsgi("/api/v1/openapi.json", get_wsgi_application())


@pytest.fixture
def api_schema(db: None) -> Iterator[schemathesis.BaseSchema]:
    """The document, loaded through the WSGI application, which the calls then go through.

    As Django's test client does, requests keep the test's database connection (else the
    end of each request would close it inside the test's transaction).
    """
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield _document()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


def _operations() -> list[tuple[str, str]]:
    """(method, path) of every operation the document describes, read once at collection."""
    from apps.api.api import api

    document = api.get_openapi_schema()
    return [
        (method.upper(), path)
        for path, operations in document["paths"].items()
        for method in operations
    ]


RATE_LIMITED = {
    "code": "kaiko.429", "severity": "warning", "title": "Rate limit reached",
    "profile": "kaiko", "profile_name": "Kaiko market-data API", "retryable": True,
    "retry_after_seconds": 2, "playbooks": ["back-off"],
    # A cause with a fix, for POST /runs/{run_id}/try-fix.
    "causes": [{"code": "kaiko.429.page_size", "title": "Small pages", "fix": {
        "kind": "set_param", "summary": "Set `page_size` to `100`.",
        "changes": {"param": "page_size", "value": "100"}}}],
}  # fmt: skip


@pytest.fixture
def world(team: Team, owner: User, monkeypatch: pytest.MonkeyPatch, settings: object) -> dict:
    """A team with a finished run and a share link, a token, no rate limit in the way, and
    `wait` that does not hold the answer (no worker runs here)."""
    settings.RATELIMIT_API = "100000/m"  # type: ignore[attr-defined]
    settings.RATELIMIT_SUBMIT = "100000/m"  # type: ignore[attr-defined]
    monkeypatch.setattr(api_module, "wait_for_run", lambda run, seconds: run)
    # Measured (timings, connection, TLS, request ids): the answers' facts are checked too.
    run = finished_run(
        team,
        owner,
        response_status=429,
        diagnosis=RATE_LIMITED,
        hops=[HOP.to_dict()],
        response_headers=[["X-Request-Id", "req-1"], ["Server-Timing", "db;dur=4"]],
        sent_headers=[["traceparent", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"]],
    )
    link, _ = sharing_services.create_link(
        run=run, created_by=owner, visibility="team", lifetime=None
    )
    # Monitors and channels: nothing published (no broker here), the local hook allowed.
    monkeypatch.setattr(monitor_services, "publish_check", lambda check_id: True)
    monkeypatch.setattr(monitor_services, "publish_delivery", lambda delivery_id: True)
    settings.EGRESS_ALLOWLIST = ["127.0.0.1"]  # type: ignore[attr-defined]
    monitor = monitor_services.create_monitor(
        team=team,
        user=owner,
        source_run=run,
        name="m",
        interval_seconds=60,
        assertion_list=[{"kind": "status", "ranges": [[200, 299]]}],
    )
    channel, _ = monitor_services.create_channel(
        team=team, user=owner, name="c", kind="slack", target="http://127.0.0.1:9/x"
    )
    imported = ImportedCollection(
        name="C", requests=[ImportedRequest(name="trades", method="GET", url=KAIKO)]
    )
    collection = import_collection(team=team, user=owner, imported=imported)
    environment = Environment.objects.create(team=team, name="prod", variables=[["a", "1"]])
    secret = vault_services.create_secret(
        team=team, user=owner, name="kaiko", value="kv-0", hosts=["a.example"]
    )
    collection_run = CollectionRun.objects.create(team=team, collection=collection)
    petstore = (OPENAPI / "petstore-3.0.yaml").read_text()
    checked = check_document(raw=petstore, source_name="petstore.yaml")
    profile = create_profile(team=team, user=owner, checked=checked).profile
    return {
        "token": make_token(owner, team), "run": run, "link": link, "monitor": monitor,
        "channel": channel, "collection_run": collection_run, "profile": profile,
        "collection": collection, "saved": collection.requests.get(), "environment": environment,
        "secret": secret,
        "membership": Membership.objects.get(user=owner, team=team),
        "invite": account_services.create_invite(
            team=team, created_by=owner, lifetime=timedelta(days=1)
        )[0],
        "api_token": api_services.create_token(
            user=owner, team=team, name="spare", lifetime=timedelta(days=1)
        )[0],
    }  # fmt: skip


@pytest.mark.parametrize(("method", "path"), _operations())
def test_the_api_conforms_to_its_document(
    api_schema: schemathesis.BaseSchema, world: dict, method: str, path: str
) -> None:
    """Generated requests, valid and not, through the WSGI application; schemathesis's
    checks (no 5xx, documented status, content type, headers and body) on each answer."""
    operation = api_schema[path][method]
    headers = {"Authorization": f"Bearer {world['token']}"}
    calls: list[int] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=MAX_EXAMPLES,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def check(case: schemathesis.Case) -> None:
        # Every other case names the team's own run and link, so that answers other than
        # 404 are generated and checked too.
        if case.path_parameters and len(calls) % 2 == 0:
            if "run_id" in case.path_parameters:
                case.path_parameters["run_id"] = str(world["run"].id)
            if "link_id" in case.path_parameters:
                case.path_parameters["link_id"] = str(world["link"].id)
            if "monitor_id" in case.path_parameters:
                case.path_parameters["monitor_id"] = str(world["monitor"].id)
            if "channel_id" in case.path_parameters:
                case.path_parameters["channel_id"] = str(world["channel"].id)
            if "collection_run_id" in case.path_parameters:
                case.path_parameters["collection_run_id"] = str(world["collection_run"].id)
            for name in ("profile", "collection", "saved", "environment", "secret", "invite"):
                if f"{name}_id" in case.path_parameters:
                    case.path_parameters[f"{name}_id"] = str(world[name].id)
            if "other_id" in case.path_parameters:
                case.path_parameters["other_id"] = str(world["run"].id)
            if "membership_id" in case.path_parameters:
                case.path_parameters["membership_id"] = world["membership"].id
            if "token_id" in case.path_parameters:
                case.path_parameters["token_id"] = str(world["api_token"].id)
        if (method, path) in VALID_BODIES and len(calls) % 3 == 0:
            case.body = VALID_BODIES[(method, path)]
        response = case.call_and_validate(headers=headers, excluded_checks=EXCLUDED_CHECKS)
        calls.append(response.status_code)

    check()
    assert calls, "schemathesis generated no request"
    named = any(
        f"{{{name}}}" in path
        for name in ("run_id", "monitor_id", "channel_id", "profile_id", "collection_id",
                     "saved_id", "environment_id", "secret_id", "token_id", "invite_id")
    )  # fmt: skip
    if (method, path) in VALID_BODIES or named or method == "GET":
        assert any(code < 400 for code in calls), calls


@pytest.mark.parametrize("path", ["/api/", "/api/v1/", "/api/v1/nope", "/api/v1/runs/not-a-uuid"])
def test_other_api_addresses_answer_a_problem(db: None, path: str) -> None:
    response = Client().get(path)
    assert response.status_code == 404
    assert response["Content-Type"] == "application/problem+json"
    assert "/api/v1/docs" in response.json()["detail"]


def test_no_two_shapes_share_a_name() -> None:
    """The document names each shape by its class: two classes of one name would make one
    shape stand for both, and answers of the other would not conform."""
    from ninja import Schema

    from apps.api import compare, library, monitors, profiles, schemas, team, tokens, vault

    names: dict[str, str] = {}
    for module in (schemas, monitors, profiles, library, vault, tokens, compare, team):
        for name, value in vars(module).items():
            if isinstance(value, type) and issubclass(value, Schema) and value is not Schema:
                if value.__module__ != module.__name__:
                    continue  # imported, not defined here
                assert name not in names, f"{name} in {names[name]} and {module.__name__}"
                names[name] = module.__name__
