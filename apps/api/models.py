import uuid
from datetime import datetime

from django.conf import settings
from django.db import models

from apps.accounts.models import Team, TeamScopedQuerySet

# Every token starts with this, so that secret scanners (and people) can tell what it is.
TOKEN_PREFIX = "adt_"  # noqa: S105 (a prefix, not a secret)


class ApiToken(models.Model):
    """A personal API token: it acts for one user in one team, until it expires or is revoked.

    Only the hash of the token is stored; the token itself is shown once, when it is made.
    `hint` is its first characters, for telling tokens apart in a list.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_tokens")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    hint = models.CharField(max_length=16, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TeamScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"API token {self.name!r} of {self.user_id} in {self.team_id}"

    def state(self, now: datetime) -> str:
        """ "active", "revoked" or "expired"."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= now:
            return "expired"
        return "active"
