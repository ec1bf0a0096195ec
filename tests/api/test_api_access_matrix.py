"""The access matrix of EVERY endpoint of the API, read from its router: owner and teammate
(tokens of the team: the endpoint works), stranger (a token of another team: 404 for the
team's objects, which stay as they were, and never their data; the same for a token its
owner made for another team they are in), anonymous, revoked and
expired tokens (401 as a problem, and nothing done).

`test_the_matrix_names_every_endpoint` fails when an endpoint is added without a row here,
so a new endpoint cannot go unchecked.
"""

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client

from apps.accounts import services as account_services
from apps.accounts.models import Invite, Membership, Team
from apps.api import services as api_services
from apps.api.api import api
from apps.api.models import ApiToken
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import (
    Collection,
    CollectionRun,
    Environment,
    SavedRequest,
    SpecProfile,
)
from apps.library.services import check_document, create_profile, import_collection
from apps.monitors import services as monitor_services
from apps.monitors.models import AlertChannel, Delivery, Monitor, StatusPage
from apps.runs.models import Attempt, Run
from apps.sharing import services as sharing_services
from apps.sharing.models import ShareLink
from apps.vault import services as vault_services
from apps.vault.models import VaultSecret
from tests.api.conftest import ApiClient, make_token
from tests.support.factories import finished_run
from tests.web.test_runs_try_fix import CAUSE, key_in_query_run

pytestmark = pytest.mark.django_db

BASE = "/api/v1"
KAIKO_URL = "https://us.market-api.kaiko.io/v2/data/trades.v1/exchanges"
OPENAPI = Path(__file__).resolve().parent.parent / "fixtures" / "openapi"
PETSTORE_30 = (OPENAPI / "petstore-3.0.yaml").read_text()
PETSTORE_31 = (OPENAPI / "petstore-3.1.json").read_text()
KAIKO_LIKE_SPEC = (OPENAPI / "kaiko-like.yaml").read_text()
HAR_TEXT = json.dumps(
    {"log": {"entries": [{"request": {"method": "GET", "url": KAIKO_URL, "headers": []}}]}}
)
# Filled into a row's path: `{run_id}` is the team's 401 run, and so on.
World = dict[str, Any]


@dataclass(frozen=True)
class Row:
    """One endpoint: what a member sends and the status they get back (409: refused for the
    object's state, as a problem, past the access check). `names_in_body`: the body names a
    team object, so a stranger's call is refused at that field (422) or not found (404).
    `owner_only`: the team's owners only (as on the pages): a teammate is refused, 403 as a
    problem. `own_team`: see its comment."""

    body: Callable[[World], object] | None = None
    member: frozenset[int] = frozenset({200})
    names_in_body: bool = False
    owner_only: bool = False
    # For an endpoint of the caller's own team without ids: what a stranger may get there,
    # when not only a success (leaving a team they alone own is refused, 409).
    own_team: frozenset[int] | None = None


def _ok(*codes: int) -> frozenset[int]:
    return frozenset(codes)


MATRIX: dict[tuple[str, str], Row] = {
    ("GET", "/me"): Row(),
    ("GET", "/runs"): Row(),
    ("POST", "/runs"): Row(lambda w: {"url": KAIKO_URL}, _ok(201)),
    ("POST", "/runs/curl"): Row(lambda w: {"command": f"curl {KAIKO_URL}"}, _ok(201)),
    ("GET", "/runs/{run_id}"): Row(),
    ("POST", "/runs/{run_id}/retry"): Row(lambda w: {}),
    # A 401 is not worth retrying with backoff: refused for its state (409), past the access check.
    ("POST", "/runs/{run_id}/retry-with-backoff"): Row(lambda w: {}, _ok(409)),
    ("POST", "/runs/{run_id}/cancel"): Row(lambda w: {}),
    ("POST", "/runs/{run_id}/reauthenticate"): Row(lambda w: {"api_key": "k-1234"}, _ok(201)),
    ("POST", "/runs/{run_id}/try-fix"): Row(lambda w: {"cause": CAUSE}, _ok(201)),
    ("GET", "/runs/{run_id}/compare/{other_id}"): Row(),
    ("GET", "/trends"): Row(),
    ("GET", "/incidents"): Row(),
    ("GET", "/exports/runs.csv"): Row(),
    ("GET", "/exports/runs.har"): Row(),
    ("POST", "/runs/{run_id}/share-links"): Row(lambda w: {"lifetime": "1d"}, _ok(201)),
    ("GET", "/runs/{run_id}/share-links"): Row(),
    ("POST", "/runs/{run_id}/share-links/{link_id}/revoke"): Row(lambda w: {}),
    (
        "POST",
        "/diagnose",
    ): Row(
        lambda w: {"request": {"method": "GET", "url": KAIKO_URL}, "response": {"status": 401}},
        _ok(201),
    ),
    ("POST", "/runs/{run_id}/save"): Row(lambda w: {"collection": "Kept"}, _ok(201)),
    ("GET", "/collections"): Row(),
    ("GET", "/environments"): Row(),
    ("POST", "/saved-requests/run"): Row(
        lambda w: {"saved": str(w["saved"].id)}, _ok(201), names_in_body=True
    ),
    ("POST", "/collections/run"): Row(
        lambda w: {"collection": str(w["collection"].id)}, _ok(201), names_in_body=True
    ),
    ("GET", "/collection-runs/{collection_run_id}"): Row(),
    ("GET", "/monitors"): Row(),
    ("POST", "/monitors"): Row(
        lambda w: {
            "run_id": str(w["run"].id),
            "name": "Made",
            "interval_seconds": 60,
            "assertions": ["status in 200-299"],
        },
        _ok(201),
        names_in_body=True,
    ),
    ("GET", "/monitors/{monitor_id}"): Row(),
    ("PATCH", "/monitors/{monitor_id}"): Row(lambda w: {"name": "Renamed"}),
    ("DELETE", "/monitors/{monitor_id}"): Row(member=_ok(204)),
    ("POST", "/monitors/{monitor_id}/pause"): Row(lambda w: {}),
    ("POST", "/monitors/{monitor_id}/resume"): Row(lambda w: {}),
    ("POST", "/monitors/{monitor_id}/check-now"): Row(lambda w: {}, _ok(202)),
    ("GET", "/monitors/{monitor_id}/history"): Row(),
    ("GET", "/status-page"): Row(),
    ("PUT", "/status-page"): Row(lambda w: {"enabled": True, "new_address": True}),
    ("GET", "/channels"): Row(),
    ("POST", "/channels"): Row(
        lambda w: {"name": "Ops", "kind": "slack", "target": "http://127.0.0.1:9/x"}, _ok(201)
    ),
    ("GET", "/channels/{channel_id}"): Row(),
    ("GET", "/channels/{channel_id}/deliveries"): Row(),
    ("POST", "/channels/{channel_id}/test"): Row(lambda w: {}, _ok(202)),
    ("DELETE", "/channels/{channel_id}"): Row(member=_ok(204)),
    ("POST", "/collections/import"): Row(lambda w: {"text": HAR_TEXT}, _ok(201)),
    ("POST", "/har"): Row(
        lambda w: {"text": HAR_TEXT, "entries": [0], "action": "save", "name": "H"}, _ok(201)
    ),
    ("GET", "/collections/{collection_id}"): Row(),
    ("GET", "/collections/{collection_id}/export"): Row(),
    ("DELETE", "/collections/{collection_id}"): Row(member=_ok(204)),
    ("GET", "/saved-requests/{saved_id}"): Row(),
    ("PATCH", "/saved-requests/{saved_id}"): Row(lambda w: {"name": "Renamed"}),
    ("DELETE", "/saved-requests/{saved_id}"): Row(member=_ok(204)),
    ("POST", "/environments"): Row(lambda w: {"name": "staging"}, _ok(201)),
    ("PATCH", "/environments/{environment_id}"): Row(lambda w: {"name": "renamed"}),
    ("DELETE", "/environments/{environment_id}"): Row(member=_ok(204)),
    ("GET", "/tokens"): Row(),
    # The world's token is the teammate's: theirs to revoke, and the owner's as an owner.
    ("POST", "/tokens/{token_id}/revoke"): Row(lambda w: {}),
    ("GET", "/team/members"): Row(),
    ("POST", "/team/members/{membership_id}/role"): Row(
        lambda w: {"role": "owner"}, owner_only=True
    ),
    ("DELETE", "/team/members/{membership_id}"): Row(member=_ok(204), owner_only=True),
    # The world's owner is the team's only owner: they may not leave it; the teammate may.
    ("POST", "/team/leave"): Row(lambda w: {}, _ok(204, 409), own_team=_ok(204, 409)),
    ("GET", "/team/settings"): Row(),
    ("PUT", "/team/settings"): Row(lambda w: {"send_traceparent": True}, owner_only=True),
    ("GET", "/team/invites"): Row(owner_only=True),
    ("POST", "/team/invites"): Row(lambda w: {"lifetime": "1"}, _ok(201), owner_only=True),
    ("POST", "/team/invites/{invite_id}/revoke"): Row(lambda w: {}, owner_only=True),
    ("GET", "/vault"): Row(),
    ("POST", "/vault"): Row(
        lambda w: {"name": "other", "value": "kv-matrix-1", "hosts": ["api.example.com"]},
        _ok(201),
        owner_only=True,
    ),
    ("GET", "/vault/{secret_id}"): Row(),
    ("GET", "/vault/{secret_id}/events"): Row(),
    ("POST", "/vault/{secret_id}/rotate"): Row(lambda w: {"value": "kv-matrix-2"}, owner_only=True),
    ("PUT", "/vault/{secret_id}/hosts"): Row(lambda w: {"hosts": ["b.example"]}, owner_only=True),
    ("DELETE", "/vault/{secret_id}"): Row(member=_ok(204), owner_only=True),
    ("GET", "/profiles"): Row(),
    ("POST", "/profiles"): Row(lambda w: {"text": KAIKO_LIKE_SPEC}, _ok(201)),
    ("GET", "/profiles/{profile_id}"): Row(),
    ("POST", "/profiles/{profile_id}/versions"): Row(lambda w: {"text": PETSTORE_31}, _ok(201)),
    ("DELETE", "/profiles/{profile_id}"): Row(member=_ok(204)),
}


def _router_operations() -> set[tuple[str, str]]:
    document = api.get_openapi_schema()
    return {
        (method.upper(), path.removeprefix(BASE))
        for path, operations in document["paths"].items()
        for method in operations
    }


def test_the_matrix_names_every_endpoint() -> None:
    operations = _router_operations()
    assert len(operations) >= 35
    assert operations - set(MATRIX) == set(), "endpoints missing from the access matrix"
    assert set(MATRIX) - operations == set(), "rows of endpoints the API no longer has"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """Monitors' checks and alerts are not published (no broker here); the local hook of the
    channels is allowed."""
    monkeypatch.setattr(monitor_services, "publish_check", lambda check_id: True)
    monkeypatch.setattr(monitor_services, "publish_delivery", lambda delivery_id: True)
    settings.EGRESS_ALLOWLIST = ["127.0.0.1"]


@pytest.fixture
def world(team: Team, owner: User, teammate: User) -> World:
    """One object of the team for each kind an endpoint names."""
    run = finished_run(team, owner, response_status=401)
    link, _ = sharing_services.create_link(
        run=run, created_by=owner, visibility="team", lifetime=None
    )
    monitor = monitor_services.create_monitor(
        team=team,
        user=owner,
        source_run=run,
        name="m",
        interval_seconds=60,
        assertion_list=[{"kind": "status", "ranges": [[200, 299]]}],
    )
    monitor_services.set_status_page(team=team, enabled=True)
    channel, _ = monitor_services.create_channel(
        team=team, user=owner, name="c", kind="slack", target="http://127.0.0.1:9/x"
    )
    imported = ImportedCollection(
        name="Kaiko", requests=[ImportedRequest(name="trades", method="GET", url=KAIKO_URL)]
    )
    collection = import_collection(team=team, user=owner, imported=imported)
    environment = Environment.objects.create(
        team=team, name="prod", variables=[["host", "x.example"]]
    )
    checked = check_document(raw=PETSTORE_30, source_name="petstore.yaml")
    profile = create_profile(team=team, user=owner, checked=checked).profile
    return {
        "run": run,
        "fixable": key_in_query_run(team, owner),
        "link": link,
        "monitor": monitor,
        "channel": channel,
        "collection": collection,
        "saved": collection.requests.get(),
        "collection_run": CollectionRun.objects.create(team=team, collection=collection),
        "profile": profile,
        "environment": environment,
        "membership": Membership.objects.get(user=teammate, team=team),
        "invite": account_services.create_invite(
            team=team, created_by=owner, lifetime=timedelta(days=1)
        )[0],
        "api_token": api_services.create_token(
            user=teammate, team=team, name="ci", lifetime=timedelta(days=1)
        )[0],
        "secret": vault_services.create_secret(
            team=team, user=owner, name="kaiko", value="kv-matrix-0", hosts=["a.example"]
        ),
    }


def _path(template: str, world: World) -> str:
    run = world["fixable"] if template.endswith("/try-fix") else world["run"]
    return BASE + template.format(
        run_id=run.id,
        link_id=world["link"].id,
        monitor_id=world["monitor"].id,
        channel_id=world["channel"].id,
        collection_run_id=world["collection_run"].id,
        profile_id=world["profile"].id,
        collection_id=world["collection"].id,
        saved_id=world["saved"].id,
        environment_id=world["environment"].id,
        secret_id=world["secret"].id,
        token_id=world["api_token"].id,
        other_id=world["fixable"].id,
        invite_id=world["invite"].id,
        membership_id=world["membership"].id,
    )


def _call(api_client: ApiClient, method: str, template: str, world: World) -> Any:
    body = MATRIX[(method, template)].body
    client: Client = api_client.client
    return getattr(client, method.lower())(
        _path(template, world),
        body(world) if body else None,
        content_type="application/json",
        headers=api_client.headers,
    )


def _content(response: Any) -> bytes:
    return b"".join(response.streaming_content) if response.streaming else response.content


def _state(team: Team) -> dict[str, object]:
    """What any endpoint could change of the team, to compare before and after a call."""
    return {
        "runs": sorted((str(r.id), r.status) for r in Run.objects.filter(team=team)),
        "attempts": Attempt.objects.filter(run__team=team).count(),
        "links": sorted(
            (str(link.id), link.revoked_at is None)
            for link in ShareLink.objects.filter(run__team=team)
        ),
        "monitors": sorted(
            (str(m.id), m.name, m.paused, m.next_check_at)
            for m in Monitor.objects.filter(team=team)
        ),
        "channels": sorted(str(c.id) for c in AlertChannel.objects.filter(team=team)),
        "deliveries": Delivery.objects.filter(channel__team=team).count(),
        "collections": Collection.objects.filter(team=team).count(),
        "saved": sorted(
            (str(s.id), s.name) for s in SavedRequest.objects.filter(collection__team=team)
        ),
        "environments": sorted((str(e.id), e.name) for e in Environment.objects.filter(team=team)),
        "collection_runs": CollectionRun.objects.filter(team=team).count(),
        "status_page": list(StatusPage.objects.filter(team=team).values_list("enabled", "key")),
        "members": sorted((m.id, m.role) for m in Membership.objects.filter(team=team)),
        "send_traceparent": Team.objects.get(pk=team.pk).send_traceparent,
        "invites": sorted(
            (str(i.id), i.revoked_at is None) for i in Invite.objects.filter(team=team)
        ),
        "tokens": sorted(
            (str(t.id), t.revoked_at is None) for t in ApiToken.objects.filter(team=team)
        ),
        "vault": sorted(
            (str(v.id), v.version, tuple(v.hosts)) for v in VaultSecret.objects.filter(team=team)
        ),
        "profiles": sorted(
            (str(p.id), p.versions.count()) for p in SpecProfile.objects.filter(team=team)
        ),
    }


def _ids(world: World, sent: str = "") -> list[bytes]:
    """The ids of the team's objects, but those the caller sent itself (a refusal may name
    what it was given). A membership's id is a small number, found in any text: its rows
    are checked by the state compared instead."""
    return [
        str(obj.id).encode()
        for obj in world.values()
        if not isinstance(obj.id, int) and str(obj.id) not in sent
    ]


ENDPOINTS = sorted(MATRIX)


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
@pytest.mark.parametrize("who", ["owner_api", "teammate_api"])
def test_members_of_the_team_use_every_endpoint(
    request: pytest.FixtureRequest, world: World, who: str, method: str, template: str
) -> None:
    caller = request.getfixturevalue(who)
    before = _state(world["run"].team)
    response = _call(caller, method, template, world)
    row = MATRIX[(method, template)]
    if row.owner_only and who == "teammate_api":
        assert response.status_code == 403, _content(response)[:500]
        assert _state(world["run"].team) == before
    else:
        assert response.status_code in row.member, _content(response)[:500]
    if response.status_code in {403, 409}:
        assert response["Content-Type"] == "application/problem+json"


@pytest.fixture
def other_team_api(owner: User, other_team: Team) -> ApiClient:
    """The team's owner, also a member of another team, with a token made for that one."""
    Membership.objects.create(user=owner, team=other_team)
    return ApiClient(make_token(owner, other_team))


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
@pytest.mark.parametrize("who", ["stranger_api", "other_team_api"])
def test_a_token_of_another_team_never_reaches_the_teams_objects(
    request: pytest.FixtureRequest, world: World, team: Team, who: str, method: str, template: str
) -> None:
    before = _state(team)
    response = _call(request.getfixturevalue(who), method, template, world)
    content = _content(response)
    if "{" in template:
        assert response.status_code == 404, content[:500]
        assert response["Content-Type"] == "application/problem+json"
    elif MATRIX[(method, template)].names_in_body:
        assert response.status_code in {404, 422}, content[:500]
        assert response["Content-Type"] == "application/problem+json"
    elif MATRIX[(method, template)].owner_only and who == "other_team_api":
        assert response.status_code == 403, content[:500]  # a member, not an owner, there
    elif (own_team := MATRIX[(method, template)].own_team) is not None:
        assert response.status_code in own_team, content[:500]
    else:  # the stranger's own team: an answer, without the team's data
        assert response.status_code < 300, content[:500]
    body = MATRIX[(method, template)].body
    assert not any(found in content for found in _ids(world, str(body(world) if body else "")))
    assert _state(team) == before


@pytest.mark.parametrize(("method", "template"), ENDPOINTS)
@pytest.mark.parametrize("who", ["anonymous_api", "revoked_api", "expired_api"])
def test_no_working_token_reaches_any_endpoint(
    request: pytest.FixtureRequest, world: World, team: Team, who: str, method: str, template: str
) -> None:
    caller = request.getfixturevalue(who)
    before = _state(team)
    response = _call(caller, method, template, world)
    assert response.status_code == 401
    assert response["Content-Type"] == "application/problem+json"
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response.json()["detail"]
    assert not any(found in response.content for found in _ids(world))
    assert _state(team) == before
