"""Writes of the health app: worker heartbeats."""

from datetime import datetime, timedelta

from django.utils import timezone

from apps.health.models import WorkerHeartbeat

# Rows of workers not seen for this long are deleted (killed workers never remove theirs).
FORGET_AFTER = timedelta(days=1)


def record_heartbeat(*, name: str, pid: int, started_at: datetime) -> None:
    now = timezone.now()
    WorkerHeartbeat.objects.update_or_create(
        name=name[:200], defaults={"pid": pid, "started_at": started_at, "seen_at": now}
    )
    WorkerHeartbeat.objects.filter(seen_at__lt=now - FORGET_AFTER).delete()


def forget_worker(*, name: str) -> None:
    WorkerHeartbeat.objects.filter(name=name[:200]).delete()
