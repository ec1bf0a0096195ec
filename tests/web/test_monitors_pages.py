"""Monitor and channel pages: made from a run, shown with state and checks, actions, bad
input answered at its field, and the access matrix (404 for other teams) of every URL
that takes an id."""

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.monitors import services
from apps.monitors.assertions import parse
from apps.monitors.models import AlertChannel, Check, Monitor
from apps.runs.models import Run
from tests.support.clients import client_for
from tests.support.factories import finished_run

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    monkeypatch.setattr(services, "publish_check", lambda check_id: True)
    monkeypatch.setattr(services, "publish_delivery", lambda delivery_id: True)
    settings.EGRESS_ALLOWLIST = ["127.0.0.1"]


@pytest.fixture
def run(team: Team, owner: User) -> Run:
    return finished_run(team, owner, run={"url": "https://us.market-api.kaiko.io/v2/ohlcv"})


@pytest.fixture
def monitor(team: Team, owner: User, run: Run) -> Monitor:
    return services.create_monitor(
        team=team,
        user=owner,
        source_run=run,
        name="OHLCV watch",
        interval_seconds=60,
        assertion_list=[parse("status in 200-299")],
    )


@pytest.fixture
def channel(team: Team, owner: User) -> AlertChannel:
    channel, _ = services.create_channel(
        team=team, user=owner, name="Ops hook", kind="webhook", target="http://127.0.0.1:9/h"
    )
    return channel


def test_monitor_this_on_the_run_page_makes_a_monitor(owner: User, run: Run) -> None:
    client = client_for(owner)
    page = client.get(reverse("runs:detail", args=[run.id]))
    assert reverse("monitors:new", args=[run.id]) in page.content.decode()
    form = client.get(reverse("monitors:new", args=[run.id]))
    assert form.status_code == 200
    assert form.context["form"].initial["assertions"] == "status in 200"
    response = client.post(
        reverse("monitors:new", args=[run.id]),
        {
            "name": "Watch it",
            "interval_seconds": "60",
            "assertions": "status in 200-299\njson $.result == success",
            "failures_to_down": "2",
            "successes_to_up": "1",
            "reminder_minutes": "0",
        },
    )
    monitor = Monitor.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("monitors:detail", args=[monitor.id])
    assert monitor.url == run.url and len(monitor.assertions) == 2


def test_a_bad_assertion_is_answered_at_its_field(owner: User, run: Run) -> None:
    response = client_for(owner).post(
        reverse("monitors:new", args=[run.id]),
        {
            "name": "x",
            "interval_seconds": "60",
            "assertions": "status 200",
            "failures_to_down": "2",
            "successes_to_up": "1",
            "reminder_minutes": "0",
        },
    )
    assert response.status_code == 200
    assert "Line 1" in response.context["form"].errors["assertions"][0]
    assert not Monitor.objects.exists()


def test_an_interval_outside_the_choices_is_refused(owner: User, run: Run) -> None:
    response = client_for(owner).post(
        reverse("monitors:new", args=[run.id]),
        {
            "name": "x",
            "interval_seconds": "5",
            "assertions": "status in 200",
            "failures_to_down": "2",
            "successes_to_up": "1",
            "reminder_minutes": "0",
        },
    )
    assert "interval_seconds" in response.context["form"].errors


def test_the_pages_show_state_checks_and_changes(owner: User, team: Team, monitor: Monitor) -> None:
    now = timezone.now()
    for n, status in enumerate([200, 503, 503]):
        failing = finished_run(team, owner, response_status=status)
        check = Check.objects.create(
            monitor=monitor, planned_at=now - timedelta(minutes=3 - n), started_at=now, run=failing
        )
        services.evaluate_check(check_id=check.pk)
    client = client_for(owner)
    listing = client.get(reverse("monitors:list"))
    assert listing.status_code == 200
    assert "<title>Monitors · API diagnostics</title>" in listing.content.decode()
    assert listing.content.decode().count('id="status-page-title"') == 1
    row = listing.context["rows"][0]
    assert row.monitor.state == "down"
    assert row.uptime["24h"] == pytest.approx(1 / 3)
    detail = client.get(reverse("monitors:detail", args=[monitor.id]))
    html = detail.content.decode()
    assert 'data-state="down"' in html
    assert "Status 503 is not one of 200-299" in html
    assert 'data-testid="latency-chart"' in html
    fragment = client.get(
        reverse("monitors:detail", args=[monitor.id]), headers={"HX-Request": "true"}
    )
    assert "<html" not in fragment.content.decode()
    assert 'id="monitor-status"' in fragment.content.decode()


def test_pause_resume_and_check_now(owner: User, monitor: Monitor) -> None:
    client = client_for(owner)
    client.post(reverse("monitors:pause", args=[monitor.id]), {"paused": "1"})
    monitor.refresh_from_db()
    assert monitor.paused
    client.post(reverse("monitors:pause", args=[monitor.id]), {"paused": "0"})
    monitor.refresh_from_db()
    assert not monitor.paused
    before = timezone.now()
    client.post(reverse("monitors:check_now", args=[monitor.id]))
    monitor.refresh_from_db()
    assert monitor.next_check_at is not None and monitor.next_check_at >= before


def test_a_channel_at_a_private_address_is_refused_at_the_field(owner: User) -> None:
    response = client_for(owner).post(
        reverse("monitors:channels"),
        {"name": "x", "kind": "webhook", "target": "http://10.0.0.5/hook"},
    )
    assert response.status_code == 400
    errors = response.context["form"].errors["target"]
    assert "Blocked by the address policy" in errors[0]
    assert not AlertChannel.objects.exists()


def test_a_webhook_channel_shows_its_signing_key_once(owner: User) -> None:
    client = client_for(owner)
    response = client.post(
        reverse("monitors:channels"),
        {"name": "Hook", "kind": "webhook", "target": "http://127.0.0.1:9/secret-path"},
    )
    key = response.context["signing_key"]
    assert key and key in response.content.decode()
    channel = AlertChannel.objects.get()
    page = client.get(reverse("monitors:channel", args=[channel.id])).content.decode()
    assert key not in page and "secret-path" not in page


def test_a_bad_email_address_is_refused(owner: User) -> None:
    response = client_for(owner).post(
        reverse("monitors:channels"), {"name": "x", "kind": "email", "target": "ops@, nobody"}
    )
    assert "is not an email address" in response.context["form"].errors["target"][0]


def test_send_a_test_alert_logs_a_delivery(owner: User, channel: AlertChannel) -> None:
    client = client_for(owner)
    response = client.post(reverse("monitors:channel_test", args=[channel.id]), follow=True)
    assert response.context["deliveries"][0].kind == "test"


def _urls(monitor: Monitor, channel: AlertChannel, run: Run) -> list[tuple[str, str]]:
    return [
        ("get", reverse("monitors:new", args=[run.id])),
        ("post", reverse("monitors:new", args=[run.id])),
        ("get", reverse("monitors:detail", args=[monitor.id])),
        ("get", reverse("monitors:edit", args=[monitor.id])),
        ("post", reverse("monitors:edit", args=[monitor.id])),
        ("post", reverse("monitors:pause", args=[monitor.id])),
        ("post", reverse("monitors:check_now", args=[monitor.id])),
        ("post", reverse("monitors:delete", args=[monitor.id])),
        ("get", reverse("monitors:channel", args=[channel.id])),
        ("post", reverse("monitors:channel_test", args=[channel.id])),
        ("post", reverse("monitors:channel_delete", args=[channel.id])),
    ]


def test_other_teams_get_404_everywhere(
    stranger: User, monitor: Monitor, channel: AlertChannel, run: Run
) -> None:
    client = client_for(stranger)
    for method, url in _urls(monitor, channel, run):
        response = getattr(client, method)(url)
        assert response.status_code == 404, (method, url)
    assert Monitor.objects.filter(pk=monitor.pk, paused=False).exists()
    assert AlertChannel.objects.filter(pk=channel.pk).exists()
    assert not client.get(reverse("monitors:list")).context["rows"]


def test_anonymous_users_are_sent_to_sign_in(
    monitor: Monitor, channel: AlertChannel, run: Run
) -> None:
    client = client_for(None)
    for method, url in _urls(monitor, channel, run):
        response = getattr(client, method)(url)
        assert response.status_code == 302 and "/login" in response["Location"], url


def test_teammates_can_open_everything(
    teammate: User, monitor: Monitor, channel: AlertChannel, run: Run
) -> None:
    client = client_for(teammate)
    for method, url in _urls(monitor, channel, run):
        if method == "get":
            assert client.get(url).status_code == 200, url


def test_a_cron_schedule_is_shown_in_words(owner: User, monitor: Monitor) -> None:
    client = client_for(owner)
    data = {
        "name": "x",
        "interval_seconds": "60",
        "cron": "0 9 * * 1-5",
        "assertions": "status in 200",
        "failures_to_down": "2",
        "successes_to_up": "1",
        "reminder_minutes": "0",
    }
    assert client.post(reverse("monitors:edit", args=[monitor.id]), data).status_code == 302
    page = client.get(reverse("monitors:detail", args=[monitor.id])).content.decode()
    assert "At 09:00, Monday through Friday (UTC)" in page
    bad = client.post(reverse("monitors:edit", args=[monitor.id]), {**data, "cron": "61 * * * *"})
    assert "not a valid cron" in bad.context["form"].errors["cron"][0]
