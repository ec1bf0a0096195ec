"""Reads of API tokens: a user's own tokens, their teammates' for an owner, and the token a
request presents."""

import re
import uuid
from dataclasses import dataclass

from django.contrib.auth.models import User
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from apps.accounts.models import Membership, hash_link_token
from apps.api.models import TOKEN_PREFIX, ApiToken

# What `create_token` makes; anything else is not looked up at all.
TOKEN_SHAPE = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{20,100}")


def tokens_of_user(*, user: User) -> QuerySet[ApiToken]:
    """The user's tokens in every team, newest first."""
    return ApiToken.objects.filter(user=user).select_related("team").order_by("-created_at", "-id")


def teammates_tokens_for_owner(*, user: User) -> QuerySet[ApiToken]:
    """The tokens of the other members of the teams the user owns, newest first (an owner
    can revoke them: a token acts in the team, whoever made it)."""
    owned = Membership.objects.filter(user=user, role=Membership.Role.OWNER).values("team_id")
    return (
        ApiToken.objects.filter(team_id__in=owned)
        .exclude(user=user)
        .select_related("team", "user")
        .order_by("-created_at", "-id")
    )


def get_token_for_user(*, user: User, token_id: uuid.UUID) -> ApiToken:
    """One of the user's own tokens, or a teammate's in a team the user owns; Http404 for
    any other, as if it did not exist."""
    found = (
        tokens_of_user(user=user).filter(pk=token_id).first()
        or teammates_tokens_for_owner(user=user).filter(pk=token_id).first()
    )
    if found is None:
        raise Http404("No such token")
    return found


@dataclass(frozen=True)
class Refusal:
    """Why a presented token does not work, for the caller."""

    message: str


def token_for_value(value: str) -> ApiToken | Refusal:
    """The working token with this value, with its user and team; else why not.

    A token works while it is neither revoked nor expired, its user is active and still a
    member of its team (a token of someone who left the team stops working at once).
    """
    if not TOKEN_SHAPE.fullmatch(value):
        return Refusal("This is not an API token. Make one on the Tokens page of the dashboard.")
    token = (
        ApiToken.objects.filter(token_hash=hash_link_token(value))
        .select_related("user", "team")
        .first()
    )
    if token is None:
        return Refusal("This API token is unknown. Make one on the Tokens page of the dashboard.")
    state = token.state(timezone.now())
    if state != "active":
        return Refusal(f"This API token is {state}. Make a new one on the Tokens page.")
    if (
        not token.user.is_active
        or not Membership.objects.filter(user_id=token.user_id, team_id=token.team_id).exists()
    ):
        return Refusal("This API token's user is no longer a member of its team.")
    return token
