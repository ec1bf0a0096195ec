"""Writes of share links: create one (its token shown once), revoke it, count its views."""

import logging
import secrets
from datetime import timedelta

from django.contrib.auth.models import User
from django.db.models import F
from django.utils import timezone

from apps.accounts.models import hash_link_token
from apps.runs.models import Run
from apps.sharing.models import ShareLink

logger = logging.getLogger(__name__)


def create_link(
    *, run: Run, created_by: User, visibility: str, lifetime: timedelta | None
) -> tuple[ShareLink, str]:
    """A new share link of the run and its token. The token is not stored (its hash is):
    show it now. `lifetime=None` (never expires) is for team-only links; the database
    refuses it for the others."""
    token = secrets.token_urlsafe(32)
    link = ShareLink.objects.create(
        run=run,
        team_id=run.team_id,
        token_hash=hash_link_token(token),
        visibility=visibility,
        expires_at=timezone.now() + lifetime if lifetime is not None else None,
        created_by=created_by,
    )
    logger.info(
        "share link %s of run %s created by user %s (%s)",
        link.id,
        run.id,
        created_by.pk,
        visibility,
    )
    return link, token


def revoke_link(*, link: ShareLink) -> bool:
    """Stop the link working; False if it was revoked already."""
    revoked = ShareLink.objects.filter(pk=link.pk, revoked_at=None).update(
        revoked_at=timezone.now()
    )
    if revoked:
        logger.info("share link %s of run %s revoked", link.id, link.run_id)
    return revoked == 1


def record_view(*, link: ShareLink) -> None:
    """Count one view of the link, in one UPDATE (views at the same time all count)."""
    ShareLink.objects.filter(pk=link.pk).update(
        view_count=F("view_count") + 1, last_viewed_at=timezone.now()
    )
