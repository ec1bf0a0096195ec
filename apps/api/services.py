"""Writes of API tokens: make one (shown once), revoke it, note its use."""

import logging
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.utils import timezone

from apps.accounts.models import Team, hash_link_token
from apps.api.models import TOKEN_PREFIX, ApiToken

logger = logging.getLogger(__name__)

# last_used_at is written at most this often per token (not on every request).
LAST_USED_EVERY = timedelta(minutes=1)
HINT_CHARS = len(TOKEN_PREFIX) + 4


def create_token(*, user: User, team: Team, name: str, lifetime: timedelta) -> tuple[ApiToken, str]:
    """A new token for the user in the team, and its value: shown now, never again (only its
    hash is stored). The caller has checked that the user is a member of the team."""
    value = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        name=name,
        user=user,
        team=team,
        token_hash=hash_link_token(value),
        hint=value[:HINT_CHARS],
        expires_at=timezone.now() + lifetime,
    )
    logger.info("API token %s made for user %s in team %s", token.id, user.pk, team.id)
    return token, value


def revoke_token(*, token: ApiToken, by: User | None = None) -> bool:
    """Stop the token working; False if it was revoked already. by: who revoked it (its
    user, or an owner of its team), for the log."""
    revoked = ApiToken.objects.filter(pk=token.pk, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if revoked:
        logger.info("API token %s revoked by user %s", token.id, by.pk if by else token.user_id)
    return revoked == 1


def note_use(*, token: ApiToken) -> None:
    """Note that the token was used now (at most once per LAST_USED_EVERY, in one UPDATE)."""
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < LAST_USED_EVERY:
        return
    ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    token.last_used_at = now
