import uuid
from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from apps.accounts.selectors import current_team_for_user
from apps.diagnosis.rules import Diagnosis
from apps.runs import selectors, services
from apps.runs.forms import RunForm
from apps.runs.models import Run
from apps.runs.presentation import body_view, content_type_of
from apps.runs.presets import PRESETS_BY_SLUG, preset_groups

RECENT_RUNS = 50
# After this long in one state, the page says that the run may be waiting on a worker.
STALE_AFTER = timedelta(seconds=20)


@login_required
def home(request: HttpRequest) -> HttpResponse:
    team = current_team_for_user(user=request.user)
    runs = selectors.runs_for_team(team=team)[:RECENT_RUNS] if team else []
    return render(request, "runs/home.html", {"team": team, "runs": runs})


@login_required
def new_run(request: HttpRequest) -> HttpResponse:
    team = current_team_for_user(user=request.user)
    sandbox_base = request.build_absolute_uri("/sandbox").rstrip("/")
    if request.method == "POST":
        form = RunForm(request.POST)
        if team is None:
            form.add_error(None, "You are not a member of any team, so runs cannot be stored.")
        elif form.is_valid():
            run = services.submit_run(team=team, user=request.user, request=form.to_request())
            return redirect("runs:detail", run_id=run.id)
    else:
        preset = PRESETS_BY_SLUG.get(request.GET.get("preset", ""))
        form = RunForm(initial=preset.initial(sandbox_base) if preset else {"method": "GET"})
        if request.GET.get("preset") and preset is None:
            messages.info(request, "That preset does not exist; the form is empty.")
    return render(
        request,
        "runs/new.html",
        {"form": form, "preset_groups": preset_groups(), "sandbox_base": sandbox_base},
    )


@login_required
def run_detail(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    template = "runs/run_detail.html#result" if request.htmx else "runs/run_detail.html"
    return render(request, template, _run_context(run))


def _run_context(run: Run) -> dict[str, object]:
    context: dict[str, object] = {"run": run}
    now = timezone.now()
    if run.status == Run.Status.QUEUED:
        context["stale"] = now - run.created_at > STALE_AFTER
    elif run.status == Run.Status.RUNNING and run.started_at:
        limit = timedelta(seconds=run.timeout_seconds) + STALE_AFTER
        context["stale"] = now - run.started_at > limit
    if run.is_finished:
        if run.diagnosis:
            context["diagnosis"] = Diagnosis.from_dict(run.diagnosis)
        if run.outcome == Run.Outcome.RESPONSE:
            context["body"] = body_view(run.response_body, content_type_of(run.response_headers))
    return context
