"""Monitors of a saved request with an environment, against the database and a local
receiver: each check resolves the environment's variables and the vault's secrets as they
are then (the library's and the vault's own path), so an edit changes the next check; a
check that cannot be sent fails, explained, without a run."""

import json
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.models import Team
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import Environment, SavedRequest
from apps.library.services import import_collection, save_environment
from apps.monitors import services
from apps.monitors.assertions import parse
from apps.monitors.models import Check, Monitor
from apps.runs import secrets
from apps.runs.models import Run
from apps.vault.models import VaultEvent
from apps.vault.services import create_secret, rotate_secret
from tests.support.receiver import Receiver, webhook_receiver

pytestmark = pytest.mark.django_db
KEY = "kv-monitor-2718"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setattr(services, "publish_check", lambda check_id, eta=None: True)
    monkeypatch.setattr(services, "publish_delivery", lambda delivery_id: True)
    settings.EGRESS_ALLOWLIST = ["127.0.0.1"]


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as receiver:
        yield receiver


@pytest.fixture
def saved(team: Team, owner: User) -> SavedRequest:
    imported = ImportedCollection(
        name="Kaiko",
        variables=[("pair", "btc-usd")],
        requests=[
            ImportedRequest(
                name="trades",
                method="POST",
                url="{{base}}/hook",
                headers=[("Content-Type", "application/json")],
                body='{"pair": "{{pair}}"}',
                api_key="{{vault:kaiko}}",
            )
        ],
    )
    collection = import_collection(team=team, user=owner, imported=imported)
    create_secret(team=team, user=owner, name="kaiko", value=KEY, hosts=["127.0.0.1"])
    return collection.requests.get()


@pytest.fixture
def environment(team: Team, owner: User, receiver: Receiver) -> Environment:
    base = receiver.url.removesuffix("/hook")
    return save_environment(
        team=team, user=owner, name="Local", variables=[["base", base]], environment=None
    )


def make(team: Team, owner: User, saved: SavedRequest, environment: Environment) -> Monitor:
    return services.create_monitor(
        team=team,
        user=owner,
        saved_request=saved,
        environment=environment,
        name="Trades",
        interval_seconds=60,
        assertion_list=[parse("status in 200-299")],
    )


def check(monitor: Monitor) -> Check:
    """One check of the monitor, run here as the worker runs it."""
    made = Check.objects.create(monitor=monitor, planned_at=timezone.now())
    services.run_check(check_id=made.pk, worker="test")
    made.refresh_from_db()
    return made


def test_each_check_sends_the_saved_request_and_environment_as_they_are_then(
    team: Team,
    owner: User,
    saved: SavedRequest,
    environment: Environment,
    receiver: Receiver,
) -> None:
    monitor = make(team, owner, saved, environment)
    assert monitor.saved_request_name == "trades" and monitor.environment_name == "Local"
    assert monitor.secrets_encrypted == b""  # taken from the saved request at each check
    first = check(monitor)
    assert first.passed is True and first.run is not None
    sent = receiver.received[-1]
    assert json.loads(sent.body) == {"pair": "btc-usd"}
    assert sent.headers["X-Api-Key"] == KEY
    # The run keeps its request as every run does: the vault's value only encrypted.
    assert first.run.has_api_key and KEY not in json.dumps(first.run.request_headers)
    assert secrets.decrypt(first.run.secrets_encrypted).api_key == KEY
    assert VaultEvent.objects.filter(action="used", run=first.run, user=owner).exists()

    # The environment, the saved request and the vault are edited: the next check follows.
    environment.variables = [["base", receiver.url.removesuffix("/hook")], ["pair", "eth-usd"]]
    environment.save()
    SavedRequest.objects.filter(pk=saved.pk).update(request_body='{"pair": "{{pair}}", "n": 2}')
    rotate_secret(secret=saved.team.vault_secrets.get(), user=owner, value="kv-rotated-1")
    second = check(monitor)
    assert second.passed is True
    assert json.loads(receiver.received[-1].body) == {"pair": "eth-usd", "n": 2}
    assert receiver.received[-1].headers["X-Api-Key"] == "kv-rotated-1"


def test_a_check_that_cannot_be_sent_fails_explained_without_a_run(
    team: Team,
    owner: User,
    saved: SavedRequest,
    environment: Environment,
    receiver: Receiver,
) -> None:
    monitor = make(team, owner, saved, environment)
    runs_before = Run.objects.count()
    environment.delete()  # SET_NULL: the monitor stays, and says what went
    failed = check(monitor)
    assert failed.passed is False and failed.run is None and failed.evaluated_at is not None
    assert "The environment “Local” this monitor uses was deleted" in failed.failures[0]["title"]
    monitor.refresh_from_db()
    assert monitor.state == "degraded" and monitor.consecutive_failures == 1
    assert Run.objects.count() == runs_before and not receiver.received

    SavedRequest.objects.filter(pk=saved.pk).delete()
    monitor.refresh_from_db()
    assert monitor.saved_request is None and monitor.uses_saved_request
    again = check(monitor)
    assert "The saved request “trades” this monitor sends was deleted" in again.failures[0]["title"]
    monitor.refresh_from_db()
    assert monitor.state == "down"  # two failures in a row, as for any failed check
    change = monitor.changes.first()
    assert change is not None and change.run is None and "was deleted" in change.reason


def test_a_variable_with_no_value_fails_the_check_then_is_fixed(
    team: Team, owner: User, saved: SavedRequest, environment: Environment, receiver: Receiver
) -> None:
    monitor = make(team, owner, saved, environment)
    environment.variables = []
    environment.save()
    failed = check(monitor)
    assert failed.passed is False and "No value for {{base}}" in failed.failures[0]["title"]
    environment.variables = [["base", receiver.url.removesuffix("/hook")]]
    environment.save()
    assert check(monitor).passed is True


def test_a_saved_request_that_cannot_be_sent_now_is_refused_when_made(
    team: Team, owner: User, saved: SavedRequest
) -> None:
    with pytest.raises(services.RequestRefused, match=r"No value for \{\{base\}\}"):
        services.create_monitor(
            team=team,
            user=owner,
            saved_request=saved,
            environment=None,
            name="Trades",
            interval_seconds=60,
            assertion_list=[],
        )
    assert not Monitor.objects.exists()


def test_another_teams_saved_request_or_environment_is_refused(
    team: Team, other_team: Team, owner: User, stranger: User, saved: SavedRequest
) -> None:
    theirs = save_environment(
        team=other_team, user=stranger, name="Theirs", variables=[], environment=None
    )
    with pytest.raises(ValueError, match="not the team's"):
        make(team, owner, saved, theirs)
    with pytest.raises(ValueError, match="not the team's"):
        make(other_team, stranger, saved, theirs)
    assert not Monitor.objects.exists()
