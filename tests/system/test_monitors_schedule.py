"""Scheduling with real processes: two beats started by mistake and a worker; a monitor
whose slot is due runs once, and one that missed 20 slots during an outage runs once too."""

import os
import subprocess
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.models import Team
from apps.monitors import services
from apps.monitors.assertions import parse
from apps.monitors.models import Check, Monitor
from apps.runs.models import Run
from dashboard.processes import beat_command
from tests.conftest import ROOT, database_url
from tests.support.factories import finished_run
from tests.support.services import stop_group

pytestmark = [pytest.mark.system, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def second_beat(
    celery_beat: object, broker_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[None]:
    """Another beat, with a schedule file of its own: both send the monitors' tick."""
    folder: Path = tmp_path_factory.mktemp("beat2")
    env = {
        **os.environ,
        **broker_env,
        "DATABASE_URL": database_url(),
        "MONITOR_TICK_INTERVAL": "1",
    }
    process = subprocess.Popen(
        beat_command(schedule=str(folder / "schedule")),
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    yield
    stop_group(process)


def test_two_beats_run_a_slot_once_and_an_outage_once(
    second_beat: None, live_server: object, team: Team, owner: User
) -> None:
    url = f"{live_server.url}/sandbox/echo"  # type: ignore[attr-defined]
    run = finished_run(team, owner, run={"url": url, "host": "localhost", "profile": "http"})
    now = timezone.now()
    due, late = (
        services.create_monitor(
            team=team,
            user=owner,
            source_run=run,
            name=name,
            interval_seconds=30,
            assertion_list=[parse("status in 200-299")],
        )
        for name in ("due", "late")
    )
    Monitor.objects.filter(pk=due.pk).update(next_check_at=now)
    Monitor.objects.filter(pk=late.pk).update(next_check_at=now - timedelta(minutes=10))
    deadline = time.monotonic() + 60
    while Check.objects.filter(evaluated_at__isnull=False).count() < 2:
        assert time.monotonic() < deadline, "the checks did not run"
        time.sleep(0.2)
    time.sleep(4)  # a few more ticks of both beats
    for monitor in (due, late):
        assert Check.objects.filter(monitor=monitor).count() == 1
        monitor.refresh_from_db()
        assert monitor.next_check_at is not None and monitor.next_check_at > now
    assert Run.objects.filter(monitor_check__isnull=False).count() == 2
    late.refresh_from_db()
    # The late monitor keeps its phase: its next slot is a whole number of intervals on.
    offset = (late.next_check_at - (now - timedelta(minutes=10))).total_seconds()  # type: ignore[operator]
    assert offset % 30 == pytest.approx(0, abs=0.01) and offset <= 10 * 60 + 30
