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
from apps.accounts.forms import DEFAULT_INVITE_LIFETIME, INVITE_LIFETIMES, InviteForm
from apps.accounts.models import Invite
from apps.accounts.selectors import is_owner
from apps.api.api import ERRORS, Problematic, _form_problem, _team, _token, _user
from apps.api.schemas import Problem

router = Router(tags=["Team"])
OWNER_ERRORS: dict[int, type] = {**ERRORS, 403: Problem}
OWNER_ID_ERRORS: dict[int, type] = {**ERRORS, 403: Problem, 404: Problem}


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


def _owners_only(request: HttpRequest) -> None:
    if not is_owner(user=_user(request), team_id=_token(request).team_id):
        raise Problematic(
            403, "Only the team's owners invite people and revoke invites.", title="Forbidden"
        )


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
    user = _user(request)
    return [
        {
            "id": m.pk,
            "user": m.user.get_username(),
            "role": m.role,
            "joined_at": m.created_at,
            "you": m.user_id == user.pk,
        }
        for m in selectors.members_of(team=_team(request))
    ]


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
