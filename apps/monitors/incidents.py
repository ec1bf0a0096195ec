"""Incidents across a team: several runs to one host failing with the same diagnosis within
a window (INCIDENT_WINDOW_MINUTES, INCIDENT_MIN_RUNS) open one; a run to that host that
succeeds closes it. Run by the monitors' tick; one alert per incident, on the channels
that ask for incidents."""

import logging
from datetime import datetime, timedelta
from urllib.parse import urlencode

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Count, Max, Min
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.monitors import alerts
from apps.monitors.models import AlertChannel, Incident
from apps.runs.models import Run

logger = logging.getLogger(__name__)


def window() -> timedelta:
    return timedelta(minutes=settings.INCIDENT_WINDOW_MINUTES)


def log_link(incident: Incident) -> str:
    """The team log filtered to the incident's failing runs."""
    query = urlencode(
        {
            "host": incident.host,
            "diagnosis": incident.diagnosis_code,
            "since": incident.first_failure_at.strftime("%Y-%m-%dT%H:%M"),
        }
    )
    return f"{reverse('home')}?{query}"


def detect(*, now: datetime | None = None) -> dict[str, int]:
    """Open incidents for the failing groups, update the open ones, close the recovered."""
    from apps.monitors.services import queue_deliveries

    now = now or timezone.now()
    since = now - window()
    counts = {"opened": 0, "closed": 0}
    # Per team, over the (team, created_at) index: a run finished in the window was created
    # at most the worker's hard time limit (and its retries' waits) before it.
    created_since = since - timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 3600)
    groups = [
        group
        for team_id in Team.objects.values_list("id", flat=True)
        for group in Run.objects.filter(
            team_id=team_id,
            created_at__gte=created_since,
            finished_at__gte=since,
            severity="error",
        )
        .exclude(host="")
        .values("team_id", "host", "diagnosis_code")
        .annotate(
            failed=Count("id"),
            members=Count("created_by", distinct=True),
            first=Min("finished_at"),
            last=Max("finished_at"),
            title=Max("diagnosis_title"),
        )
        .filter(failed__gte=settings.INCIDENT_MIN_RUNS)
    ]
    for group in groups:
        team_id, host = group["team_id"], group["host"]
        if Run.objects.filter(
            team_id=team_id,
            host=host,
            created_at__gte=created_since,
            severity="ok",
            finished_at__gt=group["last"],
        ).exists():
            continue  # it failed, then succeeded: over already
        total = Run.objects.filter(
            team_id=team_id, host=host, created_at__gte=created_since, finished_at__gte=since
        ).count()
        values = {
            "diagnosis_code": group["diagnosis_code"],
            "diagnosis_title": (group["title"] or "")[:200],
            "last_failure_at": group["last"],
            "failed_runs": group["failed"],
            "total_runs": total,
            "members_affected": group["members"],
        }
        if Incident.objects.filter(team_id=team_id, host=host, closed_at=None).update(**values):
            continue
        try:
            with transaction.atomic():
                incident = Incident.objects.create(
                    team_id=team_id,
                    host=host,
                    opened_at=now,
                    first_failure_at=group["first"],
                    **values,
                )
                channels = list(AlertChannel.objects.filter(team_id=team_id, incident_alerts=True))
                if channels:
                    queue_deliveries(
                        channels=channels,
                        kind="incident",
                        message=_message(incident),
                        share_url="",
                        monitor=None,
                        change=None,
                    )
        except IntegrityError:
            continue  # another tick opened it
        counts["opened"] += 1
        logger.info("incident opened: team %s, %s, %s", team_id, host, incident.diagnosis_code)
    for incident in Incident.objects.filter(closed_at=None):
        recovered = Run.objects.filter(
            team_id=incident.team_id,
            host=incident.host,
            severity="ok",
            finished_at__gt=incident.last_failure_at,
        ).exists()
        if recovered and Incident.objects.filter(pk=incident.pk, closed_at=None).update(
            closed_at=now
        ):
            counts["closed"] += 1
            logger.info("incident %s closed: %s succeeds again", incident.pk, incident.host)
    return counts


def summary(incident: Incident) -> str:
    """'host: 12 of the last 15 runs failed with <diagnosis> since 10:02, 3 members
    affected: likely the provider, not you'."""
    members = incident.members_affected
    return (
        f"{incident.host}: {incident.failed_runs} of the last {incident.total_runs} runs failed "
        f"with {incident.diagnosis_title or incident.diagnosis_code} since "
        f"{incident.first_failure_at:%H:%M} UTC, {members} member{'s' if members != 1 else ''} "
        "affected: likely the provider, not you"
    )


def _message(incident: Incident) -> dict[str, object]:
    message = alerts.build_message(
        event="incident",
        monitor_name=incident.host,
        monitor_url=settings.SITE_URL + log_link(incident),
        from_state="up",
        to_state="down",
        status="",
        diagnosis=None,
        failures=[],
        excerpt="",
        run_url="",
        at=timezone.now().isoformat(),
    )
    message["evidence"] = [summary(incident)]
    message["diagnosis"] = {"code": incident.diagnosis_code, "title": incident.diagnosis_title}
    message["what_to_do"] = "Check the provider's status page; the runs are linked above."
    return message
