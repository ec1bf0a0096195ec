"""A monitor made from a saved request's page, with an environment: the button, the form
(an environment that leaves a variable without value answered at its field), the monitor's
page saying what it sends and when, and 404 for other teams."""

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.accounts.models import Team
from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import Environment, SavedRequest
from apps.library.services import import_collection, save_environment
from apps.monitors import services
from apps.monitors.models import Monitor
from tests.support.clients import client_for

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setattr(services, "publish_check", lambda check_id, eta=None: True)
    monkeypatch.setattr(services, "publish_delivery", lambda delivery_id: True)


@pytest.fixture
def saved(team: Team, owner: User) -> SavedRequest:
    imported = ImportedCollection(
        name="Kaiko",
        requests=[ImportedRequest(name="trades", method="GET", url="https://{{host}}/v2/trades")],
    )
    return import_collection(team=team, user=owner, imported=imported).requests.get()


@pytest.fixture
def production(team: Team, owner: User) -> Environment:
    return save_environment(
        team=team,
        user=owner,
        name="Production",
        variables=[["host", "us.market-api.kaiko.io"]],
        environment=None,
    )


@pytest.fixture
def empty(team: Team, owner: User) -> Environment:
    return save_environment(team=team, user=owner, name="Empty", variables=[], environment=None)


def form_data(**fields: object) -> dict[str, object]:
    return {
        "name": "Trades",
        "interval_seconds": "60",
        "cron": "*/5 * * * *",
        "assertions": "status in 200-299",
        "failures_to_down": "2",
        "successes_to_up": "1",
        "reminder_minutes": "0",
        **fields,
    }


def test_monitor_this_on_a_saved_request_with_an_environment(
    owner: User, saved: SavedRequest, production: Environment
) -> None:
    client = client_for(owner)
    url = reverse("monitors:new_from_saved", args=[saved.id])
    assert url in client.get(reverse("saved:request", args=[saved.id])).content.decode()
    form = client.get(url)
    assert form.status_code == 200 and "Production" in form.content.decode()
    response = client.post(url, form_data(environment=str(production.id)))
    assert response.status_code == 302
    monitor = Monitor.objects.get()
    assert (monitor.saved_request, monitor.environment) == (saved, production)
    assert monitor.source_run is None and monitor.cron == "*/5 * * * *"
    page = client.get(response["Location"]).content.decode()
    assert "the saved request" in page and "Production" in page
    assert f"runs at :{monitor.cron_offset:02d} past the minute" in page
    assert 0 <= monitor.cron_offset <= 10


def test_an_environment_missing_a_variable_is_answered_at_its_field(
    owner: User, saved: SavedRequest, empty: Environment
) -> None:
    client = client_for(owner)
    url = reverse("monitors:new_from_saved", args=[saved.id])
    response = client.post(url, form_data(environment=str(empty.id), name="Kept name"))
    assert response.status_code == 200
    assert "No value for {{host}}" in str(response.context["form"].errors["environment"])
    assert 'value="Kept name"' in response.content.decode()  # nothing typed is lost
    assert not Monitor.objects.exists()


def test_the_environment_can_be_changed_and_is_checked(
    owner: User, saved: SavedRequest, production: Environment, empty: Environment
) -> None:
    client = client_for(owner)
    client.post(
        reverse("monitors:new_from_saved", args=[saved.id]),
        form_data(environment=str(production.id)),
    )
    monitor = Monitor.objects.get()
    edit = reverse("monitors:edit", args=[monitor.id])
    assert client.get(edit).context["form"].initial["environment"] == production
    refused = client.post(edit, form_data(environment=str(empty.id)))
    assert "No value for {{host}}" in str(refused.context["form"].errors["environment"])
    monitor.refresh_from_db()
    assert monitor.environment == production
    production.delete()
    monitor.refresh_from_db()
    page = client.get(reverse("monitors:detail", args=[monitor.id])).content.decode()
    assert "“Production” <strong>(deleted)</strong>" in page


def test_other_teams_get_404(stranger: User, saved: SavedRequest, production: Environment) -> None:
    client = client_for(stranger)
    url = reverse("monitors:new_from_saved", args=[saved.id])
    assert client.get(url).status_code == 404
    assert client.post(url, form_data(environment=str(production.id))).status_code == 404
    assert not Monitor.objects.exists()


def test_another_teams_environment_is_not_a_choice(
    owner: User, saved: SavedRequest, other_team: Team, stranger: User
) -> None:
    theirs = save_environment(
        team=other_team,
        user=stranger,
        name="Theirs",
        variables=[["host", "x.example"]],
        environment=None,
    )
    response = client_for(owner).post(
        reverse("monitors:new_from_saved", args=[saved.id]), form_data(environment=str(theirs.id))
    )
    assert response.status_code == 200 and "environment" in response.context["form"].errors
    assert not Monitor.objects.exists()
