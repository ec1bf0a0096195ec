"""Incidents across a team: opened by several failing runs to one host with the same
diagnosis, one alert on the channels that ask, a banner on the team log, closed by a run
that succeeds."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.monitors import incidents, services
from apps.monitors.models import Delivery, Incident
from apps.runs.models import Run
from tests.support.clients import client_for
from tests.support.factories import make_run

pytestmark = pytest.mark.django_db
HOST = "eu.market-api.kaiko.io"


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setattr(services, "publish_delivery", lambda delivery_id: True)
    settings.EGRESS_ALLOWLIST = ["127.0.0.1"]
    settings.INCIDENT_MIN_RUNS = 3
    settings.INCIDENT_WINDOW_MINUTES = 10


def finished(team: Team, user: User, *, severity: str, ago: float, code: str = "kaiko.503") -> Run:
    return make_run(
        team, user, host=HOST, url=f"https://{HOST}/v2/x", status=Run.Status.DONE,
        severity=severity, diagnosis_code=code if severity == "error" else "kaiko.200",
        diagnosis_title="Maintenance" if severity == "error" else "Success",
        response_status=503 if severity == "error" else 200,
        finished_at=timezone.now() - timedelta(minutes=ago),
    )  # fmt: skip


def test_failing_runs_open_one_incident_with_one_alert(
    team: Team, owner: User, teammate: User
) -> None:
    asks, _ = services.create_channel(
        team=team, user=owner, name="a", kind="slack", target="http://127.0.0.1:9/x",
        incident_alerts=True,
    )  # fmt: skip
    services.create_channel(
        team=team, user=owner, name="b", kind="slack", target="http://127.0.0.1:9/y"
    )
    finished(team, owner, severity="ok", ago=8)
    for ago, who in ((5, owner), (4, teammate), (3, owner)):
        finished(team, who, severity="error", ago=ago)
    assert incidents.detect()["opened"] == 1
    assert incidents.detect()["opened"] == 0  # the same incident, updated
    incident = Incident.objects.get()
    assert (incident.failed_runs, incident.total_runs, incident.members_affected) == (3, 4, 2)
    text = incidents.summary(incident)
    assert text.startswith(f"{HOST}: 3 of the last 4 runs failed with Maintenance since")
    assert "2 members affected: likely the provider, not you" in text
    deliveries = list(Delivery.objects.all())
    assert [(d.channel_id, d.kind) for d in deliveries] == [(asks.id, "incident")]

    page = client_for(owner).get(reverse("home")).content.decode()
    assert 'data-testid="incident-banner"' in page
    assert f"host={HOST}" in page and "diagnosis=kaiko.503" in page


def test_a_success_to_the_host_closes_it(team: Team, owner: User) -> None:
    for ago in (5, 4, 3):
        finished(team, owner, severity="error", ago=ago)
    incidents.detect()
    finished(team, owner, severity="ok", ago=1)
    assert incidents.detect()["closed"] == 1
    assert Incident.objects.get().closed_at is not None
    assert (
        'data-testid="incident-banner"'
        not in client_for(owner).get(reverse("home")).content.decode()
    )


def test_too_few_or_different_failures_open_nothing(team: Team, owner: User) -> None:
    finished(team, owner, severity="error", ago=5)
    finished(team, owner, severity="error", ago=4)
    finished(team, owner, severity="error", ago=3, code="kaiko.401")
    finished(team, owner, severity="error", ago=30)  # outside the window
    assert incidents.detect()["opened"] == 0


def test_another_team_never_sees_the_banner(team: Team, owner: User, stranger: User) -> None:
    for ago in (5, 4, 3):
        finished(team, owner, severity="error", ago=ago)
    incidents.detect()
    page = client_for(stranger).get(reverse("home")).content.decode()
    assert "incident-banner" not in page and HOST not in page
