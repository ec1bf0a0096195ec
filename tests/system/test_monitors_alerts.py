"""Monitors with real parts: a Celery worker and beat processes, the sandbox served by the
live test server, and a local webhook receiver (127.0.0.1). A monitor made from a run with
"Monitor this" goes down when the sandbox's maintenance is switched on and up when it is
switched off: one signed webhook each, carrying the diagnosis; a blip under the threshold
sends none; a receiver that fails is retried."""

import json
import time
import uuid
from collections.abc import Callable, Iterator
from datetime import UTC, datetime

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.urls import reverse

from apps.monitors import alerts
from apps.monitors.models import Check, Delivery, Monitor
from apps.runs.models import Run
from apps.sandbox import state as sandbox_state
from tests.support.clients import client_for
from tests.support.receiver import Receiver, webhook_receiver

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]

OHLCV = "/sandbox/us/v2/data/trades.v1/exchanges/cbse/spot/btc-usd/aggregations/ohlcv"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as served:
        yield served


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.1)


def source_run(client: Client, url: str) -> Run:
    response = client.post(
        reverse("runs:new"),
        {"method": "GET", "url": url, "params": "", "headers": "Accept: application/json",
         "body": "", "api_key": "sandbox-demo-key", "timeout": "10", "profile": ""},
    )  # fmt: skip
    assert response.status_code == 302, response.content.decode()[:2000]
    run_id = uuid.UUID(response["Location"].rstrip("/").split("/")[-1])
    wait_for(lambda: Run.objects.get(pk=run_id).status == Run.Status.DONE, "the source run")
    run = Run.objects.get(pk=run_id)
    assert run.response_status == 200
    return run


def check(client: Client, monitor: Monitor) -> Check:
    """Ask for a check now and wait until beat and the worker have made and judged it."""
    done = Check.objects.filter(monitor=monitor, evaluated_at__isnull=False).count()
    client.post(reverse("monitors:check_now", args=[monitor.id]))
    wait_for(
        lambda: Check.objects.filter(monitor=monitor, evaluated_at__isnull=False).count() > done,
        "a check",
    )
    return Check.objects.filter(monitor=monitor).order_by("-planned_at").first()  # type: ignore[return-value]


def maintenance(on: bool) -> None:
    sandbox_state.set_maintenance(on=on, now=datetime.now(UTC))


def test_a_monitor_alerts_once_down_once_up_and_never_on_a_blip(
    celery_beat: object, live_server: object, owner: User, receiver: Receiver
) -> None:
    client = client_for(owner)
    run = source_run(client, f"{live_server.url}{OHLCV}")  # type: ignore[attr-defined]
    made = client.post(
        reverse("monitors:channels"), {"name": "Ops", "kind": "webhook", "target": receiver.url}
    )
    key = made.context["signing_key"].encode()
    channel = made.context["created"]
    response = client.post(
        reverse("monitors:new", args=[run.id]),
        {"name": "OHLCV", "interval_seconds": "3600", "assertions": "status in 200-299",
         "failures_to_down": "2", "successes_to_up": "1", "reminder_minutes": "0",
         "channels": [str(channel.id)]},
    )  # fmt: skip
    assert response.status_code == 302
    monitor = Monitor.objects.get()
    try:
        first = check(client, monitor)
        assert first.passed and first.run is not None
        assert first.run.monitor_check == first  # a normal Run, marked as the monitor's

        maintenance(True)  # a blip: one failed check, below the threshold of two
        assert not check(client, monitor).passed
        maintenance(False)
        assert check(client, monitor).passed
        monitor.refresh_from_db()
        assert monitor.state == "up"
        assert not Delivery.objects.exists()

        receiver.fail_next = 1  # the first delivery of the alert fails: retried
        maintenance(True)
        check(client, monitor)
        failing = check(client, monitor)
        monitor.refresh_from_db()
        assert monitor.state == "down"
        assert failing.failures[0]["title"] == "Status 503 is not one of 200-299"
        receiver.wait_for(1, timeout=90)
    finally:
        maintenance(False)
    recovered = check(client, monitor)
    assert recovered.passed
    receiver.wait_for(2, timeout=60)
    time.sleep(3)  # nothing else is coming: a few more ticks
    accepted = receiver.accepted()
    assert len(accepted) == 2
    assert len(receiver.received) == 3  # the failed try, then the two alerts
    down, up = (json.loads(r.body) for r in accepted)
    for delivered in accepted:
        assert alerts.verify(
            key,
            delivered.headers[alerts.TIMESTAMP_HEADER],
            delivered.body,
            delivered.headers[alerts.SIGNATURE_HEADER],
            now=time.time(),
        )
    assert down["event"] == "down" and down["change"] == "degraded → down"
    assert down["status"].startswith("503")
    assert "maintenance" in down["diagnosis"]["title"].lower()
    assert down["evidence"] and down["what_to_do"]
    assert down["share_url"].startswith("http") and "/s/" in down["share_url"]
    assert down["run_url"].endswith(reverse("runs:detail", args=[failing.run_id]))
    assert up["event"] == "recovery" and up["change"] == "down → up"
    assert "sandbox-demo-key" not in b"".join(r.body for r in receiver.received).decode()
    deliveries = Delivery.objects.filter(channel=channel).order_by("id")
    assert [(d.kind, d.status) for d in deliveries] == [("down", "sent"), ("recovery", "sent")]
    assert deliveries[0].attempts == 2
