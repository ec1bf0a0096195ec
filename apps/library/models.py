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


class Collection(models.Model):
    """A team's named set of saved requests, in folders, with its own variables."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="collections")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    # Non-secret values used as {{name}} in its requests: [[name, value], ...].
    variables = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name", "created_at"]

    def __str__(self) -> str:
        return self.name


class SavedRequest(models.Model):
    """A request kept to be run again, as the runs keep theirs: secret values only in
    `secrets_encrypted`, every other column redacted."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="saved_requests")
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="requests")
    folder = models.CharField(max_length=500, blank=True)  # "Folder/Subfolder"
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    position = models.PositiveIntegerField(default=0)
    method = models.CharField(max_length=10)
    url = models.TextField()  # may hold {{variables}}
    query = models.JSONField(default=list, blank=True)  # [[name, value], ...]
    request_headers = models.JSONField(default=list, blank=True)  # [[name, value], ...]
    request_body = models.TextField(blank=True)
    timeout_seconds = models.FloatField(null=True, blank=True)  # None: the default
    follow_redirects = models.BooleanField(default=False)
    profile = models.CharField(max_length=40, blank=True)  # "": from the host
    has_api_key = models.BooleanField(default=False)
    secrets_encrypted = models.BinaryField(blank=True, default=b"", editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        ordering = ["collection", "position", "created_at"]

    def __str__(self) -> str:
        return self.name


class CollectionRun(models.Model):
    """A whole collection sent at once: one run per saved request."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="collection_runs")
    collection = models.ForeignKey(Collection, on_delete=models.CASCADE, related_name="runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # Requests that could not be sent, with why: [[saved request name, reason], ...].
    skipped = models.JSONField(default=list, blank=True)
    environment = models.ForeignKey(
        "Environment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.collection} at {self.created_at:%Y-%m-%d %H:%M:%S}"


class SavedRequestRun(models.Model):
    """A run made from a saved request (its history), alone or in a collection run."""

    saved_request = models.ForeignKey(
        SavedRequest, on_delete=models.CASCADE, related_name="history"
    )
    run = models.OneToOneField("runs.Run", on_delete=models.CASCADE, related_name="saved_from")
    collection_run = models.ForeignKey(
        CollectionRun, null=True, blank=True, on_delete=models.CASCADE, related_name="items"
    )
    position = models.PositiveIntegerField(default=0)
    # The environment its {{variables}} were resolved with, if any.
    environment = models.ForeignKey(
        "Environment", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return f"{self.saved_request} → run {self.run_id}"


class Environment(models.Model):
    """Named values for {{name}} in a team's saved requests ("Kaiko production",
    "sandbox"), used when a request or a collection is run. Not secret: a secret's value is
    a reference to the vault, {{vault:NAME}}."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="environments")
    name = models.CharField(max_length=100)
    variables = models.JSONField(default=list, blank=True)  # [[name, value], ...]
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["team", "name"], name="one_environment_name_per_team")
        ]

    def __str__(self) -> str:
        return self.name


class RunEnvironment(models.Model):
    """The environment whose values filled the {{variables}} of a run sent from the
    new-request form (a saved request's runs note theirs in its history)."""

    run = models.OneToOneField(
        "runs.Run", on_delete=models.CASCADE, related_name="environment_used"
    )
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    name = models.CharField(max_length=100)  # its name then: kept when it is renamed or deleted

    def __str__(self) -> str:
        return f"run {self.run_id} in {self.name}"
