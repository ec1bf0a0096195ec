"""Reads of runs. Every function names the team or the user: none reaches all runs."""

import uuid

from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet
from django.http import Http404

from apps.accounts.models import Team
from apps.runs.models import Run


def runs_for_team(*, team: Team) -> QuerySet[Run]:
    return Run.objects.filter(team=team).select_related("created_by").order_by("-created_at")


def get_run_for_user(*, user: AbstractBaseUser, run_id: uuid.UUID) -> Run:
    """The run if the user is a member of its team; Http404 otherwise, as if it did not exist."""
    run = Run.objects.filter(pk=run_id, team__membership__user=user).select_related("team").first()
    if run is None:
        raise Http404("No such run")
    return run
