"""Reads of teams, memberships and invites.

Team data is reached only by naming the team (`for_team(team)`, keyword-only `team=`
arguments), and a team is only ever obtained through one of the user's memberships, so a
user sees their teams' data or nothing: never everything.
"""

import re
import uuid

from django.contrib.auth.models import AnonymousUser, User
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from django.utils import timezone

from apps.accounts.models import Invite, Membership, Team, hash_invite_token

# Where the current team's id is kept in the session.
SESSION_KEY = "current_team_id"
# Memberships of the signed-in user, read once per request.
_CACHE_ATTR = "_accounts_memberships"
# What `secrets.token_urlsafe(32)` produces (43 characters); anything else is not a token.
TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{20,100}")


def memberships_for_user(*, user: User | AnonymousUser) -> list[Membership]:
    """The user's memberships with their teams, oldest first."""
    if not user.is_authenticated:
        return []
    return list(
        Membership.objects.filter(user=user).select_related("team").order_by("created_at", "id")
    )


def memberships_of_request(request: HttpRequest) -> list[Membership]:
    """The signed-in user's memberships, read from the database once per request."""
    cached = getattr(request, _CACHE_ATTR, None)
    if cached is None:
        cached = memberships_for_user(user=request.user)
        setattr(request, _CACHE_ATTR, cached)
    return cached


def current_membership(request: HttpRequest) -> Membership | None:
    """The membership of the team the user is working in, checked on every request.

    The session names the team; it counts only while the user is still a member. Otherwise
    (no choice yet, or the membership was removed) the user's oldest remaining team is used
    and remembered, and with no team at all the answer is None: fail closed.
    """
    memberships = memberships_of_request(request)
    chosen = request.session.get(SESSION_KEY)
    for membership in memberships:
        if str(membership.team_id) == chosen:
            return membership
    fallback = memberships[0] if memberships else None
    if fallback is not None:
        request.session[SESSION_KEY] = str(fallback.team_id)
    elif SESSION_KEY in request.session:
        del request.session[SESSION_KEY]
    return fallback


def current_team(request: HttpRequest) -> Team | None:
    """The team whose data the user is working in (see `current_membership`), or None.

    Every read and write of team data names a team obtained from here or checked against the
    user's memberships, so a user without a team sees nothing rather than everything.
    """
    membership = current_membership(request)
    return membership.team if membership else None


def get_membership_for_user(*, user: User | AnonymousUser, team_id: uuid.UUID) -> Membership:
    """The user's membership of the team; Http404 when there is none, as if no such team."""
    if not user.is_authenticated:
        raise Http404("No such team")
    membership = Membership.objects.filter(user=user, team_id=team_id).select_related("team")
    found = membership.first()
    if found is None:
        raise Http404("No such team")
    return found


def is_member(*, user: User | AnonymousUser, team_id: uuid.UUID) -> bool:
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(user=user, team_id=team_id).exists()


def is_owner(*, user: User | AnonymousUser, team_id: uuid.UUID) -> bool:
    """Whether the user is an owner of the team (owners manage members, invites and the
    vault); False for anyone else, signed in or not."""
    if not user.is_authenticated:
        return False
    return Membership.objects.filter(
        user=user, team_id=team_id, role=Membership.Role.OWNER
    ).exists()


def members_of(*, team: Team) -> QuerySet[Membership]:
    """The team's memberships: owners first, then by name."""
    return (
        Membership.objects.for_team(team)
        .select_related("user")
        .order_by("-role", "user__username")  # "owner" sorts after "member": reversed
    )


def get_member_of_team(*, team: Team, membership_id: int) -> Membership:
    found = members_of(team=team).filter(pk=membership_id).first()
    if found is None:
        raise Http404("No such member")
    return found


def pending_invites(*, team: Team) -> QuerySet[Invite]:
    """Invites of the team that can still be used, soonest to expire first."""
    return (
        Invite.objects.for_team(team)
        .filter(used_at=None, revoked_at=None, expires_at__gt=timezone.now())
        .select_related("created_by")
        .order_by("expires_at")
    )


def get_pending_invite_of_team(*, team: Team, invite_id: uuid.UUID) -> Invite:
    found = pending_invites(team=team).filter(pk=invite_id).first()
    if found is None:
        raise Http404("No such invite")
    return found


def get_usable_invite(*, token: str) -> Invite:
    """The invite the token opens, while it can be used.

    Unknown, expired, used and revoked tokens all raise the same Http404, so a link tells
    nothing about an invite it does not open.
    """
    if not TOKEN_SHAPE.fullmatch(token):
        raise Http404("No such invite")
    invite = (
        Invite.objects.filter(token_hash=hash_invite_token(token))
        .select_related("team", "created_by")
        .first()
    )
    if invite is None or not invite.is_usable(timezone.now()):
        raise Http404("No such invite")
    return invite
