"""Reads of share links. Links are read per run or per team, or by a token's hash."""

import uuid
from collections.abc import Iterable

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import Q, QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.models import Team, hash_link_token
from apps.accounts.selectors import TOKEN_SHAPE, is_member
from apps.runs.models import Run
from apps.sharing.models import ShareLink


class SignInRequired(Exception):
    """A team-only link opened by someone who is not signed in."""


def links_of_run(*, run: Run) -> QuerySet[ShareLink]:
    """Every link of the run (active, expired, revoked), newest first."""
    return (
        ShareLink.objects.for_team(run.team)
        .filter(run=run)
        .select_related("created_by")
        .order_by("-created_at", "-id")
    )


def get_link_of_run(*, run: Run, link_id: uuid.UUID) -> ShareLink:
    found = links_of_run(run=run).filter(pk=link_id).first()
    if found is None:
        raise Http404("No such share link")
    return found


def _active(queryset: QuerySet[ShareLink]) -> QuerySet[ShareLink]:
    return queryset.filter(revoked_at=None).filter(
        Q(expires_at=None) | Q(expires_at__gt=timezone.now())
    )


def get_viewable_link(*, token: str, user: User | AnonymousUser) -> ShareLink:
    """The link the token opens, for this user, with its run and team.

    Unknown, malformed, expired and revoked tokens, and team-only links opened by someone
    signed in who is not in the team, all raise the same Http404. A team-only link opened
    by someone not signed in raises SignInRequired.
    """
    if not TOKEN_SHAPE.fullmatch(token):
        raise Http404("No such link")
    link = (
        _active(ShareLink.objects.filter(token_hash=hash_link_token(token)))
        .select_related("run", "team")
        .first()
    )
    if link is None:
        raise Http404("No such link")
    if link.is_team_only:
        if not user.is_authenticated:
            raise SignInRequired
        if not is_member(user=user, team_id=link.team_id):
            raise Http404("No such link")
    return link


def shared_run_ids(*, team: Team, run_ids: Iterable[uuid.UUID]) -> set[uuid.UUID]:
    """Those of the team's runs that have a link that works now (for the team log)."""
    return set(
        _active(ShareLink.objects.for_team(team))
        .filter(run_id__in=list(run_ids))
        .values_list("run_id", flat=True)
        .distinct()
    )
