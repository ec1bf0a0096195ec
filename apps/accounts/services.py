"""Writes of teams, memberships and invites, and the choice of the current team."""

import secrets
import uuid
from datetime import timedelta

from django.contrib.auth.models import User
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest
from django.utils import timezone

from apps.accounts.models import Invite, Membership, Team, hash_invite_token
from apps.accounts.selectors import SESSION_KEY


class TeamRuleBroken(Exception):
    """A change that would break a rule of teams; the message says which, for the user."""


LAST_OWNER = "A team needs an owner: make someone else an owner first."


def set_current_team(*, request: HttpRequest, membership: Membership) -> None:
    """Work in this membership's team from now on (the caller has checked the membership)."""
    request.session[SESSION_KEY] = str(membership.team_id)


def create_team(*, name: str, owner: User) -> Membership:
    """A new team, with its creator as its owner."""
    with transaction.atomic():
        team = Team.objects.create(name=name)
        return Membership.objects.create(team=team, user=owner, role=Membership.Role.OWNER)


def create_invite(*, team: Team, created_by: User, lifetime: timedelta) -> tuple[Invite, str]:
    """A new invite and its token. The token is not stored (its hash is): show it now."""
    token = secrets.token_urlsafe(32)
    invite = Invite.objects.create(
        team=team,
        created_by=created_by,
        token_hash=hash_invite_token(token),
        expires_at=timezone.now() + lifetime,
    )
    return invite, token


def revoke_invite(*, invite: Invite) -> None:
    Invite.objects.filter(pk=invite.pk, used_at=None, revoked_at=None).update(
        revoked_at=timezone.now()
    )


def accept_invite(*, invite: Invite, user: User) -> tuple[Membership, bool]:
    """Add the user to the invite's team as a member, using the invite up.

    Returns the membership and whether it is new. A user who is already a member keeps the
    membership they have and leaves the invite for someone else. The invite is claimed with
    a conditional update, so two people racing for one invite cannot both get in: the loser
    gets Http404, like any invite that cannot be used.
    """
    existing = Membership.objects.filter(user=user, team_id=invite.team_id).first()
    if existing is not None:
        return existing, False
    now = timezone.now()
    try:
        with transaction.atomic():
            claimed = Invite.objects.filter(
                pk=invite.pk, used_at=None, revoked_at=None, expires_at__gt=now
            ).update(used_at=now, used_by=user)
            if claimed != 1:
                raise Http404("No such invite")
            membership = Membership.objects.create(
                user=user, team_id=invite.team_id, role=Membership.Role.MEMBER
            )
    except IntegrityError:  # the same user joined in a parallel request
        return Membership.objects.get(user=user, team_id=invite.team_id), False
    return membership, True


def sign_up_with_invite(*, invite: Invite, username: str, password: str) -> Membership:
    """A new account for someone who opened an invite link, and their membership: both or
    neither (an invite used up in the meantime leaves no account behind)."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password)
        membership, _joined = accept_invite(invite=invite, user=user)
    return membership


def sign_up(*, username: str, password: str, team_name: str) -> Membership:
    """A new account with a team of its own, which it owns: both or neither."""
    with transaction.atomic():
        user = User.objects.create_user(username=username, password=password)
        return create_team(name=team_name, owner=user)


def _lock_team(team_id: uuid.UUID) -> None:
    """Serialise changes of one team's memberships (so two owners removing each other at
    once cannot leave the team with none)."""
    Team.objects.select_for_update().filter(pk=team_id).first()


def _is_last_owner(membership: Membership) -> bool:
    if membership.role != Membership.Role.OWNER:
        return False
    others = Membership.objects.filter(team_id=membership.team_id, role=Membership.Role.OWNER)
    return not others.exclude(pk=membership.pk).exists()


def remove_membership(*, membership: Membership) -> None:
    """Remove a member from their team (an owner removing someone, or a member leaving).

    The last owner cannot be removed. The removed user's runs stay with the team.
    """
    with transaction.atomic():
        _lock_team(membership.team_id)
        if _is_last_owner(membership):
            raise TeamRuleBroken(LAST_OWNER)
        Membership.objects.filter(pk=membership.pk).delete()


def change_settings(*, team: Team, send_traceparent: bool) -> None:
    Team.objects.filter(pk=team.pk).update(send_traceparent=send_traceparent)
    team.send_traceparent = send_traceparent


def change_role(*, membership: Membership, role: str) -> None:
    with transaction.atomic():
        _lock_team(membership.team_id)
        if role != Membership.Role.OWNER and _is_last_owner(membership):
            raise TeamRuleBroken(LAST_OWNER)
        Membership.objects.filter(pk=membership.pk).update(role=role)
