import uuid

from django.conf import settings
from django.db import models

from apps.accounts.models import Team, TeamScopedQuerySet


class VaultSecret(models.Model):
    """A team's secret value, used by name in requests as {{vault:NAME}}: encrypted with the
    project's keys, never shown back, sent only to the hosts it is bound to."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="vault_secrets")
    name = models.CharField(max_length=100)
    value_encrypted = models.BinaryField(editable=False)
    # Host patterns it may be sent to: "api.example.com" or "*.example.com" (sub-domains).
    hosts = models.JSONField(default=list)
    description = models.CharField(max_length=300, blank=True)
    version = models.PositiveIntegerField(default=1)  # +1 at each rotation
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="one_vault_secret_name_per_team")
        ]

    def __str__(self) -> str:
        return self.name


class VaultEvent(models.Model):
    """Every change and use of a secret: who, when, what, which run."""

    class Action(models.TextChoices):
        CREATED = "created", "Created"
        ROTATED = "rotated", "Value replaced"
        BOUND = "bound", "Hosts changed"
        DELETED = "deleted", "Deleted"
        USED = "used", "Used"
        REFUSED = "refused", "Refused (host not allowed)"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="vault_events")
    secret = models.ForeignKey(
        VaultSecret, null=True, blank=True, on_delete=models.SET_NULL, related_name="events"
    )
    secret_name = models.CharField(max_length=100)  # kept when the secret is deleted
    action = models.CharField(max_length=10, choices=Action.choices)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    run = models.ForeignKey(
        "runs.Run", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    detail = models.CharField(max_length=300, blank=True)  # never a value
    at = models.DateTimeField(auto_now_add=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.secret_name} {self.action}"
