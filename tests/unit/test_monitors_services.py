"""Monitors' services against the database: scheduling claims, evaluation and the state
machine, alert deliveries through apps.egress to a local receiver, channels refused."""

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.models import Team
from apps.monitors import alerts, services
from apps.monitors.assertions import parse
from apps.monitors.models import AlertChannel, Check, Delivery, Monitor, StateChange
from apps.runs import secrets
from tests.support.factories import finished_run
from tests.support.receiver import webhook_receiver

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(autouse=True)
def no_broker(monkeypatch: pytest.MonkeyPatch, settings: Any) -> list[Any]:
    published: list[Any] = []
    monkeypatch.setattr(
        services, "publish_check", lambda check_id, eta=None: published.append((check_id, eta))
    )
    monkeypatch.setattr(services, "publish_delivery", lambda delivery_id: True)
    settings.EGRESS_ALLOWLIST = ["127.0.0.1"]
    return published


def make_monitor(team: Team, owner: User, **fields: Any) -> Monitor:
    run = finished_run(team, owner)
    monitor = services.create_monitor(
        team=team,
        user=owner,
        source_run=run,
        name="OHLCV",
        interval_seconds=60,
        assertion_list=[parse("status in 200-299")],
        now=T0,
    )
    Monitor.objects.filter(pk=monitor.pk).update(**fields)
    monitor.refresh_from_db()
    return monitor


def test_next_slot_skips_what_an_outage_missed() -> None:
    assert services.next_slot(T0, 60, T0 + timedelta(seconds=10)) == T0 + timedelta(seconds=60)
    # Down for 10 minutes: one check now-ish, then the schedule goes on; not 10 checks.
    after = services.next_slot(T0, 60, T0 + timedelta(minutes=10, seconds=5))
    assert after == T0 + timedelta(minutes=11)


def test_a_monitor_copies_the_runs_request_and_secrets(team: Team, owner: User) -> None:
    run = finished_run(
        team, owner, run={"secrets_encrypted": secrets.encrypt(secrets.RunSecrets(api_key="k-123"))}
    )
    monitor = services.create_monitor(
        team=team,
        user=owner,
        source_run=run,
        name="m",
        interval_seconds=30,
        assertion_list=[],
        now=T0,
    )
    assert monitor.url == run.url and monitor.method == run.method
    assert secrets.decrypt(monitor.secrets_encrypted).api_key == "k-123"
    assert T0 <= monitor.next_check_at <= T0 + timedelta(seconds=30)  # type: ignore[operator]


def test_a_tick_claims_a_due_monitor_once(team: Team, owner: User, no_broker: list) -> None:
    monitor = make_monitor(team, owner, next_check_at=T0)
    now = T0 + timedelta(seconds=1)
    assert services.tick(now=now)["checks"] == 1
    assert services.tick(now=now)["checks"] == 0  # a second beat at the same moment
    assert Check.objects.filter(monitor=monitor).count() == 1
    monitor.refresh_from_db()
    assert monitor.next_check_at == T0 + timedelta(seconds=60)


def test_a_tick_claims_the_slots_before_the_next_tick_for_their_time(
    team: Team, owner: User, no_broker: list, settings: Any
) -> None:
    settings.MONITOR_TICK_INTERVAL = 5
    soon = make_monitor(team, owner, next_check_at=T0 + timedelta(seconds=8))
    make_monitor(team, owner, next_check_at=T0 + timedelta(seconds=12))
    assert services.tick(now=T0)["checks"] == 1  # within two ticks; not the one past them
    (check,) = Check.objects.all()
    assert check.monitor_id == soon.pk and check.planned_at == T0 + timedelta(seconds=8)
    assert no_broker == [(check.pk, T0 + timedelta(seconds=8))]  # to start at its slot
    soon.refresh_from_db()
    assert soon.next_check_at == T0 + timedelta(seconds=68)
    assert services.tick(now=T0 + timedelta(seconds=1))["checks"] == 0


def test_a_stale_claim_is_refused(team: Team, owner: User) -> None:
    """The claim is conditional on the slot read: a beat that read an old slot does nothing."""
    monitor = make_monitor(team, owner, next_check_at=T0)
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=T0 + timedelta(seconds=60))
    claimed = Monitor.objects.filter(pk=monitor.pk, next_check_at=T0).update(next_check_at=T0)
    assert claimed == 0


def test_a_paused_monitor_is_not_checked(team: Team, owner: User) -> None:
    make_monitor(team, owner, next_check_at=T0, paused=True)
    assert services.tick(now=T0 + timedelta(seconds=5))["checks"] == 0


def check_with(monitor: Monitor, team: Team, owner: User, status: int, at: datetime) -> Check:
    run = finished_run(team, owner, response_status=status, response_body='{"x": 1}')
    return Check.objects.create(monitor=monitor, planned_at=at, started_at=at, run=run)


def test_states_changes_and_alerts(team: Team, owner: User) -> None:
    monitor = make_monitor(team, owner)
    channel, _ = services.create_channel(
        team=team, user=owner, name="hook", kind="webhook", target="http://127.0.0.1:9/h"
    )
    monitor.channels.add(channel)
    results = [200, 503, 200, 503, 503, 503, 200]
    states = []
    for n, status in enumerate(results):
        check = check_with(monitor, team, owner, status, T0 + timedelta(minutes=n))
        assert services.evaluate_check(check_id=check.pk)
        assert not services.evaluate_check(check_id=check.pk)  # once per check
        monitor.refresh_from_db()
        states.append(monitor.state)
    assert states == ["up", "degraded", "up", "degraded", "down", "down", "up"]
    changes = list(StateChange.objects.filter(monitor=monitor).order_by("at", "id"))
    assert [(c.from_state, c.to_state) for c in changes] == [
        ("unknown", "up"),
        ("up", "degraded"),
        ("degraded", "up"),
        ("up", "degraded"),
        ("degraded", "down"),
        ("down", "up"),
    ]
    assert changes[4].run is not None and changes[4].reason.startswith("Status 503")
    kinds = list(
        Delivery.objects.filter(channel=channel).order_by("id").values_list("kind", flat=True)
    )
    assert kinds == ["down", "recovery"]
    down = Delivery.objects.get(kind="down")
    assert down.message["status"].startswith("503")
    assert down.message["diagnosis"]["title"]
    assert down.share_url_encrypted  # a team-only link, kept encrypted


def test_a_failed_check_is_explained(team: Team, owner: User) -> None:
    monitor = make_monitor(team, owner)
    check = check_with(monitor, team, owner, 503, T0)
    services.evaluate_check(check_id=check.pk)
    check.refresh_from_db()
    assert check.passed is False
    assert check.failures[0]["title"] == "Status 503 is not one of 200-299"


def test_a_webhook_delivery_is_signed_and_retried(team: Team, owner: User, settings: Any) -> None:
    settings.ALERT_BACKOFF_BASE = 1
    with webhook_receiver() as receiver:
        channel, key = services.create_channel(
            team=team, user=owner, name="hook", kind="webhook", target=receiver.url
        )
        delivery = services.send_test_alert(channel=channel)
        receiver.fail_next = 1
        assert services.deliver(delivery_id=delivery.pk) == Delivery.Status.PENDING
        delivery.refresh_from_db()
        assert delivery.response_status == 500 and delivery.attempts == 1
        assert delivery.next_attempt_at is not None
        assert services.deliver(delivery_id=delivery.pk) == Delivery.Status.SENT
        assert services.deliver(delivery_id=delivery.pk) == Delivery.Status.SENT  # not again
    assert len(receiver.received) == 2
    last = receiver.received[-1]
    assert alerts.verify(
        key.encode(),
        last.headers[alerts.TIMESTAMP_HEADER],
        last.body,
        last.headers[alerts.SIGNATURE_HEADER],
        now=timezone.now().timestamp(),
    )
    assert json.loads(last.body)["event"] == "test"


def test_a_delivery_gives_up_after_the_last_try(team: Team, owner: User, settings: Any) -> None:
    settings.ALERT_MAX_ATTEMPTS = 2
    with webhook_receiver() as receiver:
        channel, _ = services.create_channel(
            team=team, user=owner, name="hook", kind="slack", target=receiver.url
        )
        delivery = services.send_test_alert(channel=channel)
        receiver.fail_next = 5
        assert services.deliver(delivery_id=delivery.pk) == Delivery.Status.PENDING
        assert services.deliver(delivery_id=delivery.pk) == Delivery.Status.FAILED
    assert "Test alert" in json.loads(receiver.received[0].body)["text"]


@pytest.mark.parametrize(
    "url", ["http://10.1.2.3/hook", "http://169.254.169.254/latest", "http://[fd00::1]/x"]
)
def test_a_private_webhook_address_is_refused(team: Team, owner: User, url: str) -> None:
    with pytest.raises(services.ChannelRefused, match="Blocked by the address policy"):
        services.create_channel(team=team, user=owner, name="x", kind="webhook", target=url)
    assert not AlertChannel.objects.exists()


def test_a_webhook_url_is_stored_encrypted(team: Team, owner: User) -> None:
    channel, _ = services.create_channel(
        team=team, user=owner, name="s", kind="slack", target="http://127.0.0.1:9/T0/B0/secret"
    )
    assert b"secret" not in bytes(channel.target_encrypted)
    assert "secret" not in channel.target_hint


def test_reminders_while_down_at_the_interval(team: Team, owner: User) -> None:
    monitor = make_monitor(team, owner, reminder_minutes=10, failures_to_down=1)
    channel, _ = services.create_channel(
        team=team, user=owner, name="hook", kind="slack", target="http://127.0.0.1:9/h"
    )
    monitor.channels.add(channel)
    first = check_with(monitor, team, owner, 503, T0)
    services.evaluate_check(check_id=first.pk)
    second = check_with(monitor, team, owner, 503, T0 + timedelta(minutes=1))
    services.evaluate_check(check_id=second.pk)  # too soon for a reminder
    Monitor.objects.filter(pk=monitor.pk).update(
        last_alert_at=timezone.now() - timedelta(minutes=11)
    )
    third = check_with(monitor, team, owner, 503, T0 + timedelta(minutes=2))
    services.evaluate_check(check_id=third.pk)
    kinds = list(Delivery.objects.order_by("id").values_list("kind", flat=True))
    assert kinds == ["down", "reminder"]


def test_an_email_channel_sends_the_alert(team: Team, owner: User, mailoutbox: list) -> None:
    channel, key = services.create_channel(
        team=team, user=owner, name="mail", kind="email", target="ops@example.com"
    )
    assert key == ""
    delivery = services.send_test_alert(channel=channel)
    assert services.deliver(delivery_id=delivery.pk) == Delivery.Status.SENT
    (mail,) = mailoutbox
    assert mail.to == ["ops@example.com"]
    assert "Test alert from mail" in mail.subject
    assert "Nothing: this channel works." in mail.body


def test_a_cron_schedule_runs_at_its_times_and_skips_missed_ones() -> None:
    at = services.next_slot(T0, 60, T0 + timedelta(seconds=1), cron="*/15 * * * *")
    assert at == T0 + timedelta(minutes=15)
    late = services.next_slot(T0, 60, T0 + timedelta(hours=2, minutes=1), cron="*/15 * * * *")
    assert late == T0 + timedelta(hours=2, minutes=15)


def test_a_cron_monitor_runs_at_its_own_second(team: Team, owner: User) -> None:
    monitor = make_monitor(team, owner, cron="*/15 * * * *")
    offset = monitor.cron_offset
    assert 0 <= offset <= 10
    after = services.next_slot(
        T0 + timedelta(seconds=offset), 60, T0 + timedelta(seconds=20), "*/15 * * * *", offset
    )
    assert after == T0 + timedelta(minutes=15, seconds=offset)


def test_a_new_monitors_first_check_is_spread_by_its_id(team: Team, owner: User) -> None:
    monitor = make_monitor(team, owner)
    first = services.first_check_at(monitor, T0)
    assert first == services.first_check_at(monitor, T0)  # the same on every call
    assert T0 <= first <= T0 + timedelta(seconds=30)
    others = {services.first_check_at(make_monitor(team, owner), T0) for _ in range(8)}
    assert len(others) > 1  # monitors made at one moment don't share their second
