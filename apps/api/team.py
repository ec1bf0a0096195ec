"""The JSON API of the token's team: its members; its pending invites, made and revoked by
its owners. Thin endpoints over apps.accounts' selectors, services and forms. As on the
Team page, a member who is not an owner is refused an owner's action (403, as a problem);
another team's invite is not found (404). An invite's link is in the answer that makes it,
never again (only its hash is stored). Registered on the API in api.py."""

import uuid
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from ninja import Field, Router, Schema, Status

from apps.accounts import selectors, services
from apps.accounts.forms import (
    DEFAULT_INVITE_LIFETIME,
    INVITE_LIFETIMES,
    InviteForm,
    RoleForm,
    TeamSettingsForm,
)
from apps.accounts.models import Invite, Membership
from apps.accounts.selectors import is_owner
from apps.api.api import ERRORS, Problematic, _form_problem, _team, _token, _user
from apps.api.schemas import Problem

router = Router(tags=["Team"])
OWNER_ERRORS: dict[int, type] = {**ERRORS, 403: Problem}
OWNER_ID_ERRORS: dict[int, type] = {**ERRORS, 403: Problem, 404: Problem}
MEMBER_ERRORS: dict[int, type] = {**OWNER_ID_ERRORS, 409: Problem}


class MemberOut(Schema):
    id: int = Field(description="The membership's id.")
    user: str
    role: str = Field(description="owner or member.")
    joined_at: datetime
    you: bool = Field(description="The token's user.")


class InviteIn(Schema):
    lifetime: str = Field(
        DEFAULT_INVITE_LIFETIME,
        description="How many days the link works: " + ", ".join(INVITE_LIFETIMES) + ".",
    )


class InviteOut(Schema):
    id: uuid.UUID
    created_by: str | None
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


class CreatedInviteOut(InviteOut):
    link: str = Field(description="The link to join the team: in this answer only.")


class RoleIn(Schema):
    role: str = Field(description="owner or member.")


class SettingsIn(Schema):
    send_traceparent: bool = Field(
        description="New requests send a W3C traceparent unless they say otherwise."
    )


class SettingsOut(Schema):
    team: str
    send_traceparent: bool


def _owners_only(request: HttpRequest, what: str = "invite people and revoke invites") -> None:
    if not is_owner(user=_user(request), team_id=_token(request).team_id):
        raise Problematic(403, f"Only the team's owners {what}.", title="Forbidden")


def _member_out(request: HttpRequest, membership: Membership) -> dict[str, Any]:
    return {
        "id": membership.pk,
        "user": membership.user.get_username(),
        "role": membership.role,
        "joined_at": membership.created_at,
        "you": membership.user_id == _user(request).pk,
    }


def _invite_out(invite: Invite) -> dict[str, Any]:
    return {
        "id": invite.pk,
        "created_by": invite.created_by.get_username() if invite.created_by else None,
        "created_at": invite.created_at,
        "expires_at": invite.expires_at,
        "revoked_at": invite.revoked_at,
    }


@router.get("/team/members", response={200: list[MemberOut], **ERRORS}, summary="The members")
def list_members(request: HttpRequest) -> list[dict[str, Any]]:
    """Owners first, then by name."""
    return [_member_out(request, m) for m in selectors.members_of(team=_team(request))]


@router.post(
    "/team/members/{int:membership_id}/role",
    response={200: MemberOut, **MEMBER_ERRORS},
    summary="Make a member an owner, or an owner a member (owners)",
)
def change_role(request: HttpRequest, membership_id: int, payload: RoleIn) -> dict[str, Any]:
    """The team keeps at least one owner: taking the last one's role is refused (409)."""
    target = selectors.get_member_of_team(team=_team(request), membership_id=membership_id)
    _owners_only(request, "change roles")
    form = RoleForm({"role": payload.role})
    if not form.is_valid():
        raise _form_problem(form)
    try:
        services.change_role(membership=target, role=form.cleaned_data["role"])
    except services.TeamRuleBroken as broken:
        raise Problematic(409, str(broken)) from None
    target.refresh_from_db()
    return _member_out(request, target)


@router.delete(
    "/team/members/{int:membership_id}",
    response={204: None, **MEMBER_ERRORS},
    summary="Remove someone from the team (owners)",
)
def remove_member(request: HttpRequest, membership_id: int) -> Status[None]:
    """Their runs stay with the team; their tokens for it stop working. The last owner
    cannot be removed (409)."""
    target = selectors.get_member_of_team(team=_team(request), membership_id=membership_id)
    _owners_only(request, "remove members")
    try:
        services.remove_membership(membership=target)
    except services.TeamRuleBroken as broken:
        raise Problematic(409, str(broken)) from None
    return Status(204, None)


@router.post(
    "/team/leave",
    response={204: None, **ERRORS, 409: Problem},
    summary="Leave the team (its last owner cannot)",
)
def leave_team(request: HttpRequest) -> Status[None]:
    """As the Team page's Leave: your runs stay with the team, and your tokens for it,
    this one included, stop working."""
    membership = selectors.get_membership_for_user(
        user=_user(request), team_id=_token(request).team_id
    )
    try:
        services.remove_membership(membership=membership)
    except services.TeamRuleBroken as broken:
        raise Problematic(409, str(broken)) from None
    return Status(204, None)


@router.get("/team/settings", response={200: SettingsOut, **ERRORS}, summary="Team settings")
def get_settings(request: HttpRequest) -> dict[str, Any]:
    team = _team(request)
    return {"team": team.name, "send_traceparent": team.send_traceparent}


@router.put(
    "/team/settings",
    response={200: SettingsOut, **OWNER_ERRORS},
    summary="Change the team's settings (owners)",
)
def change_settings(request: HttpRequest, payload: SettingsIn) -> dict[str, Any]:
    _owners_only(request, "change the team's settings")
    form = TeamSettingsForm({"send_traceparent": "on" if payload.send_traceparent else ""})
    form.is_valid()  # a box: ticked or not, nothing else to check
    team = _team(request)
    services.change_settings(
        team=team, send_traceparent=bool(form.cleaned_data.get("send_traceparent"))
    )
    return {"team": team.name, "send_traceparent": team.send_traceparent}


@router.get(
    "/team/invites",
    response={200: list[InviteOut], **OWNER_ERRORS},
    summary="The invites that can still be used (owners)",
)
def list_invites(request: HttpRequest) -> list[dict[str, Any]]:
    _owners_only(request)
    return [_invite_out(i) for i in selectors.pending_invites(team=_team(request))]


@router.post(
    "/team/invites",
    response={201: CreatedInviteOut, **OWNER_ERRORS},
    summary="Invite someone: a link to join the team, shown once (owners)",
)
def create_invite(request: HttpRequest, payload: InviteIn) -> Status[Any]:
    _owners_only(request)
    form = InviteForm({"lifetime": payload.lifetime})
    if not form.is_valid():
        raise _form_problem(form)
    invite, token = services.create_invite(
        team=_team(request), created_by=_user(request), lifetime=form.lifetime_delta()
    )
    answer = _invite_out(invite)
    answer["link"] = request.build_absolute_uri(reverse("accounts:join", args=[token]))
    return Status(201, answer)


@router.post(
    "/team/invites/{uuid:invite_id}/revoke",
    response={200: InviteOut, **OWNER_ID_ERRORS},
    summary="Revoke an invite: its link no longer works (owners)",
)
def revoke_invite(request: HttpRequest, invite_id: uuid.UUID) -> dict[str, Any]:
    invite = selectors.get_pending_invite_of_team(team=_team(request), invite_id=invite_id)
    _owners_only(request)
    services.revoke_invite(invite=invite)
    invite.refresh_from_db()
    return _invite_out(invite)
