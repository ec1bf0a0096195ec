"""Monitor and alert channel pages. Thin: forms, then services and selectors."""

import uuid
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_POST, require_safe
from django_ratelimit.decorators import ratelimit

from apps.accounts.selectors import current_team
from apps.library.selectors import get_saved_request_for_user
from apps.monitors import assertions, charts, selectors, services
from apps.monitors.forms import ChannelForm, MonitorForm, SavedMonitorForm
from apps.monitors.models import Monitor
from apps.runs.selectors import get_run_for_user
from dashboard.requests import AuthenticatedHttpRequest


def _default_assertions(status: int | None) -> str:
    if status is not None and 200 <= status < 400:
        return f"status in {status}"
    return "status in 200-299"


@login_required
def monitor_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    team = current_team(request)
    rows = selectors.monitor_rows(team=team) if team is not None else []
    page = selectors.status_page_of(team=team) if team is not None else None
    return render(request, "monitors/list.html", {"rows": rows, "team": team, "status_page": page})


@login_required
@require_POST
def status_page_settings(request: AuthenticatedHttpRequest) -> HttpResponse:
    team = current_team(request)
    if team is not None:
        action = request.POST.get("action", "")
        services.set_status_page(
            team=team, enabled=action in {"enable", "rotate"}, rotate=action == "rotate"
        )
    return redirect("monitors:list")


def _status_view_limit(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_SHARE_VIEW


def _public(response: HttpResponse, *, max_age: int = 30) -> HttpResponse:
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex"
    patch_cache_control(response, public=True, max_age=max_age)
    return response


@require_safe
@ratelimit(key="ip", rate=_status_view_limit, group="status-page", block=False)
def public_status(request: HttpRequest, key: str) -> HttpResponse:
    """A team's public status page: names, states and uptime; no request, no secret."""
    if getattr(request, "limited", False):
        return HttpResponse("Too many requests; try again in a minute.", status=429)
    page = selectors.get_public_page(key=key)
    rows = selectors.public_rows(page=page)
    return _public(render(request, "monitors/public_status.html", {"page": page, "rows": rows}))


BADGE_COLOURS = {"up": "#2e7d32", "degraded": "#b26a00", "down": "#c62828", "unknown": "#6b7280"}


@require_safe
@ratelimit(key="ip", rate=_status_view_limit, group="status-page", block=False)
def badge(request: HttpRequest, key: str, monitor_id: uuid.UUID) -> HttpResponse:
    """An SVG badge of a public monitor's state."""
    if getattr(request, "limited", False):
        return HttpResponse("Too many requests; try again in a minute.", status=429)
    page = selectors.get_public_page(key=key)
    monitor = selectors.get_public_monitor(page=page, monitor_id=monitor_id)
    label = monitor.get_state_display() if not monitor.paused else "paused"
    colour = BADGE_COLOURS["unknown" if monitor.paused else monitor.state]
    name = monitor.name[:40]
    left = 8 + 7 * len(name)
    right = 8 + 7 * len(label)
    response = render(
        request,
        "monitors/badge.svg",
        {"name": name, "label": label, "colour": colour, "left": left, "right": right,
         "width": left + right},
        content_type="image/svg+xml",
    )  # fmt: skip
    return _public(response, max_age=60)


@login_required
def monitor_new(request: AuthenticatedHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """ "Monitor this": a monitor sending a copy of the run's request."""
    run = get_run_for_user(user=request.user, run_id=run_id)
    if request.method == "POST":
        form = MonitorForm(request.POST, team=run.team)
        if form.is_valid():
            monitor = services.create_monitor(
                team=run.team, user=request.user, source_run=run, **form.monitor_settings()
            )
            messages.success(
                request, f"Monitor “{monitor.name}” made: its first check is due soon."
            )
            return redirect("monitors:detail", monitor_id=monitor.id)
    else:
        form = MonitorForm(
            team=run.team,
            initial={
                "name": f"{run.method} {run.host} {_last_segment(run.url)}".strip()[:100],
                "assertions": _default_assertions(run.response_status),
            },
        )
    return render(request, "monitors/form.html", {"form": form, "run": run, "monitor": None})


@login_required
def monitor_new_from_saved(request: AuthenticatedHttpRequest, saved_id: uuid.UUID) -> HttpResponse:
    """A monitor sending a saved request with an environment, both read at each check."""
    saved = get_saved_request_for_user(user=request.user, saved_id=saved_id)
    if request.method == "POST":
        form = SavedMonitorForm(request.POST, team=saved.team)
        if form.is_valid():
            try:
                monitor = services.create_monitor(
                    team=saved.team,
                    user=request.user,
                    saved_request=saved,
                    environment=form.cleaned_data["environment"],
                    **form.monitor_settings(),
                )
            except services.RequestRefused as refusal:
                form.add_error("environment", str(refusal))
            else:
                messages.success(
                    request, f"Monitor “{monitor.name}” made: its first check is due soon."
                )
                return redirect("monitors:detail", monitor_id=monitor.id)
    else:
        form = SavedMonitorForm(
            team=saved.team,
            initial={"name": saved.name[:100], "assertions": _default_assertions(None)},
        )
    return render(
        request,
        "monitors/form.html",
        {"form": form, "run": None, "saved": saved, "monitor": None},
    )


def _last_segment(url: str) -> str:
    """The last segment of the URL's path ("ohlcv"), a short default name."""
    path = url.split("://", 1)[-1].partition("/")[2].split("?")[0]
    return path.rstrip("/").rpartition("/")[2]


@login_required
def monitor_edit(request: AuthenticatedHttpRequest, monitor_id: uuid.UUID) -> HttpResponse:
    monitor = selectors.get_monitor_for_user(user=request.user, monitor_id=monitor_id)
    form_class = SavedMonitorForm if monitor.uses_saved_request else MonitorForm
    if request.method == "POST":
        form = form_class(request.POST, team=monitor.team)
        if form.is_valid():
            try:
                services.update_monitor(
                    monitor=monitor,
                    environment=form.cleaned_data.get("environment", services.KEEP),
                    **form.monitor_settings(),
                )
            except services.RequestRefused as refusal:
                form.add_error("environment", str(refusal))
            else:
                messages.success(request, "Monitor saved.")
                return redirect("monitors:detail", monitor_id=monitor.id)
    else:
        form = form_class(
            team=monitor.team,
            initial={
                "name": monitor.name,
                "interval_seconds": monitor.interval_seconds,
                "assertions": assertions.to_text(monitor.assertions),
                "failures_to_down": monitor.failures_to_down,
                "successes_to_up": monitor.successes_to_up,
                "reminder_minutes": monitor.reminder_minutes,
                "channels": list(monitor.channels.all()),
                "public": monitor.public,
                "cron": monitor.cron,
                "environment": monitor.environment,
            },
        )
    return render(
        request,
        "monitors/form.html",
        {"form": form, "run": None, "saved": monitor.saved_request, "monitor": monitor},
    )


@login_required
def monitor_detail(request: AuthenticatedHttpRequest, monitor_id: uuid.UUID) -> HttpResponse:
    monitor = selectors.get_monitor_for_user(user=request.user, monitor_id=monitor_id)
    checks = selectors.recent_checks(monitor=monitor)
    chart = charts.latency_chart(
        [
            (f"{c.planned_at:%Y-%m-%d %H:%M:%S} UTC", c.duration_ms, c.phases, bool(c.passed))
            for c in checks
        ]
    )
    context: dict[str, Any] = {
        "monitor": monitor,
        "row": selectors.MonitorRow(
            monitor=monitor,
            uptime=selectors.uptime_of(monitor=monitor, now=timezone.now()),
            p95_ms=selectors.p95_of(monitor=monitor, now=timezone.now()),
        ),
        "checks": checks[::-1][:20],
        "chart": chart,
        "changes": selectors.timeline(monitor=monitor),
        "assertion_lines": [assertions.describe(a) for a in monitor.assertions],
        "channels": list(monitor.channels.all()),
    }
    template = "monitors/detail.html#status" if request.htmx else "monitors/detail.html"
    return render(request, template, context)


@login_required
@require_POST
def monitor_pause(request: AuthenticatedHttpRequest, monitor_id: uuid.UUID) -> HttpResponse:
    monitor = selectors.get_monitor_for_user(user=request.user, monitor_id=monitor_id)
    paused = request.POST.get("paused") != "0"
    services.set_paused(monitor=monitor, paused=paused)
    messages.success(request, "Monitor paused." if paused else "Monitor resumed.")
    return redirect("monitors:detail", monitor_id=monitor.id)


@login_required
@require_POST
def monitor_check_now(request: AuthenticatedHttpRequest, monitor_id: uuid.UUID) -> HttpResponse:
    monitor = selectors.get_monitor_for_user(user=request.user, monitor_id=monitor_id)
    if monitor.paused:
        messages.error(request, "This monitor is paused: resume it first.")
    else:
        services.check_now(monitor=monitor)
        messages.success(request, "A check is on its way.")
    return redirect("monitors:detail", monitor_id=monitor.id)


@login_required
@require_POST
def monitor_delete(request: AuthenticatedHttpRequest, monitor_id: uuid.UUID) -> HttpResponse:
    monitor = selectors.get_monitor_for_user(user=request.user, monitor_id=monitor_id)
    services.delete_monitor(monitor=monitor)
    messages.success(request, f"Monitor “{monitor.name}” deleted; its runs stay in the log.")
    return redirect("monitors:list")


@login_required
def channel_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    team = current_team(request)
    created = key = None
    if request.method == "POST":
        form = ChannelForm(request.POST)
        if team is None:
            form.add_error(None, "You are not a member of any team.")
        elif form.is_valid():
            created, key = services.create_channel(
                team=team,
                user=request.user,
                name=form.cleaned_data["name"],
                kind=form.cleaned_data["kind"],
                target=form.cleaned_data["target"],
                incident_alerts=form.cleaned_data["incident_alerts"],
            )
            form = ChannelForm()
    else:
        form = ChannelForm()
    channels = selectors.channels_of(team=team) if team is not None else []
    return render(
        request,
        "monitors/channels.html",
        {"form": form, "channels": channels, "created": created, "signing_key": key},
        status=400 if form.errors else 200,
    )


@login_required
def channel_detail(request: AuthenticatedHttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    channel = selectors.get_channel_for_user(user=request.user, channel_id=channel_id)
    return render(
        request,
        "monitors/channel.html",
        {
            "channel": channel,
            "deliveries": selectors.deliveries_of(channel=channel),
            "monitors": list(Monitor.objects.filter(channels=channel).order_by("name")),
        },
    )


@login_required
@require_POST
def channel_test(request: AuthenticatedHttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    channel = selectors.get_channel_for_user(user=request.user, channel_id=channel_id)
    services.send_test_alert(channel=channel)
    messages.success(request, "Test alert queued: its delivery shows below.")
    return redirect("monitors:channel", channel_id=channel.id)


@login_required
@require_POST
def channel_delete(request: AuthenticatedHttpRequest, channel_id: uuid.UUID) -> HttpResponse:
    channel = selectors.get_channel_for_user(user=request.user, channel_id=channel_id)
    channel.delete()
    messages.success(request, f"Channel “{channel.name}” deleted.")
    return redirect("monitors:channels")
