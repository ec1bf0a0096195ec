import uuid

from django.conf import settings
from django.db import models

from apps.accounts.models import Team


class Run(models.Model):
    """One test request submitted by a team member and what came of it.

    The row is the source of truth for the run's state: workers claim it, store the
    result on it, and pages read it. Secrets live only in `secrets_encrypted`; every other
    column holds redacted values.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"

    class Outcome(models.TextChoices):
        PENDING = "", "Pending"
        RESPONSE = "response", "Response received"
        FAILURE = "failure", "No response"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="runs")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    deliveries = models.PositiveIntegerField(default=0)

    # The request, as composed (secret values replaced by "[redacted]").
    method = models.CharField(max_length=10)
    url = models.TextField()
    query = models.JSONField(default=list)  # [[name, value], ...]
    request_headers = models.JSONField(default=list)  # [[name, value], ...]
    request_body = models.TextField(blank=True)
    timeout_seconds = models.FloatField()
    profile = models.CharField(max_length=40)
    has_api_key = models.BooleanField(default=False)
    secrets_encrypted = models.BinaryField(blank=True, default=b"", editable=False)

    # What was sent and what came back.
    sent_url = models.TextField(blank=True)  # final URL with its query string, redacted
    sent_headers = models.JSONField(default=list)  # redacted
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_reason = models.CharField(max_length=200, blank=True)
    response_http_version = models.CharField(max_length=10, blank=True)
    response_headers = models.JSONField(default=list)  # redacted
    response_body = models.TextField(blank=True)  # decoded, capped, redacted
    response_body_truncated = models.BooleanField(default=False)
    response_body_bytes = models.PositiveIntegerField(null=True, blank=True)
    failure_kind = models.CharField(max_length=30, blank=True)
    failure_message = models.TextField(blank=True)
    duration_ms = models.FloatField(null=True, blank=True)

    # The explanation, as diagnosed when the run finished.
    diagnosis_code = models.CharField(max_length=80, blank=True)
    diagnosis = models.JSONField(default=dict)

    class Meta:
        indexes = [models.Index(fields=["team", "-created_at"], name="run_team_recent")]

    def __str__(self) -> str:
        return f"{self.method} {self.url} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status == self.Status.DONE

    @property
    def host(self) -> str:
        from urllib.parse import urlsplit

        try:
            return urlsplit(self.url).hostname or ""
        except ValueError:
            return ""
