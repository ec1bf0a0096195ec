"""Reads of the health app: are workers running, can the database and the broker be reached."""

from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Max
from django.utils import timezone

from apps.health.models import WorkerHeartbeat


@dataclass(frozen=True)
class WorkerStatus:
    count: int  # workers seen within WORKER_GONE_AFTER
    last_seen_seconds: float | None  # age of the latest heartbeat of any worker; None: never
    known: bool = True  # False when the database could not be asked

    @property
    def running(self) -> bool:
        return self.count > 0


def worker_status() -> WorkerStatus:
    now = timezone.now()
    recent = now - timedelta(seconds=settings.WORKER_GONE_AFTER)
    try:
        count = WorkerHeartbeat.objects.filter(seen_at__gte=recent).count()
        latest = WorkerHeartbeat.objects.aggregate(latest=Max("seen_at"))["latest"]
    except DatabaseError:
        return WorkerStatus(count=0, last_seen_seconds=None, known=False)
    age = round((now - latest).total_seconds(), 1) if latest else None
    return WorkerStatus(count=count, last_seen_seconds=age)


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            return cursor.fetchone() == (1,)
    except DatabaseError:
        return False


def broker_ok(*, timeout: float = 2.0) -> bool:
    """A connection to the broker within `timeout` seconds (one try, no retries)."""
    from dashboard.celery import app

    try:
        with app.connection_for_write(connect_timeout=timeout) as conn:
            # kombu takes seconds as a float here; its stubs say int.
            conn.ensure_connection(max_retries=1, interval_start=0, timeout=timeout)  # type: ignore[arg-type]
    except Exception:  # each transport has its own errors: any of them means "not reachable"
        return False
    return True
