"""Reads of runs. Every function names the team or the user: none reaches all runs."""

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.models import Team
from apps.runs.models import Attempt, Run

COMPARE_CANDIDATES = 10


def runs_for_team(*, team: Team) -> QuerySet[Run]:
    return Run.objects.filter(team=team).select_related("created_by").order_by("-created_at")


def get_run_for_user(*, user: AbstractBaseUser, run_id: uuid.UUID) -> Run:
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
