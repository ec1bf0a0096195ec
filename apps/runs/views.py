import uuid
from datetime import timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    QueryDict,
    StreamingHttpResponse,
)
from django.http.response import HttpResponseBase
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.http import content_disposition_header
from django.utils.text import slugify
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST
from django_ratelimit.decorators import ratelimit

from apps.accounts.models import Team
from apps.accounts.selectors import current_team, is_owner, members_of
from apps.diagnosis.results import Diagnosis
from apps.library import selectors as library_selectors
from apps.library import services as library_services
from apps.runs import exports, selectors, services, verdict
from apps.runs.compare import compare_attempts
from apps.runs.filters import Cursor, LogFilterForm, diagnosis_codes, filter_query, parse_filters
from apps.runs.forms import ReauthenticateForm, RunForm, initial_from_run
from apps.runs.highlight import folded_lines
from apps.runs.models import Attempt, Run
from apps.runs.presentation import body_view, content_type_of
from apps.runs.presets import get_preset, preset_groups
from apps.runs.trends import filter_summary, range_links, team_trends, trend_charts
from apps.sandbox.views import sandbox_root
from apps.sharing.selectors import shared_run_ids
from apps.vault.services import VaultRefused, reauthenticate_with_vault
from dashboard.requests import AuthenticatedHttpRequest

# After this long in one state, the page says that the run may be waiting on a worker.
STALE_AFTER = timedelta(seconds=20)
TOO_MANY = "Too many requests submitted in a short time: wait a minute, then send again."
# Form fields that may hold credentials: masked in Django's error reports.
SENSITIVE_FIELDS = ("api_key", "headers", "params", "body")


def _submission_limit(group: str, request: HttpRequest) -> str:
    return settings.RATELIMIT_SUBMIT


# The team log (the home page).
LIVE_EVERY_SECONDS = 5
# Rows of a page that the live fragment keeps up to date while they are not done.
LIVE_PENDING_MAX = 100
PENDING = frozenset({Run.Status.QUEUED, Run.Status.RUNNING, Run.Status.WAITING})
HTMX_STOP_POLLING = 286


@login_required
def home(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The team's request log: filters in the query string, keyset pages, live updates.

    An htmx request is the live fragment of the first page (see `_log_live`).
    """
    team = current_team(request)
    if request.htmx:
        return _log_live(request, team)
    query = filter_query(request.GET)
    before = request.GET.get("before", "")
    clean = _with(query, before=before) if before else query
    if dict(clean.lists()) != dict(request.GET.lists()):
        # The filter form sends every field, most of them empty: a link worth sharing
        # carries only the filters that are set.
        return redirect(f"{request.path}?{clean.urlencode()}" if clean else request.path)
    members = _member_names(team)
    form, filters = parse_filters(request.GET, members=members)
    cursor = Cursor.decode(before)
    page = selectors.log_page(team=team, filters=filters, cursor=cursor) if team else None
    runs = page.runs if page else []
    context: dict[str, object] = {
        "team": team,
        "form": form,
        "query": query,
        "runs": runs,
        "first_page": cursor is None,
        "active_filters": _active_filters(form, query),
        "diagnosis_codes": diagnosis_codes(),
        "older_query": _with(query, before=page.next_cursor.encode())
        if page and page.next_cursor
        else None,
    }
    if team is not None:
        context["shared"] = shared_run_ids(team=team, run_ids=[run.id for run in runs])
    if team is not None and cursor is None:
        top = Cursor(created_at=runs[0].created_at, id=runs[0].id) if runs else _now_cursor()
        context.update(_live_context(team, query, top, runs, empty=not runs))
    return render(request, "runs/home.html", context)


def _log_live(request: HttpRequest, team: Team | None) -> HttpResponse:
    """Runs newer than the page's newest row (`after`), and the page's unfinished rows
    (`pending`) as they are now; the poller comes back with the state moved on.

    A poller of another team (the user switched in another tab) or of none stops.
    """
    if team is None:
        return HttpResponse(status=HTMX_STOP_POLLING)
    if request.GET.get("team") != str(team.id):
        return render(request, "runs/home.html#switched", status=HTMX_STOP_POLLING)
    _form, filters = parse_filters(request.GET, members=_member_names(team))
    query = filter_query(request.GET)
    after = Cursor.decode(request.GET.get("after")) or _now_cursor()
    was_empty = request.GET.get("empty") == "1"
    new_runs = selectors.newer_runs(
        team=team, filters=filters, than=after, limit=selectors.LOG_PAGE_SIZE
    )
    ids: list[uuid.UUID] = []
    for value in request.GET.get("pending", "").split(",")[:LIVE_PENDING_MAX]:
        try:
            ids.append(uuid.UUID(value))
        except ValueError:
            continue
    refreshed = selectors.runs_of_team_by_id(team=team, ids=ids) if ids else []
    top = Cursor(created_at=new_runs[0].created_at, id=new_runs[0].id) if new_runs else after
    context = {
        "team": team,
        "query": query,
        "new_runs": new_runs,
        "refreshed": refreshed,
        "shared": shared_run_ids(team=team, run_ids=[run.id for run in [*new_runs, *refreshed]]),
        # The page's "no runs" row is there only while the page has shown no run.
        "remove_empty": was_empty and bool(new_runs),
        **_live_context(
            team, query, top, [*new_runs, *refreshed], empty=was_empty and not new_runs
        ),
    }
    return render(request, "runs/home.html#live", context)


def _live_context(
    team: Team, query: QueryDict, top: Cursor, shown: list[Run], *, empty: bool
) -> dict[str, object]:
    pending = [str(run.id) for run in shown if run.status in PENDING][:LIVE_PENDING_MAX]
    state = {"team": str(team.id), "after": top.encode()}
    if empty:
        state["empty"] = "1"
    if pending:
        state["pending"] = ",".join(pending)
    return {"live_query": _with(query, **state), "live_every": LIVE_EVERY_SECONDS}


def _member_names(team: Team | None) -> list[str]:
    if team is None:
        return []
    return [membership.user.get_username() for membership in members_of(team=team)]


def _now_cursor() -> Cursor:
    """A position before every run made from now on: where an empty page's live view starts."""
    return Cursor(created_at=timezone.now(), id=uuid.UUID(int=0))


def _with(query: QueryDict, **changes: str) -> QueryDict:
    changed = query.copy()
    for name, value in changes.items():
        changed[name] = value
    return changed


def _active_filters(form: LogFilterForm, query: QueryDict) -> list[tuple[str, str, QueryDict]]:
    """(label, value, the query without it) of each filter the URL sets, for removable chips."""
    active = []
    for name, value in query.items():
        rest = query.copy()
        del rest[name]
        active.append((str(form.fields[name].label), str(value), rest))
    return active


@login_required
@sensitive_post_parameters(*SENSITIVE_FIELDS)
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def new_run(request: AuthenticatedHttpRequest) -> HttpResponse:
    team = current_team(request)
    sandbox_base = sandbox_root(request).rstrip("/")
    source = None
    preset = None
    source_id = request.POST.get("source") or request.GET.get("from")
    if source_id:
        try:
            source = selectors.get_run_for_user(user=request.user, run_id=uuid.UUID(source_id))
        except ValueError:
            source = None
    target_team = source.team if source else team
    submitted = request.POST if request.method == "POST" else None
    options = library_selectors.run_form_options(team=target_team, picked=submitted)
    if request.method == "POST":
        form = RunForm(request.POST, **options)
        if team is None:
            form.add_error(None, "You are not a member of any team, so runs cannot be stored.")
        elif getattr(request, "limited", False):
            form.is_valid()
            form.add_error(None, TOO_MANY)
        elif form.is_valid() and target_team is not None:
            environment = library_selectors.environment_of_team(
                team=target_team, value=form.cleaned_data["environment"]
            )
            try:
                run = library_services.submit_in_environment(
                    team=target_team,
                    user=request.user,
                    request=form.to_request(),
                    environment=environment,
                    source=source,
                )
            except VaultRefused as refusal:
                picked = form.cleaned_data.get("vault_secret")
                form.add_error("vault_secret" if picked else "api_key", str(refusal))
            else:
                return redirect("runs:detail", run_id=run.id)
        every = library_selectors.run_form_options(team=target_team)  # shown again
        form.offer(vault_names=every["vault_names"], environments=every["environments"])
    elif source is not None:
        form = RunForm(initial=initial_from_run(source), **options)
    else:
        preset = get_preset(request.GET.get("preset", ""))
        form = RunForm(
            initial=preset.initial(sandbox_base) if preset else {"method": "GET"}, **options
        )
        if request.GET.get("preset") and preset is None:
            messages.info(request, "That preset does not exist; the form is empty.")
    # The preset picker fills the form in place: htmx asks for the form alone.
    template = (
        "runs/new.html#run_form" if request.htmx and request.method == "GET" else "runs/new.html"
    )
    return render(
        request,
        template,
        {
            "form": form,
            "source": source,
            "preset_groups": preset_groups(),
            "active_preset": preset,
            "sandbox_base": sandbox_base,
        },
        status=429 if getattr(request, "limited", False) else 200,
    )


@login_required
def run_detail(request: AuthenticatedHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    template = "runs/run_detail.html#result" if request.htmx else "runs/run_detail.html"
    context = _run_context(run)
    context["can_keep_in_vault"] = is_owner(user=request.user, team_id=run.team_id)
    return render(request, template, context)


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
        "poll_ms": _poll_interval_ms(run, attempts),
        # Stored but not yet handed to the broker (it was unreachable): the sweeper will.
        "unpublished": any(
            attempt.status == Attempt.Status.QUEUED and attempt.published_at is None
            for attempt in pending
        ),
    }
    if run.status == Run.Status.INTERRUPTED:
        context["interrupted"] = next(
            (a for a in reversed(attempts) if a.status == Attempt.Status.INTERRUPTED), None
        )
    if latest is not None:
        diagnosis = Diagnosis.from_dict(latest.diagnosis)
        context["diagnosis"] = diagnosis
        if run.is_finished and diagnosis.severity != "ok":
            offers = _fixes_offered(run, diagnosis)
            context["fixes_offered"] = offers
            # The first fix that may be tried leads the verdict's actions.
            context["primary_fix"] = next((offer for offer in offers if not offer["refusal"]), None)
        if latest.outcome == Run.Outcome.RESPONSE:
            content_type = content_type_of(latest.response_headers)
            body = body_view(latest.response_body, content_type)
            context["body"] = body
            context["body_lines"], context["body_more"] = folded_lines(
                head=body.head, rest=body.rest, content_type=content_type, is_json=body.is_json
            )
    if run.fix:
        context["applied_fix"] = selectors.fix_of_followup(run=run)
        context["fix_diff"] = selectors.fix_diff_of(run=run)
        context["fix_outcome"] = selectors.fix_outcome_of(run=run)
    if run.is_finished:
        context["fix_followups"] = [
            (followup, selectors.fix_outcome_of(run=followup))
            for followup in selectors.fix_followups(run=run)
        ]
    earlier = selectors.earlier_runs_of_same_request(run=run).first() if run.is_finished else None
    context["earlier"] = earlier
    context["environment_used"] = library_selectors.environment_used_by(run=run)
    if latest is not None:
        context["verdict"] = verdict.decide(
            diagnosis=Diagnosis.from_dict(latest.diagnosis),
            host=run.host,
            finished_at=latest.finished_at,
            duration_ms=latest.duration_ms,
            idempotent=run.is_idempotent,
            has_earlier=earlier is not None,
            now=timezone.now(),
        )
    return context


# How often the run page asks for its result: quickly just after the latest attempt was
# made (a fast upstream answers within a few hundred ms), then less and less often.
POLL_STEPS_MS = ((5, 150), (30, 500))
POLL_SLOWEST_MS = 1000


def _poll_interval_ms(run: Run, attempts: list[Attempt]) -> int:
    newest = max((attempt.created_at for attempt in attempts), default=run.created_at)
    age = (timezone.now() - newest).total_seconds()
    return next((every for within, every in POLL_STEPS_MS if age < within), POLL_SLOWEST_MS)


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


def _fixes_offered(run: Run, diagnosis: Diagnosis) -> list[dict[str, object]]:
    """Each cause's fix, with why it is not offered when it would send secrets elsewhere."""
    return [
        {
            "cause": cause,
            "index": index,
            "fix": cause.fix,
            "refusal": services.fix_refusal(run=run, fix=cause.fix),
        }
        for index, cause in enumerate(diagnosis.causes)
        if cause.fix is not None
    ]


@login_required
@require_POST
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def retry(request: AuthenticatedHttpRequest, run_id: uuid.UUID) -> HttpResponse:
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
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def try_fix(request: AuthenticatedHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """Send the run's request again with exactly the fix its diagnosis names, as a new run."""
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    if getattr(request, "limited", False):
        messages.error(request, TOO_MANY)
        return redirect("runs:detail", run_id=run.id)
    try:
        index = request.POST.get("index", "")
        followup = services.try_fix(
            run=run,
            user=request.user,
            cause_code=request.POST.get("cause", "")[:200],
            index=int(index) if index.isdigit() and len(index) < 4 else None,
        )
    except services.ActionRefused as refused:
        messages.error(request, str(refused))
        return redirect("runs:detail", run_id=run.id)
    return redirect("runs:detail", run_id=followup.id)


@login_required
@require_POST
def cancel_retries(request: AuthenticatedHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    cancelled = services.cancel_pending(run=run)
    messages.info(request, f"Cancelled {cancelled} pending attempt(s).")
    return redirect("runs:detail", run_id=run.id)


@login_required
@sensitive_post_parameters("api_key")
@ratelimit(key="user", rate=_submission_limit, method="POST", group="submit", block=False)
def reauthenticate(request: AuthenticatedHttpRequest, run_id: uuid.UUID) -> HttpResponse:
    """Send the same request again with a new API key, as a new run."""
    run = selectors.get_run_for_user(user=request.user, run_id=run_id)
    form = ReauthenticateForm(request.POST if request.method == "POST" else None)
    if getattr(request, "limited", False):
        form.is_valid()
        form.add_error(None, TOO_MANY)
    elif request.method == "POST" and form.is_valid():
        try:
            new_run = reauthenticate_with_vault(
                run=run,
                user=request.user,
                request=form.to_request(run),
                save_as=form.cleaned_data["save_to_vault"].strip(),
            )
        except VaultRefused as refusal:
            form.add_error("save_to_vault", str(refusal))
        else:
            return redirect("runs:detail", run_id=new_run.id)
    context = {
        "run": run,
        "form": form,
        "can_keep_in_vault": is_owner(user=request.user, team_id=run.team_id),
    }
    return render(request, "runs/reauthenticate.html", context)


@login_required
def compare_picked(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The two runs ticked in the log, compared: the newer one against the older."""
    picked: list[Run] = []
    for value in request.GET.getlist("run")[:3]:
        try:
            picked.append(selectors.get_run_for_user(user=request.user, run_id=uuid.UUID(value)))
        except ValueError:
            raise Http404("No such run") from None
    if len(picked) != 2:
        messages.error(request, "Tick exactly two runs in the log to compare them.")
        return redirect("home")
    older, newer = sorted(picked, key=lambda run: run.created_at)
    return redirect("runs:compare", run_id=newer.id, other_id=older.id)


@login_required
def compare(
    request: AuthenticatedHttpRequest, run_id: uuid.UUID, other_id: uuid.UUID
) -> HttpResponse:
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


# Exports of the team log ------------------------------------------------------------------

EXPORT_FORMATS = {
    "csv": ("text/csv; charset=utf-8", exports.csv_chunks),
    "har": ("application/json", exports.har_chunks),
}


@login_required
def export_csv(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return _export(request, extension="csv")


@login_required
def export_har(request: AuthenticatedHttpRequest) -> HttpResponseBase:
    return _export(request, extension="har")


def _export(request: HttpRequest, *, extension: str) -> HttpResponseBase:
    """The current team's runs that match the log's filters, as a file sent while it is
    written. A filter the log would only warn about is refused here: the file must be what
    the link says."""
    team = current_team(request)
    if team is None:
        raise Http404("No team")
    form, filters = parse_filters(request.GET, members=_member_names(team))
    if form.errors:
        problems = [
            f"Invalid filter “{name}”: {' '.join(map(str, errors))}"
            for name, errors in form.errors.items()
        ]
        return HttpResponseBadRequest(
            "\n".join(problems) + "\n", content_type="text/plain; charset=utf-8"
        )
    content_type, chunks = EXPORT_FORMATS[extension]
    runs = selectors.filtered_runs(team=team, filters=filters)
    response = StreamingHttpResponse(
        chunks(runs, base_url=request.build_absolute_uri("/")), content_type=content_type
    )
    filename = f"{slugify(team.name) or 'team'}-runs-{timezone.now():%Y-%m-%d}.{extension}"
    response["Content-Disposition"] = content_disposition_header(True, filename)
    response["Cache-Control"] = "no-store"
    return response


# Trends over the log's filtered runs.


@login_required
def trends(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Counts, top diagnoses, error rate and durations of the runs the log's filters select,
    drawn as SVG on the server: the page needs no JavaScript."""
    team = current_team(request)
    if team is None:
        return render(request, "runs/trends.html", {"team": None})
    form, filters = parse_filters(request.GET, members=_member_names(team))
    query = filter_query(request.GET)
    found = team_trends(team=team, filters=filters, now=timezone.now())
    return render(
        request,
        "runs/trends.html",
        {
            "team": team,
            "form": form,
            "query": query,
            "filters": filters,
            "summary": filter_summary(filters),
            "range_links": range_links(query),
            "trends": found,
            "charts": trend_charts(found),
        },
    )
