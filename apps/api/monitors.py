"""The JSON API of monitors and alert channels: thin endpoints over apps.monitors'
services, selectors and forms (the pages' validation). Registered on the API in api.py."""

import uuid
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from apps.api.api import ERRORS, Problematic, _form_problem, _found, _invalid_input, _team, _token
from apps.api.schemas import Problem
from apps.library import selectors as library_selectors
from apps.library.models import Environment
from apps.monitors import assertions, incidents, selectors, services
from apps.monitors.forms import ChannelForm, MonitorForm
from apps.monitors.models import AlertChannel, Incident, Monitor
from apps.runs.selectors import get_run_for_user

router = Router(tags=["Monitors"])
ID_ERRORS: dict[int, type] = {**ERRORS, 404: Problem}


class MonitorIn(Schema):
    run_id: uuid.UUID | None = Field(
        None, description="The run whose request the monitor sends (or saved_request)."
    )
    saved_request: str | None = Field(
        None,
        max_length=200,
        description="A saved request's id or name, sent as it is at each check (or run_id).",
    )
    collection: str = Field(
        "", max_length=200, description="The saved request's collection (id or name), if needed."
    )
    environment: str = Field(
        "",
        max_length=100,
        description="With saved_request: an environment's id or name; its variables and vault "
        "secrets are read at each check.",
    )
    name: str
    interval_seconds: int = Field(300, description="30, 60, 300, 900, 3600, 21600 or 86400.")
    cron: str = Field("", description="Five-field cron expression (UTC); replaces the interval.")
    assertions: list[str] = Field(description="One assertion per item, e.g. 'status in 200-299'.")
    failures_to_down: int = 2
    successes_to_up: int = 1
    reminder_minutes: int = 0
    channel_ids: list[uuid.UUID] = []
    public: bool = False


class MonitorPatch(Schema):
    name: str | None = None
    environment: str | None = Field(
        None, max_length=100, description="A saved request's monitor: an environment, or ''."
    )
    interval_seconds: int | None = None
    cron: str | None = None
    assertions: list[str] | None = None
    failures_to_down: int | None = None
    successes_to_up: int | None = None
    reminder_minutes: int | None = None
    channel_ids: list[uuid.UUID] | None = None
    public: bool | None = None


class MonitorOut(Schema):
    id: uuid.UUID
    name: str
    method: str
    url: str = Field(description="As stored: secrets redacted.")
    saved_request_id: uuid.UUID | None = Field(description="The saved request it sends, if any.")
    environment_id: uuid.UUID | None = Field(description="The environment it sends it with.")
    state: str
    paused: bool
    interval_seconds: int
    cron: str
    schedule: str = Field(description="The schedule in words.")
    cron_offset_seconds: int = Field(
        description="A cron schedule's jitter: it runs this many seconds after each time."
    )
    next_check_at: datetime | None
    last_check_at: datetime | None
    assertions: list[str]
    failures_to_down: int
    successes_to_up: int
    reminder_minutes: int
    channel_ids: list[uuid.UUID]
    public: bool
    uptime: dict[str, float | None]
    p95_ms: float | None
    page: str


class CheckOut(Schema):
    planned_at: datetime
    passed: bool | None
    duration_ms: float | None
    run_id: uuid.UUID | None
    failures: list[dict[str, Any]]


class ChangeOut(Schema):
    at: datetime
    from_state: str
    to_state: str
    run_id: uuid.UUID | None
    diagnosis_code: str
    diagnosis_title: str
    reason: str


class HistoryOut(Schema):
    changes: list[ChangeOut]
    checks: list[CheckOut]


class ChannelIn(Schema):
    name: str
    kind: str = Field(description="email, slack, chat (Teams/Discord) or webhook.")
    target: str = Field(description="A webhook URL, or email addresses separated by commas.")
    incident_alerts: bool = False


class ChannelOut(Schema):
    id: uuid.UUID
    name: str
    kind: str
    target_hint: str = Field(description="The host of the URL, never its path.")
    incident_alerts: bool
    signing_key: str | None = Field(
        None, description="The webhook's HMAC key: in the answer that makes it, never again."
    )


class DeliveryOut(Schema):
    kind: str
    status: str
    attempts: int
    created_at: datetime
    sent_at: datetime | None
    response_status: int | None
    last_error: str


def _monitor(request: HttpRequest, monitor_id: uuid.UUID) -> Monitor:
    monitor = selectors.get_monitor_for_user(user=request.user, monitor_id=monitor_id)  # type: ignore[arg-type]
    if monitor.team_id != _token(request).team_id:
        raise Http404("No such monitor")
    return monitor


def _channel(request: HttpRequest, channel_id: uuid.UUID) -> AlertChannel:
    channel = selectors.get_channel_for_user(user=request.user, channel_id=channel_id)  # type: ignore[arg-type]
    if channel.team_id != _token(request).team_id:
        raise Http404("No such channel")
    return channel


def _out(request: HttpRequest, monitor: Monitor) -> dict[str, Any]:
    from django.utils import timezone

    now = timezone.now()
    return {
        **{
            name: getattr(monitor, name)
            for name in (
                "id",
                "name",
                "method",
                "url",
                "state",
                "paused",
                "interval_seconds",
                "cron",
                "next_check_at",
                "last_check_at",
                "failures_to_down",
                "successes_to_up",
                "reminder_minutes",
                "public",
                "saved_request_id",
                "environment_id",
            )
        },
        "cron_offset_seconds": monitor.cron_offset,
        "assertions": [assertions.describe(a) for a in monitor.assertions],
        "channel_ids": list(monitor.channels.values_list("id", flat=True)),
        "schedule": monitor.schedule_text,
        "uptime": selectors.uptime_of(monitor=monitor, now=now),
        "p95_ms": selectors.p95_of(monitor=monitor, now=now),
        "page": request.build_absolute_uri(f"/monitors/{monitor.id}/"),
    }


def _form(request: HttpRequest, data: dict[str, Any]) -> MonitorForm:
    form = MonitorForm(
        {
            "name": data["name"],
            "interval_seconds": str(data["interval_seconds"]),
            "cron": data["cron"],
            "assertions": "\n".join(data["assertions"]),
            "failures_to_down": str(data["failures_to_down"]),
            "successes_to_up": str(data["successes_to_up"]),
            "reminder_minutes": str(data["reminder_minutes"]),
            "channels": [str(pk) for pk in data["channel_ids"]],
            "public": "on" if data["public"] else "",
        },
        team=_team(request),
    )
    if not form.is_valid():
        errors = form.errors
        if "channels" in errors:  # the API's name of the field
            errors["channel_ids"] = errors.pop("channels")
        raise _form_problem(form)
    return form


@router.get("/monitors", response={200: list[MonitorOut], **ERRORS}, summary="The team's monitors")
def list_monitors(request: HttpRequest) -> list[dict[str, Any]]:
    monitors = Monitor.objects.for_team(_team(request)).order_by("name", "id")
    return [_out(request, m) for m in monitors]


def _environment(request: HttpRequest, value: str) -> Environment | None:
    found: Environment | None = _found(
        "environment", library_selectors.find_environment, team=_team(request), value=value
    )
    return found


@router.post(
    "/monitors",
    response={201: MonitorOut, **ID_ERRORS},
    summary="Monitor a run's request, or a saved request with an environment",
)
def create_monitor(request: HttpRequest, payload: MonitorIn) -> Status[Any]:
    if (payload.run_id is None) == (payload.saved_request is None):
        raise _invalid_input("run_id", "Give either run_id or saved_request, not both.")
    team = _team(request)
    run = saved = environment = None
    if payload.run_id is not None:
        run = get_run_for_user(user=request.user, run_id=payload.run_id)  # type: ignore[arg-type]
        if run.team_id != team.pk:
            raise Http404("No such run")
        if payload.environment:
            raise _invalid_input("environment", "An environment goes with a saved request.")
    else:
        saved = _found(
            "saved_request",
            library_selectors.find_saved_request,
            team=team,
            value=payload.saved_request or "",
            collection=payload.collection,
        )
        environment = _environment(request, payload.environment)
    form = _form(request, payload.dict())
    try:
        monitor = services.create_monitor(
            team=team,
            user=request.user,  # type: ignore[arg-type]
            source_run=run,
            saved_request=saved,
            environment=environment,
            **form.monitor_settings(),
        )
    except services.RequestRefused as refusal:
        raise _invalid_input("environment", str(refusal)) from None
    return Status(201, _out(request, monitor))


@router.get(
    "/monitors/{uuid:monitor_id}", response={200: MonitorOut, **ID_ERRORS}, summary="A monitor"
)
def get_monitor(request: HttpRequest, monitor_id: uuid.UUID) -> dict[str, Any]:
    return _out(request, _monitor(request, monitor_id))


@router.patch(
    "/monitors/{uuid:monitor_id}",
    response={200: MonitorOut, **ID_ERRORS},
    summary="Change a monitor",
)
def update_monitor(
    request: HttpRequest, monitor_id: uuid.UUID, payload: MonitorPatch
) -> dict[str, Any]:
    monitor = _monitor(request, monitor_id)
    current = {
        "name": monitor.name,
        "interval_seconds": monitor.interval_seconds,
        "cron": monitor.cron,
        "assertions": [assertions.describe(a) for a in monitor.assertions],
        "failures_to_down": monitor.failures_to_down,
        "successes_to_up": monitor.successes_to_up,
        "reminder_minutes": monitor.reminder_minutes,
        "channel_ids": list(monitor.channels.values_list("id", flat=True)),
        "public": monitor.public,
    }
    changes = {k: v for k, v in payload.dict().items() if v is not None}
    environment: Environment | services.Keep | None = services.KEEP
    if payload.environment is not None:
        if not monitor.uses_saved_request:
            raise _invalid_input("environment", "An environment goes with a saved request.")
        environment = _environment(request, payload.environment)
    form = _form(request, {**current, **changes})
    try:
        services.update_monitor(monitor=monitor, environment=environment, **form.monitor_settings())
    except services.RequestRefused as refusal:
        raise _invalid_input("environment", str(refusal)) from None
    return _out(request, monitor)


@router.delete(
    "/monitors/{uuid:monitor_id}", response={204: None, **ID_ERRORS}, summary="Delete a monitor"
)
def delete_monitor(request: HttpRequest, monitor_id: uuid.UUID) -> Status[None]:
    services.delete_monitor(monitor=_monitor(request, monitor_id))
    return Status(204, None)


@router.post(
    "/monitors/{uuid:monitor_id}/pause", response={200: MonitorOut, **ID_ERRORS}, summary="Pause"
)
def pause_monitor(request: HttpRequest, monitor_id: uuid.UUID) -> dict[str, Any]:
    monitor = _monitor(request, monitor_id)
    services.set_paused(monitor=monitor, paused=True)
    return _out(request, monitor)


@router.post(
    "/monitors/{uuid:monitor_id}/resume", response={200: MonitorOut, **ID_ERRORS}, summary="Resume"
)
def resume_monitor(request: HttpRequest, monitor_id: uuid.UUID) -> dict[str, Any]:
    monitor = _monitor(request, monitor_id)
    services.set_paused(monitor=monitor, paused=False)
    return _out(request, monitor)


@router.post(
    "/monitors/{uuid:monitor_id}/check-now",
    response={202: MonitorOut, **ID_ERRORS, 409: Problem},
    summary="Check now: the next check is brought forward to the next tick",
)
def check_monitor_now(request: HttpRequest, monitor_id: uuid.UUID) -> Status[Any]:
    """As the monitor page's "Check now": a paused monitor is refused (409); resume it
    first. The check's outcome is in the history once it has run."""
    monitor = _monitor(request, monitor_id)
    if monitor.paused:
        raise Problematic(409, "This monitor is paused: resume it first.")
    services.check_now(monitor=monitor)
    monitor.refresh_from_db()
    return Status(202, _out(request, monitor))


@router.get(
    "/monitors/{uuid:monitor_id}/history",
    response={200: HistoryOut, **ID_ERRORS},
    summary="State changes and latest checks",
)
def monitor_history(request: HttpRequest, monitor_id: uuid.UUID) -> dict[str, Any]:
    monitor = _monitor(request, monitor_id)
    return {
        "changes": selectors.timeline(monitor=monitor),
        "checks": selectors.recent_checks(monitor=monitor)[::-1],
    }


def _channel_out(channel: AlertChannel, signing_key: str | None = None) -> dict[str, Any]:
    return {
        "id": channel.id,
        "name": channel.name,
        "kind": channel.kind,
        "target_hint": channel.target_hint,
        "incident_alerts": channel.incident_alerts,
        "signing_key": signing_key,
    }


@router.get(
    "/channels",
    response={200: list[ChannelOut], **ERRORS},
    summary="Alert channels",
    tags=["Alert channels"],
)
def list_channels(request: HttpRequest) -> list[dict[str, Any]]:
    return [_channel_out(c) for c in selectors.channels_of(team=_team(request))]


@router.post(
    "/channels",
    response={201: ChannelOut, **ERRORS},
    summary="Add a channel",
    tags=["Alert channels"],
)
def create_channel(request: HttpRequest, payload: ChannelIn) -> Status[Any]:
    form = ChannelForm(
        {
            "name": payload.name,
            "kind": payload.kind,
            "target": payload.target,
            "incident_alerts": "on" if payload.incident_alerts else "",
        }
    )
    if not form.is_valid():
        raise _form_problem(form)
    channel, key = services.create_channel(
        team=_team(request),
        user=request.user,  # type: ignore[arg-type]
        name=form.cleaned_data["name"],
        kind=form.cleaned_data["kind"],
        target=form.cleaned_data["target"],
        incident_alerts=form.cleaned_data["incident_alerts"],
    )
    return Status(201, _channel_out(channel, key or None))


class ChannelDetailOut(ChannelOut):
    monitor_ids: list[uuid.UUID] = Field(description="The monitors that alert through it.")
    deliveries: list[DeliveryOut] = Field(description="Its latest deliveries.")


@router.get(
    "/channels/{uuid:channel_id}",
    response={200: ChannelDetailOut, **ID_ERRORS},
    summary="A channel: the monitors that use it and its deliveries",
    tags=["Alert channels"],
)
def get_channel(request: HttpRequest, channel_id: uuid.UUID) -> dict[str, Any]:
    """Its target's host only, never its path; the signing key never again."""
    channel = _channel(request, channel_id)
    return {
        **_channel_out(channel),
        "monitor_ids": list(
            Monitor.objects.filter(channels=channel).order_by("name").values_list("id", flat=True)
        ),
        "deliveries": selectors.deliveries_of(channel=channel),
    }


@router.get(
    "/channels/{uuid:channel_id}/deliveries",
    response={200: list[DeliveryOut], **ID_ERRORS},
    summary="A channel's deliveries",
    tags=["Alert channels"],
)
def channel_deliveries(request: HttpRequest, channel_id: uuid.UUID) -> list[Any]:
    return selectors.deliveries_of(channel=_channel(request, channel_id))


@router.post(
    "/channels/{uuid:channel_id}/test",
    response={202: DeliveryOut, **ID_ERRORS},
    summary="Send a test alert",
    tags=["Alert channels"],
)
def test_channel(request: HttpRequest, channel_id: uuid.UUID) -> Status[Any]:
    return Status(202, services.send_test_alert(channel=_channel(request, channel_id)))


@router.delete(
    "/channels/{uuid:channel_id}",
    response={204: None, **ID_ERRORS},
    summary="Delete a channel",
    tags=["Alert channels"],
)
def delete_channel(request: HttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    _channel(request, channel_id).delete()
    return HttpResponse(status=204)


class StatusPageIn(Schema):
    enabled: bool = Field(description="The team's public status page on or off.")
    new_address: bool = Field(
        False, description="Give it a new address (the old one stops working); with enabled."
    )


class StatusPageOut(Schema):
    enabled: bool
    url: str | None = Field(description="Its public address while it is on, else null.")


def _status_page_out(request: HttpRequest) -> dict[str, Any]:
    page = selectors.status_page_of(team=_team(request))
    if page is None or not page.enabled:
        return {"enabled": False, "url": None}
    url = request.build_absolute_uri(reverse("status:public_status", args=[page.key]))
    return {"enabled": True, "url": url}


@router.get(
    "/status-page",
    response={200: StatusPageOut, **ERRORS},
    summary="The team's public status page",
)
def get_status_page(request: HttpRequest) -> dict[str, Any]:
    """Its public monitors' names, states and uptime, at an unguessable address."""
    return _status_page_out(request)


@router.put(
    "/status-page",
    response={200: StatusPageOut, **ERRORS},
    summary="Turn the status page on or off, or give it a new address",
)
def set_status_page(request: HttpRequest, payload: StatusPageIn) -> dict[str, Any]:
    """As the Monitors page's buttons: on, off, or on at a new address."""
    if payload.new_address and not payload.enabled:
        raise _invalid_input("new_address", "A new address goes with enabled: true.")
    services.set_status_page(
        team=_team(request), enabled=payload.enabled, rotate=payload.new_address
    )
    return _status_page_out(request)


class IncidentOut(Schema):
    host: str
    diagnosis_code: str
    diagnosis_title: str
    opened_at: datetime
    first_failure_at: datetime
    last_failure_at: datetime
    failed_runs: int = Field(description="Of the runs to the host in the window, those failing so.")
    total_runs: int
    members_affected: int
    summary: str = Field(description="The team log's banner, in words.")
    runs: str = Field(description="The failing runs: the team log through the API, filtered.")
    page: str = Field(description="The same in the dashboard's team log.")


INCIDENT_FIELDS = (
    "host", "diagnosis_code", "diagnosis_title", "opened_at", "first_failure_at",
    "last_failure_at", "failed_runs", "total_runs", "members_affected",
)  # fmt: skip


@router.get(
    "/incidents",
    response={200: list[IncidentOut], **ERRORS},
    summary="Open incidents: a host's runs failing the same way (likely the provider)",
    tags=["Team log"],
)
def list_incidents(request: HttpRequest) -> list[dict[str, Any]]:
    """What the team log's banner says, newest first; each closes when a run to its host
    succeeds."""
    found = Incident.objects.for_team(_team(request)).filter(closed_at=None)
    answers = []
    for incident in found.order_by("-opened_at"):
        page = incidents.log_link(incident)
        query = page.partition("?")[2]
        answer = {name: getattr(incident, name) for name in INCIDENT_FIELDS}
        answer["summary"] = incidents.summary(incident)
        answer["runs"] = request.build_absolute_uri(f"{reverse('api:list_runs')}?{query}")
        answer["page"] = request.build_absolute_uri(page)
        answers.append(answer)
    return answers
