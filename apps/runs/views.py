import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from apps.accounts.selectors import current_team
from apps.diagnosis.catalog import get_playbook
from apps.diagnosis.rules import Diagnosis
from apps.runs import selectors, services
from apps.runs.compare import compare_attempts
from apps.runs.forms import ReauthenticateForm, RunForm, initial_from_run
from apps.runs.models import Attempt, Run
from apps.runs.presentation import body_view, content_type_of
from apps.runs.presets import PRESETS_BY_SLUG, preset_groups

RECENT_RUNS = 50
# After this long in one state, the page says that the run may be waiting on a worker.
STALE_AFTER = timedelta(seconds=20)
TOO_MANY = "Too many requests submitted in a short time: wait a minute, then send again."
# Form fields that may hold credentials: masked in Django's error reports.
SENSITIVE_FIELDS = ("api_key", "headers", "params", "body")


def _submission_limit(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_SUBMIT


@login_required
def home(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    runs = selectors.runs_for_team(team=team)[:RECENT_RUNS] if team else []
    return render(request, "runs/home.html", {"team": team, "runs": runs})


@login_required
@sensitive_post_parameters(*SENSITIVE_FIELDS)
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def new_run(request: HttpRequest) -> HttpResponse:
    team = current_team(request)
    sandbox_base = request.build_absolute_uri("/sandbox").rstrip("/")
    source = None
    source_id = request.POST.get("source") or request.GET.get("from")
    if source_id:
        try:
            source = selectors.get_run_for_user(user=request.user, run_id=uuid.UUID(source_id))
        except ValueError:
            source = None
    if request.method == "POST":
        form = RunForm(request.POST)
        if team is None:
            form.add_error(None, "You are not a member of any team, so runs cannot be stored.")
        elif getattr(request, "limited", False):
            form.is_valid()
            form.add_error(None, TOO_MANY)
        elif form.is_valid():
            run = services.submit_run(
                team=source.team if source else team,
                user=request.user,
                request=form.to_request(),
                source=source,
            )
            return redirect("runs:detail", run_id=run.id)
    elif source is not None:
        form = RunForm(initial=initial_from_run(source))
    else:
        preset = PRESETS_BY_SLUG.get(request.GET.get("preset", ""))
        form = RunForm(initial=preset.initial(sandbox_base) if preset else {"method": "GET"})
        if request.GET.get("preset") and preset is None:
            messages.info(request, "That preset does not exist; the form is empty.")
    return render(
        request,
        "runs/new.html",
        {
            "form": form,
            "source": source,
            "preset_groups": preset_groups(),
            "sandbox_base": sandbox_base,
        },
        status=429 if getattr(request, "limited", False) else 200,
    )


@login_required
def run_detail(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    template = "runs/run_detail.html#result" if request.htmx else "runs/run_detail.html"
    return render(request, template, _run_context(run))


def _run_context(run: Run) -> dict[str, object]:
    attempts = selectors.attempts_of(run=run)
    latest = selectors.latest_finished(attempts)
    pending = [attempt for attempt in attempts if attempt.is_pending]
    context: dict[str, object] = {
        "run": run,
        "attempts": attempts,
        "latest": latest,
        "pending": pending,
        "stale": _is_stale(run, pending),
    }
    if latest is not None:
        diagnosis = Diagnosis.from_dict(latest.diagnosis)
        context["diagnosis"] = diagnosis
        context["actions"] = _actions_for(diagnosis)
        if latest.outcome == Run.Outcome.RESPONSE:
            context["body"] = body_view(
                latest.response_body, content_type_of(latest.response_headers)
            )
    if run.is_finished:
        context["earlier"] = selectors.earlier_runs_of_same_request(run=run).first()
    return context


def _is_stale(run: Run, pending: list[Attempt]) -> bool:
    now = timezone.now()
    for attempt in pending:
        if attempt.status == Attempt.Status.RUNNING and attempt.started_at:
            limit = timedelta(seconds=run.timeout_seconds) + STALE_AFTER
            return now - attempt.started_at > limit
        due = attempt.not_before or attempt.created_at
        if now - due > STALE_AFTER:
            return True
    return False


def _actions_for(diagnosis: Diagnosis) -> set[str]:
    """The one-click actions that the diagnosis' playbooks call for."""
    actions = set()
    for slug in diagnosis.playbooks:
        try:
            action = get_playbook(slug).action
        except KeyError:
            continue
        if action:
            actions.add(action)
    return actions


@login_required
@require_POST
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def retry(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    if getattr(request, "limited", False):
        messages.error(request, TOO_MANY)
        return redirect("runs:detail", run_id=run.id)
    try:
        if request.POST.get("mode") == "backoff":
            services.retry_with_backoff(run=run)
        else:
            services.retry_now(run=run)
    except services.ActionRefused as refused:
        messages.error(request, str(refused))
    return redirect("runs:detail", run_id=run.id)


@login_required
@require_POST
def cancel_retries(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    cancelled = services.cancel_pending(run=run)
    messages.info(request, f"Cancelled {cancelled} pending attempt(s).")
    return redirect("runs:detail", run_id=run.id)


@login_required
@sensitive_post_parameters("api_key")
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def reauthenticate(request: HttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """Send the same request again with a new API key, as a new run."""
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    form = ReauthenticateForm(request.POST or None)
    if getattr(request, "limited", False):
        form.is_valid()
        form.add_error(None, TOO_MANY)
    elif request.method == "POST" and form.is_valid():
        new_run = services.submit_run(
            team=run.team,
            user=request.user,
            request=form.to_request(run),
            source=run,
        )
        return redirect("runs:detail", run_id=new_run.id)
    return render(request, "runs/reauthenticate.html", {"run": run, "form": form})


@login_required
def compare(request: HttpRequest, run_id: uuid.UUID, other_id: uuid.UUID) -> HttpResponse:
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    other = selectors.get_run_for_user(user=request.user, run_id=other_id)
    left = selectors.latest_finished(selectors.attempts_of(run=other))
    right = selectors.latest_finished(selectors.attempts_of(run=run))
    return render(
        request,
        "runs/compare.html",
        {
            "run": run,
            "other": other,
            "comparison": compare_attempts(left, right) if left and right else None,
            "candidates": selectors.earlier_runs_of_same_request(run=run),
        },
    )
