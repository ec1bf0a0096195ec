"""The JSON API of personal API tokens: list them and revoke one, over apps.api's selectors
and services (the Tokens page's). Never a token's value (only its hash is stored): its first
characters tell tokens apart. Scoped to the calling token's team: the caller's own tokens
there and, for an owner of the team, its other members' (which an owner may revoke, as on
the page); any other token answers 404. Registered on the API in api.py."""

import uuid
from datetime import datetime
from typing import Any

from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Router, Schema

from apps.api import selectors, services
from apps.api.api import ERRORS, _token, _user
from apps.api.models import ApiToken
from apps.api.schemas import Problem

router = Router(tags=["Account"])
ID_ERRORS: dict[int, type] = {**ERRORS, 404: Problem}


class TokenOut(Schema):
    id: uuid.UUID
    name: str
    user: str = Field(description="Whose token it is.")
    team: str
    hint: str = Field(description="Its first characters (never the token itself).")
    state: str = Field(description="active, expired or revoked.")
    current: bool = Field(description="The token this request was made with.")
    created_at: datetime
    expires_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def _out(request: HttpRequest, token: ApiToken, now: datetime) -> dict[str, Any]:
    return {
        "id": token.pk,
        "name": token.name,
        "user": token.user.get_username(),
        "team": token.team.name,
        "hint": token.hint,
        "state": token.state(now),
        "current": token.pk == _token(request).pk,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


@router.get(
    "/tokens",
    response={200: list[TokenOut], **ERRORS},
    summary="Your API tokens in this team (and, for an owner, its members')",
)
def list_tokens(request: HttpRequest) -> list[dict[str, Any]]:
    team_id, now = _token(request).team_id, timezone.now()
    own = selectors.tokens_of_user(user=_user(request)).filter(team_id=team_id)
    teammates = selectors.teammates_tokens_for_owner(user=_user(request)).filter(team_id=team_id)
    return [_out(request, t, now) for t in [*own.select_related("user"), *teammates]]


@router.post(
    "/tokens/{uuid:token_id}/revoke",
    response={200: TokenOut, **ID_ERRORS},
    summary="Revoke an API token: it no longer works",
)
def revoke_token(request: HttpRequest, token_id: uuid.UUID) -> dict[str, Any]:
    """One of yours, or, for an owner of the team, a member's. Revoking the token this
    request is made with is allowed: the next request with it answers 401."""
    token = selectors.get_token_for_user(user=_user(request), token_id=token_id)
    if token.team_id != _token(request).team_id:
        raise Http404("No such token")
    services.revoke_token(token=token, by=_user(request))
    token.refresh_from_db()
    return _out(request, token, timezone.now())
