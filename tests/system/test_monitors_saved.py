"""A monitor of a saved request with an environment, with real parts: a Celery worker and
beat, the sandbox's echo served by the live test server, a vault secret. Each check resolves
the environment and the vault as they are then: the environment edited between two checks
changes what the next one sends (its assertion on the echoed body says so), and the key is
sent, never stored in clear."""

import pytest
from django.contrib.auth.models import User
from django.urls import reverse

from apps.library.importers.collection import ImportedCollection, ImportedRequest
from apps.library.models import Environment
from apps.library.services import import_collection
from apps.monitors.models import Monitor
from apps.vault.models import VaultEvent
from tests.support.clients import client_for
from tests.system.test_monitors_alerts import check

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]
KEY = "kv-monitor-saved-5772"


def test_the_next_check_sends_the_environment_as_edited(
    celery_beat: object, live_server: object, owner: User
) -> None:
    client = client_for(owner)
    team = owner.membership_set.get().team
    imported = ImportedCollection(
        name="Sandbox",
        requests=[
            ImportedRequest(
                name="echo",
                method="POST",
                url="{{base}}/sandbox/echo",
                headers=[("Content-Type", "application/json")],
                body='{"pair": "{{pair}}"}',
                api_key="{{vault:sandbox}}",
            )
        ],
    )
    saved = import_collection(team=team, user=owner, imported=imported).requests.get()
    client.post(reverse("vault:vault"), {"name": "sandbox", "value": KEY, "hosts": "localhost"})
    base = live_server.url  # type: ignore[attr-defined]
    made = client.post(
        reverse("saved:environments"),
        {"name": "Local", "variables": f"base={base}\npair=btc-usd"},
    )
    assert made.status_code == 302
    environment = Environment.objects.get(name="Local")
    response = client.post(
        reverse("monitors:new_from_saved", args=[saved.id]),
        {"name": "Echo", "interval_seconds": "3600", "environment": str(environment.id),
         "assertions": "status in 200-299\nbody contains btc-usd", "failures_to_down": "2",
         "successes_to_up": "1", "reminder_minutes": "0"},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    monitor = Monitor.objects.get()

    first = check(client, monitor)
    assert first.passed, first.failures
    assert first.run is not None and first.run.has_api_key
    assert KEY not in first.run.request_body + str(first.run.request_headers)
    assert VaultEvent.objects.filter(action="used", run=first.run).exists()

    client.post(
        reverse("saved:environment", args=[environment.id]),
        {"name": "Local", "variables": f"base={base}\npair=eth-usd"},
    )
    environment.refresh_from_db()
    assert ["pair", "eth-usd"] in environment.variables
    second = check(client, monitor)
    assert not second.passed
    assert second.failures[0]["title"].startswith("The body does not contain")
    assert second.run is not None and "eth-usd" in second.run.request_body
