import uuid

from django.conf import settings
from django.db import models

from apps.accounts.models import Team, TeamScopedQuerySet


class SpecProfile(models.Model):
    """A team's API profile made from an OpenAPI document; its documents are its versions.

    Runs to the hosts its latest version names are diagnosed against that version."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="spec_profiles")
    name = models.CharField(max_length=200)  # the document's info.title, when last uploaded
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # The latest version's hosts, for matching a run to its profile without reading documents.
    hosts = models.JSONField(default=list)

    # Reads of a team's profiles go through `SpecProfile.objects.for_team(team)`.
    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def latest(self) -> "SpecVersion | None":
        return self.versions.order_by("-number").first()


class SpecVersion(models.Model):
    """One uploaded document of a profile, exactly as it was checked; never changed."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    profile = models.ForeignKey(SpecProfile, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    source_name = models.CharField(max_length=255, blank=True)  # the file's name, or "pasted"
    text = models.TextField()  # the document as uploaded
    document = models.JSONField()  # the document as data, checked (read without re-checking)
    openapi = models.CharField(max_length=20)  # "3.0.3"
    title = models.CharField(max_length=200)
    api_version = models.CharField(max_length=100, blank=True)
    operation_count = models.PositiveIntegerField(default=0)
    size_bytes = models.PositiveIntegerField(default=0)

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["profile", "number"], name="one_spec_version_number_per_profile"
            )
        ]

    def __str__(self) -> str:
        return f"{self.title}, version {self.number}"

    @property
    def label(self) -> str:
        """How a diagnosis names it: "Swagger Petstore (OpenAPI profile, version 2)"."""
        return f"{self.title} (OpenAPI profile, version {self.number})"
