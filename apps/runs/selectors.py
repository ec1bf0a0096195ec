"""Reads of runs. Every function names the team or the user: none reaches all runs."""

import uuid
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import Q, QuerySet
from django.http import Http404

from apps.accounts.models import Team
from apps.diagnosis.results import Fix
from apps.egress.redaction import REDACTED
from apps.runs.filters import Cursor, LogFilters
from apps.runs.fix_requests import DiffLine, FixOutcome, StoredShape, fix_outcome, request_diff
from apps.runs.models import Attempt, Run
from apps.runs.secrets import API_KEY_HEADER

COMPARE_CANDIDATES = 10
LOG_PAGE_SIZE = 50
# Status classes as ranges of response_status; "network" is a run that got no response.
_CLASS_RANGES = {"2xx": (200, 299), "3xx": (300, 399), "4xx": (400, 499), "5xx": (500, 599)}


def filtered_runs(*, team: Team, filters: LogFilters) -> QuerySet[Run]:
    """The team's runs that match the filters, newest first (ties broken by id).

    The order is the keyset the log pages through, so it must stay (created_at, id).
    """
    runs = Run.objects.for_team(team)
    if filters.status_class == "network":
        runs = runs.filter(outcome=Run.Outcome.FAILURE)
    elif filters.status_class in _CLASS_RANGES:
        low, high = _CLASS_RANGES[filters.status_class]
        runs = runs.filter(response_status__gte=low, response_status__lte=high)
    if filters.status is not None:
        runs = runs.filter(response_status=filters.status)
    if filters.diagnosis:
        # A code also finds its finer causes: "kaiko.401" finds "kaiko.401.no_key".
        runs = runs.filter(
            Q(diagnosis_code=filters.diagnosis)
            | Q(diagnosis_code__startswith=f"{filters.diagnosis}.")
        )
    if filters.method:
        runs = runs.filter(method=filters.method)
    if filters.host:
        runs = runs.filter(host=filters.host)
    if filters.member:
        runs = runs.filter(created_by__username=filters.member)
    if filters.since is not None:
        runs = runs.filter(created_at__gte=filters.since)
    if filters.until is not None:
        runs = runs.filter(created_at__lt=filters.until)
    if filters.text:
        runs = runs.filter(
            Q(url__icontains=filters.text) | Q(diagnosis_title__icontains=filters.text)
        )
    return runs.order_by("-created_at", "-id")


def older_than(runs: QuerySet[Run], cursor: Cursor) -> QuerySet[Run]:
    """The rows after the cursor in (created_at, id) descending order, written so that an
    index on (team, created_at, id) serves it as one range scan."""
    return runs.filter(created_at__lte=cursor.created_at).exclude(
        created_at=cursor.created_at, id__gte=cursor.id
    )


@dataclass(frozen=True)
class LogPage:
    runs: list[Run]
    next_cursor: Cursor | None  # None on the last page


def log_page(
    *, team: Team, filters: LogFilters, cursor: Cursor | None, size: int = LOG_PAGE_SIZE
) -> LogPage:
    """One page of the log: `size` runs after the cursor, read with one query (no OFFSET)."""
    runs = filtered_runs(team=team, filters=filters).select_related("created_by")
    if cursor is not None:
        runs = older_than(runs, cursor)
    rows = list(runs[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    last = rows[-1] if more else None
    return LogPage(
        runs=rows,
        next_cursor=Cursor(created_at=last.created_at, id=last.id) if last else None,
    )


def newer_runs(*, team: Team, filters: LogFilters, than: Cursor, limit: int) -> list[Run]:
    """Runs that match the filters and came after the newest row a page shows (live updates),
    newest first.

    When more than `limit` came, these are the `limit` oldest of them: the next call, from
    the newest of these, brings the rest, so no run is skipped.
    """
    runs = filtered_runs(team=team, filters=filters).select_related("created_by")
    newer = runs.filter(created_at__gte=than.created_at).exclude(
        created_at=than.created_at, id__lte=than.id
    )
    return list(reversed(newer.order_by("created_at", "id")[:limit]))


def runs_of_team_by_id(*, team: Team, ids: list[uuid.UUID]) -> list[Run]:
    """The team's runs among these ids (any other id is ignored), newest first."""
    runs = Run.objects.for_team(team).filter(id__in=ids).select_related("created_by")
    return list(runs.order_by("-created_at", "-id"))


def get_run_for_user(*, user: User, run_id: uuid.UUID) -> Run:
    """The run if the user is a member of its team; Http404 otherwise, as if it did not exist."""
    run = (
        Run.objects.filter(pk=run_id, team__membership__user=user)
        .select_related("team", "created_by")
        .first()
    )
    if run is None:
        raise Http404("No such run")
    return run


def attempts_of(*, run: Run) -> list[Attempt]:
    return list(run.attempts.order_by("number"))


def attempts_of_runs(*, runs: list[Run]) -> dict[uuid.UUID, list[Attempt]]:
    """`attempts_of` for many runs in one query: each run's attempts, oldest first."""
    found: dict[uuid.UUID, list[Attempt]] = {run.pk: [] for run in runs}
    for attempt in Attempt.objects.filter(run__in=list(found)).order_by("run_id", "number"):
        found[attempt.run_id].append(attempt)
    return found


def latest_finished(attempts: list[Attempt]) -> Attempt | None:
    done = [attempt for attempt in attempts if attempt.status == Attempt.Status.DONE]
    return done[-1] if done else None


def earlier_runs_of_same_request(*, run: Run) -> QuerySet[Run]:
    """The team's finished runs of the same method and URL, before this one, newest first."""
    return (
        Run.objects.filter(
            team_id=run.team_id,
            method=run.method,
            url=run.url,
            created_at__lt=run.created_at,
            attempt_count__gt=0,
        )
        .exclude(outcome="")
        .order_by("-created_at")[:COMPARE_CANDIDATES]
    )


def fix_followups(*, run: Run) -> list[Run]:
    """The runs made from this one by "Try the fix", oldest first."""
    return list(
        Run.objects.filter(team_id=run.team_id, source_id=run.id)
        .exclude(fix={})
        .order_by("created_at")
    )


def fix_of_followup(*, run: Run) -> Fix | None:
    """The fix a "Try the fix" run made, None for any other run."""
    return Fix.from_dict(run.fix) if run.fix else None


def fix_outcome_of(*, run: Run) -> FixOutcome | None:
    """Whether a "Try the fix" run proved its fix (None for any other run), from the summary
    columns of the run and its source, and the causes its latest diagnosis found."""
    fix = fix_of_followup(run=run)
    if fix is None:
        return None
    source = run.source
    finished = run.is_finished and bool(run.outcome)
    latest = (
        run.attempts.filter(status=Attempt.Status.DONE).order_by("-number").first()
        if finished
        else None
    )
    causes = latest.diagnosis.get("causes") if latest and isinstance(latest.diagnosis, dict) else []
    return fix_outcome(
        fix=fix,
        cause=str(run.fix.get("cause", "")),
        before_status=source.response_status if source else None,
        before_failure=source.failure_kind if source else "",
        after=(run.response_status, run.failure_kind, run.severity) if finished else None,
        after_causes=[str(c.get("code")) for c in causes or [] if isinstance(c, dict)],
    )


def fix_diff_of(*, run: Run) -> list[DiffLine]:
    """What a "Try the fix" run changed in its source's request, as stored (redacted)."""
    source = run.source
    if source is None or not run.fix:
        return []

    def stored(of: Run) -> StoredShape:
        headers = list(of.request_headers) + (
            [[API_KEY_HEADER, REDACTED]] if of.has_api_key else []
        )
        return (of.method, of.url, list(of.query), headers)

    return request_diff(before=stored(source), after=stored(run))
