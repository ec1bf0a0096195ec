"""The monitors and channels API: CRUD, pause and resume, history, the pages' validation as
problems naming fields, 404 for another team's objects, no secret in any answer."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone

from apps.accounts.models import Team
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import Environment, SavedRequest
from apps.library.services import import_collection, save_environment
from apps.monitors import services
from apps.monitors.models import AlertChannel, Check, Monitor
from apps.runs.models import Run
from tests.api.conftest import ApiClient
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db
BASE = "/api/v1"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setattr(services, "publish_check", lambda check_id: True)
    monkeypatch.setattr(services, "publish_delivery", lambda delivery_id: True)
    settings.EGRESS_ALLOWLIST = ["127.0.0.1"]


@pytest.fixture
def run(team: Team, owner: User) -> Run:
    return finished_run(team, owner)


def send(api: ApiClient, method: str, path: str, data: object = None) -> Any:
    client: Client = api.client
    return getattr(client, method)(
        f"{BASE}{path}", data, content_type="application/json", headers=api.headers
    )


def create(api: ApiClient, run: Run, **fields: object) -> Any:
    body = {
        "run_id": str(run.id),
        "name": "OHLCV",
        "interval_seconds": 60,
        "assertions": ["status in 200-299", "time total < 800"],
        **fields,
    }
    return send(api, "post", "/monitors", body)


def test_a_monitor_made_read_changed_paused_and_deleted(owner_api: ApiClient, run: Run) -> None:
    made = create(owner_api, run)
    assert made.status_code == 201, made.content
    monitor = made.json()
    assert monitor["assertions"] == ["status in 200-299", "time total < 800"]
    assert monitor["state"] == "unknown" and monitor["url"] == run.url
    path = f"/monitors/{monitor['id']}"
    assert owner_api.get(f"{BASE}{path}").json()["name"] == "OHLCV"
    assert [m["id"] for m in owner_api.get(f"{BASE}/monitors").json()] == [monitor["id"]]
    changed = send(owner_api, "patch", path, {"name": "Renamed", "interval_seconds": 300})
    assert changed.status_code == 200
    assert (changed.json()["name"], changed.json()["interval_seconds"]) == ("Renamed", 300)
    assert changed.json()["assertions"] == monitor["assertions"]  # untouched
    assert owner_api.post(f"{BASE}{path}/pause").json()["paused"] is True
    assert owner_api.post(f"{BASE}{path}/resume").json()["paused"] is False
    assert send(owner_api, "delete", path).status_code == 204
    assert not Monitor.objects.exists()


def test_history_lists_changes_and_checks(
    owner_api: ApiClient, team: Team, owner: User, run: Run
) -> None:
    monitor_id = create(owner_api, run).json()["id"]
    failing = finished_run(team, owner, response_status=503)
    check = Check.objects.create(
        monitor_id=monitor_id,
        planned_at=failing.created_at,
        started_at=failing.created_at,
        run=failing,
    )
    services.evaluate_check(check_id=check.pk)
    history = owner_api.get(f"{BASE}/monitors/{monitor_id}/history").json()
    assert [(c["from_state"], c["to_state"]) for c in history["changes"]] == [
        ("unknown", "degraded")
    ]
    assert history["checks"][0]["passed"] is False
    assert history["checks"][0]["failures"][0]["title"] == "Status 503 is not one of 200-299"


def test_bad_values_are_problems_naming_the_field(owner_api: ApiClient, run: Run) -> None:
    answer = create(owner_api, run, assertions=["status 200"], interval_seconds=7)
    assert answer.status_code == 422
    fields = {error["field"] for error in answer.json()["errors"]}
    assert fields == {"assertions", "interval_seconds"}


def test_channels_made_private_address_refused_key_shown_once(owner_api: ApiClient) -> None:
    refused = send(
        owner_api,
        "post",
        "/channels",
        {"name": "x", "kind": "webhook", "target": "http://10.0.0.1/h"},
    )
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "target"
    made = send(
        owner_api,
        "post",
        "/channels",
        {"name": "Hook", "kind": "webhook", "target": "http://127.0.0.1:9/tok-en"},
    )
    assert made.status_code == 201 and made.json()["signing_key"]
    listed = owner_api.get(f"{BASE}/channels")
    assert listed.json()[0]["signing_key"] is None
    assert b"tok-en" not in listed.content and b"tok-en" not in made.content
    channel_id = made.json()["id"]
    assert owner_api.post(f"{BASE}/channels/{channel_id}/test").status_code == 202
    deliveries = owner_api.get(f"{BASE}/channels/{channel_id}/deliveries").json()
    assert [d["kind"] for d in deliveries] == ["test"]


def test_another_teams_objects_answer_404(
    owner_api: ApiClient, stranger_api: ApiClient, run: Run
) -> None:
    monitor_id = create(owner_api, run).json()["id"]
    channel_id = send(
        owner_api,
        "post",
        "/channels",
        {"name": "h", "kind": "slack", "target": "http://127.0.0.1:9/x"},
    ).json()["id"]
    for method, path in [
        ("get", f"/monitors/{monitor_id}"),
        ("patch", f"/monitors/{monitor_id}"),
        ("delete", f"/monitors/{monitor_id}"),
        ("post", f"/monitors/{monitor_id}/pause"),
        ("post", f"/monitors/{monitor_id}/resume"),
        ("get", f"/monitors/{monitor_id}/history"),
        ("get", f"/channels/{channel_id}/deliveries"),
        ("post", f"/channels/{channel_id}/test"),
        ("delete", f"/channels/{channel_id}"),
    ]:
        assert send(stranger_api, method, path, {}).status_code == 404, (method, path)
    assert stranger_api.get(f"{BASE}/monitors").json() == []
    assert stranger_api.get(f"{BASE}/channels").json() == []
    assert create(stranger_api, run).status_code == 404  # another team's run
    assert Monitor.objects.count() == 1 and AlertChannel.objects.count() == 1


def test_anonymous_callers_are_refused(anonymous_api: ApiClient) -> None:
    assert anonymous_api.get(f"{BASE}/monitors").status_code == 401


@pytest.fixture
def saved(team: Team, owner: User) -> SavedRequest:
    imported = ImportedCollection(
        name="Kaiko",
        requests=[ImportedRequest(name="trades", method="GET", url="https://{{host}}/v2/trades")],
    )
    collection = import_collection(team=team, user=owner, imported=imported)
    for name, host in [("Production", "us.market-api.kaiko.io"), ("Sandbox", "")]:
        variables = [["host", host]] if host else []
        save_environment(team=team, user=owner, name=name, variables=variables, environment=None)
    return collection.requests.get()


def create_saved(api: ApiClient, **fields: object) -> Any:
    body = {"name": "Trades", "interval_seconds": 60, "assertions": ["status in 200-299"]}
    return send(api, "post", "/monitors", {**body, **fields})


def test_a_monitor_of_a_saved_request_with_an_environment(
    owner_api: ApiClient, saved: SavedRequest
) -> None:
    made = create_saved(
        owner_api, saved_request="trades", environment="Production", cron="0 9 * * *"
    )
    assert made.status_code == 201, made.content
    body = made.json()
    production = Environment.objects.get(name="Production")
    assert body["saved_request_id"] == str(saved.id)
    assert body["environment_id"] == str(production.id)
    assert 0 <= body["cron_offset_seconds"] <= 10
    assert body["cron_offset_seconds"] == Monitor.objects.get().cron_offset
    path = f"/monitors/{body['id']}"
    refused = send(owner_api, "patch", path, {"environment": "Sandbox"})
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "environment"
    assert "No value for {{host}}" in refused.json()["errors"][0]["message"]
    cleared = send(owner_api, "patch", path, {"environment": "Production", "name": "T2"})
    assert cleared.status_code == 200 and cleared.json()["name"] == "T2"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"saved_request": "trades", "environment": "Sandbox"}, "environment"),
        ({"saved_request": "nope", "environment": "Production"}, "saved_request"),
        ({"saved_request": "trades", "environment": "Nope"}, "environment"),
        ({}, "run_id"),
    ],
)
def test_a_saved_request_monitor_refused_names_its_field(
    owner_api: ApiClient, saved: SavedRequest, fields: dict[str, str], field: str
) -> None:
    refused = create_saved(owner_api, **fields)
    assert refused.status_code == 422, refused.content
    assert refused.json()["errors"][0]["field"] == field
    assert not Monitor.objects.exists()


def test_a_run_and_a_saved_request_together_are_refused(
    owner_api: ApiClient, saved: SavedRequest, run: Run
) -> None:
    refused = create(owner_api, run, saved_request="trades")
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "run_id"
    with_env = create(owner_api, run, environment="Production")
    assert with_env.json()["errors"][0]["field"] == "environment"


def test_another_teams_saved_request_is_not_found(
    stranger_api: ApiClient, saved: SavedRequest
) -> None:
    refused = create_saved(stranger_api, saved_request=str(saved.id))
    assert refused.status_code == 422
    assert refused.json()["errors"][0]["field"] == "saved_request"
    assert "trades" not in refused.content.decode()  # nothing of it is told
    assert not Monitor.objects.exists()


def test_a_change_that_does_not_name_the_environment_keeps_it(
    owner_api: ApiClient, saved: SavedRequest
) -> None:
    made = create_saved(owner_api, saved_request="trades", environment="Production").json()
    Environment.objects.filter(name="Production").delete()  # the monitor's check will say so
    renamed = send(owner_api, "patch", f"/monitors/{made['id']}", {"name": "Renamed"})
    assert renamed.status_code == 200 and renamed.json()["name"] == "Renamed"
    monitor = Monitor.objects.get()
    assert monitor.environment is None and monitor.environment_name == "Production"


def test_check_now_brings_the_next_check_forward_unless_paused(
    owner_api: ApiClient, stranger_api: ApiClient, run: Run
) -> None:
    made = create(owner_api, run).json()
    monitor = Monitor.objects.get(pk=made["id"])
    later = timezone.now() + timedelta(hours=1)
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=later)
    assert send(stranger_api, "post", f"/monitors/{monitor.pk}/check-now").status_code == 404
    monitor.refresh_from_db()
    assert monitor.next_check_at == later
    before = timezone.now()
    response = send(owner_api, "post", f"/monitors/{monitor.pk}/check-now")
    assert response.status_code == 202, response.content
    monitor.refresh_from_db()
    assert before <= monitor.next_check_at <= timezone.now()
    assert response.json()["next_check_at"] is not None
    send(owner_api, "post", f"/monitors/{monitor.pk}/pause")
    paused = send(owner_api, "post", f"/monitors/{monitor.pk}/check-now")
    assert paused.status_code == 409 and "resume it first" in paused.json()["detail"]
    assert paused["Content-Type"] == "application/problem+json"


def test_the_status_page_is_turned_on_moved_and_off(
    owner_api: ApiClient, teammate_api: ApiClient, stranger_api: ApiClient
) -> None:
    assert owner_api.get(f"{BASE}/status-page").json() == {"enabled": False, "url": None}
    on = send(teammate_api, "put", "/status-page", {"enabled": True})  # any member, as the page
    assert on.status_code == 200 and on.json()["enabled"] is True
    first = on.json()["url"]
    assert Client().get(first.removeprefix("http://testserver")).status_code == 200
    assert stranger_api.get(f"{BASE}/status-page").json() == {"enabled": False, "url": None}
    moved = send(owner_api, "put", "/status-page", {"enabled": True, "new_address": True})
    assert moved.json()["url"] != first
    assert Client().get(first.removeprefix("http://testserver")).status_code == 404
    bad = send(owner_api, "put", "/status-page", {"enabled": False, "new_address": True})
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "new_address"
    off = send(owner_api, "put", "/status-page", {"enabled": False})
    assert off.json() == {"enabled": False, "url": None}
    url = moved.json()["url"].removeprefix("http://testserver")
    assert Client().get(url).status_code == 404


def test_a_channel_is_read_with_its_monitors_and_deliveries_never_its_secrets(
    owner_api: ApiClient, stranger_api: ApiClient, run: Run
) -> None:
    made = send(
        owner_api,
        "post",
        "/channels",
        {"name": "Hook", "kind": "webhook", "target": "http://127.0.0.1:9/tok-en"},
    ).json()
    monitor = create(owner_api, run, channel_ids=[made["id"]]).json()
    assert owner_api.post(f"{BASE}/channels/{made['id']}/test").status_code == 202
    response = owner_api.get(f"{BASE}/channels/{made['id']}")
    assert response.status_code == 200
    body = response.json()
    assert body["monitor_ids"] == [monitor["id"]]
    assert [d["kind"] for d in body["deliveries"]] == ["test"]
    assert body["signing_key"] is None and body["target_hint"] == "127.0.0.1/…"
    assert (
        b"tok-en" not in response.content and made["signing_key"].encode() not in response.content
    )
    assert stranger_api.get(f"{BASE}/channels/{made['id']}").status_code == 404


def test_open_incidents_are_listed_with_the_failing_runs_filter(
    owner_api: ApiClient, stranger_api: ApiClient, team: Team, owner: User
) -> None:
    from apps.monitors.models import Incident

    now = timezone.now()
    failing = finished_run(
        team, owner, response_status=503,
        diagnosis={"code": "http.503", "severity": "error", "title": "Unavailable"},
    )  # fmt: skip
    Run.objects.filter(pk=failing.pk).update(diagnosis_code="http.503")  # as stored when done
    finished_run(team, owner)  # to the same host, not failing so: not in the filtered log
    Incident.objects.create(
        team=team, host=failing.host, diagnosis_code="http.503", diagnosis_title="Unavailable",
        opened_at=now, first_failure_at=now - timedelta(minutes=5), last_failure_at=now,
        failed_runs=12, total_runs=15, members_affected=3,
    )  # fmt: skip
    Incident.objects.create(
        team=team, host="old.example", diagnosis_code="http.500", opened_at=now,
        first_failure_at=now, last_failure_at=now, closed_at=now,
    )  # fmt: skip
    response = owner_api.get(f"{BASE}/incidents")
    assert response.status_code == 200
    (open_one,) = response.json()
    assert open_one["host"] == failing.host and open_one["failed_runs"] == 12
    assert "12 of the last 15 runs failed with Unavailable" in open_one["summary"]
    runs = owner_api.get(open_one["runs"].removeprefix("http://testserver"))
    assert runs.status_code == 200, runs.content
    assert [r["id"] for r in runs.json()["runs"]] == [str(failing.id)]
    assert stranger_api.get(f"{BASE}/incidents").json() == []
