"""Reads of monitors, their checks, state changes, channels and deliveries."""

import math
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db.models import Count, Q
from django.http import Http404
from django.utils import timezone

from apps.accounts.models import Team
from apps.monitors.models import AlertChannel, Check, Delivery, Monitor, StateChange, StatusPage

UPTIME_WINDOWS = (
    ("24h", timedelta(hours=24)),
    ("7d", timedelta(days=7)),
    ("30d", timedelta(days=30)),
)


def get_monitor_for_user(*, user: User, monitor_id: uuid.UUID) -> Monitor:
    """The monitor if the user is a member of its team; Http404 otherwise."""
    monitor = (
        Monitor.objects.filter(pk=monitor_id, team__membership__user=user)
        .select_related("team")
        .first()
    )
    if monitor is None:
        raise Http404("No such monitor")
    return monitor


def get_channel_for_user(*, user: User, channel_id: uuid.UUID) -> AlertChannel:
    """The channel if the user is a member of its team; Http404 otherwise."""
    channel = (
        AlertChannel.objects.filter(pk=channel_id, team__membership__user=user)
        .select_related("team")
        .first()
    )
    if channel is None:
        raise Http404("No such channel")
    return channel


def channels_of(*, team: Team) -> list[AlertChannel]:
    return list(AlertChannel.objects.for_team(team).order_by("name"))


@dataclass(frozen=True)
class MonitorRow:
    monitor: Monitor
    uptime: dict[str, float | None]  # window -> share of passed checks, None: no checks
    p95_ms: float | None  # of the last 24 h


def p95(values: list[float]) -> float | None:
    """The nearest-rank 95th percentile."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def uptime_of(*, monitor: Monitor, now: datetime) -> dict[str, float | None]:
    aggregates = Check.objects.filter(monitor=monitor, evaluated_at__isnull=False).aggregate(
        **{
            f"all_{name}": Count("pk", filter=Q(planned_at__gte=now - span))
            for name, span in UPTIME_WINDOWS
        },
        **{
            f"ok_{name}": Count("pk", filter=Q(planned_at__gte=now - span, passed=True))
            for name, span in UPTIME_WINDOWS
        },
    )
    return {
        name: (aggregates[f"ok_{name}"] / aggregates[f"all_{name}"])
        if aggregates[f"all_{name}"]
        else None
        for name, _ in UPTIME_WINDOWS
    }


def p95_of(*, monitor: Monitor, now: datetime) -> float | None:
    durations = Check.objects.filter(
        monitor=monitor, planned_at__gte=now - timedelta(hours=24), duration_ms__isnull=False
    ).values_list("duration_ms", flat=True)
    return p95([float(value) for value in durations if value is not None])


def monitor_rows(*, team: Team) -> list[MonitorRow]:
    now = timezone.now()
    return [
        MonitorRow(
            monitor=m, uptime=uptime_of(monitor=m, now=now), p95_ms=p95_of(monitor=m, now=now)
        )
        for m in Monitor.objects.for_team(team).order_by("name", "id")
    ]


def recent_checks(*, monitor: Monitor, limit: int = 60) -> list[Check]:
    """The latest evaluated checks, oldest first (for the chart)."""
    checks = list(
        Check.objects.filter(monitor=monitor, evaluated_at__isnull=False)
        .select_related("run")
        .order_by("-planned_at")[:limit]
    )
    return checks[::-1]


def timeline(*, monitor: Monitor, limit: int = 50) -> list[StateChange]:
    return list(StateChange.objects.filter(monitor=monitor).select_related("run")[:limit])


def deliveries_of(*, channel: AlertChannel, limit: int = 50) -> list[Delivery]:
    return list(Delivery.objects.filter(channel=channel).select_related("monitor")[:limit])


def status_page_of(*, team: Team) -> StatusPage | None:
    return StatusPage.objects.filter(team=team).first()


def get_public_page(*, key: str) -> StatusPage:
    """An enabled status page by its key; Http404 for any other key."""
    page = StatusPage.objects.filter(key=key, enabled=True).select_related("team").first()
    if page is None:
        raise Http404("No such status page")
    return page


def public_rows(*, page: StatusPage) -> list[MonitorRow]:
    now = timezone.now()
    monitors = Monitor.objects.for_team(page.team).filter(public=True).order_by("name", "id")
    return [
        MonitorRow(monitor=m, uptime=uptime_of(monitor=m, now=now), p95_ms=None) for m in monitors
    ]


def get_public_monitor(*, page: StatusPage, monitor_id: uuid.UUID) -> Monitor:
    monitor = Monitor.objects.for_team(page.team).filter(pk=monitor_id, public=True).first()
    if monitor is None:
        raise Http404("No such monitor")
    return monitor
