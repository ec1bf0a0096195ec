import uuid
from datetime import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q

from apps.accounts.models import Team, TeamScopedQuerySet
from apps.runs.models import Run


class ShareLink(models.Model):
    """A read-only, redacted view of one run at `/s/<token>`, for anyone holding the link or
    for the run's team only.

    Only the hash of the link's token is stored; the link itself is shown once, when it is
    created. A link that never expires must be team-only (a CheckConstraint says so too).
    """

    class Visibility(models.TextChoices):
        PUBLIC = "public", "Anyone with the link"
        TEAM = "team", "Team members only"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="share_links")
    # The run's team, kept here so that links are read per team like all team data.
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="share_links")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    visibility = models.CharField(
        max_length=10, choices=Visibility.choices, default=Visibility.PUBLIC
    )
    expires_at = models.DateTimeField(null=True, blank=True)  # None: never (team-only)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    view_count = models.PositiveIntegerField(default=0)
    last_viewed_at = models.DateTimeField(null=True, blank=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(expires_at__isnull=False) | Q(visibility="team"),
                name="share_link_never_expires_only_for_team",
            )
        ]

    def __str__(self) -> str:
        return f"Share link of {self.run_id} ({self.visibility})"

    @property
    def is_team_only(self) -> bool:
        return self.visibility == self.Visibility.TEAM

    def is_active(self, now: datetime) -> bool:
        return self.revoked_at is None and (self.expires_at is None or self.expires_at > now)

    def state(self, now: datetime) -> str:
        """ "active", "revoked" or "expired", for the run page's list of links."""
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= now:
            return "expired"
        return "active"
