import hashlib
import uuid
from datetime import datetime
from typing import Self

from django.conf import settings
from django.db import models


def default_send_traceparent() -> bool:
    """A new team's traceparent setting: the deployment's TRACEPARENT_DEFAULT."""
    return bool(settings.TRACEPARENT_DEFAULT)


class Team(models.Model):
    """A group of people who share their runs. All run data belongs to exactly one team."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    created_at = models.DateTimeField(auto_now_add=True)
    # Whether a new request starts with "Send a W3C traceparent" ticked (form and API).
    send_traceparent = models.BooleanField(default=default_send_traceparent)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    def __str__(self) -> str:
        return self.name


class TeamScopedQuerySet(models.QuerySet):
    """Rows that belong to one team are read through `for_team(team)`.

    It demands a saved Team: `for_team(None)` raises instead of quietly matching the rows
    that have no team (or, after a careless refactor, every row).
    """

    def for_team(self, team: Team) -> Self:
        if not isinstance(team, Team) or team._state.adding:
            raise TypeError(f"for_team() needs a saved Team, not {team!r}")
        return self.filter(team=team)


class Membership(models.Model):
    class Role(models.TextChoices):
        OWNER = "owner", "Owner"
        MEMBER = "member", "Member"

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    team = models.ForeignKey(Team, on_delete=models.CASCADE)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team} ({self.role})"

    @property
    def is_owner(self) -> bool:
        return self.role == self.Role.OWNER


def hash_link_token(token: str) -> str:
    """What is stored of a link's token (invite links, share links). The token carries 256
    random bits, so a fast hash is enough: nothing can be guessed from the hash, and a
    database leak reveals no link."""
    return hashlib.sha256(token.encode()).hexdigest()


# The name invites have always used.
hash_invite_token = hash_link_token


class Invite(models.Model):
    """A link that adds whoever opens it (signed in) to the team as a member, once.

    Only the hash of the link's token is stored; the link itself is shown once, when the
    invite is created.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invites")
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    revoked_at = models.DateTimeField(null=True, blank=True)

    objects = TeamScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"Invite to {self.team} (expires {self.expires_at:%Y-%m-%d %H:%M})"

    def is_usable(self, now: datetime) -> bool:
        return self.used_at is None and self.revoked_at is None and self.expires_at > now
