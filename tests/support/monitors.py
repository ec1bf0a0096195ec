"""Monitors made in bulk for the chaos tests and the schedule benchmark, in the database of a
private stack (`tests.support.services`): a `manage.py shell` of that stack's environment
makes them, so that the request fields and the channel's encrypted target are written by
the dashboard's own code and keys. Plain code, no pytest."""

import json
import subprocess
import sys
from dataclasses import asdict, dataclass, field

from tests.support.services import ROOT

_SCRIPT = """
import json
from datetime import UTC, datetime
from urllib.parse import urlsplit

from django.contrib.auth.models import User
from apps.accounts.models import Membership
from apps.monitors import services
from apps.monitors.assertions import parse
from apps.monitors.models import Monitor

spec = json.loads(SPEC)
user = User.objects.get(username=spec["username"])
team = Membership.objects.get(user=user).team
channels = []
if spec["webhook"]:
    channel, _ = services.create_channel(
        team=team, user=user, name="chaos receiver", kind="webhook", target=spec["webhook"]
    )
    channels = [channel]
made = Monitor.objects.bulk_create(
    [
        Monitor(
            team=team,
            created_by=user,
            name=one["name"],
            method="GET",
            url=one["url"],
            host=urlsplit(one["url"]).hostname or "",
            request_headers=[["Accept", "application/json"]],
            timeout_seconds=10,
            profile="http",
            interval_seconds=spec["interval"],
            assertions=[parse(spec["assertion"])],
            failures_to_down=spec["failures_to_down"],
            successes_to_up=1,
            next_check_at=datetime.fromtimestamp(one["first_at"], UTC),
        )
        for one in spec["monitors"]
    ],
    batch_size=500,
)
for monitor in made if channels else []:
    monitor.channels.set(channels)
print(len(made), "monitors made")
"""


@dataclass(frozen=True)
class MonitorSpec:
    name: str
    url: str
    first_at: float  # epoch seconds of its first slot


@dataclass
class MonitorBatch:
    username: str
    interval: int
    monitors: list[MonitorSpec] = field(default_factory=list)
    assertion: str = "status in 200-299"
    failures_to_down: int = 1
    webhook: str = ""  # a generic webhook channel of the team, on every monitor


def add_monitors(env: dict[str, str], batch: MonitorBatch) -> None:
    """Make the monitors of `batch` (and its webhook channel) for the user's team."""
    spec = json.dumps({**asdict(batch), "monitors": [asdict(m) for m in batch.monitors]})
    code = f"SPEC = {spec!r}\n{_SCRIPT}"
    done = subprocess.run([sys.executable, "manage.py", "shell", "-c", code], cwd=ROOT,
                          env=env, timeout=300, capture_output=True, text=True)  # fmt: skip
    if done.returncode != 0:
        raise RuntimeError(f"the monitors were not made: {done.stderr[-2000:]}")
