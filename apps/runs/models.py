import uuid

from django.conf import settings
from django.db import models

from apps.accounts.models import Team, TeamScopedQuerySet
from apps.egress.types import IDEMPOTENT_METHODS
from apps.runs.phases import (
    FINAL_FIELDS,
    AttemptFacts,
    attempt_facts,
    final_phases,
    phases_in_words,
)


class Run(models.Model):
    """One test request submitted by a team member, and a summary of what came of it.

    Each execution of the request is an Attempt (the first, retries, backoff). The run's
    status and summary columns follow its attempts; the row is the source of truth that
    workers update and pages read. Secrets live only in `secrets_encrypted`; every other
    column holds redacted values.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        WAITING = "waiting", "Waiting to retry"
        DONE = "done", "Done"
        # The worker stopped while a non-idempotent request was in flight; not sent again.
        INTERRUPTED = "interrupted", "Interrupted"

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
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    # The run this one was made from ("Edit and re-run", "Re-authenticate"), if any.
    source = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    # The request, as composed (secret values replaced by "[redacted]").
    method = models.CharField(max_length=10)
    url = models.TextField()
    host = models.CharField(max_length=255, blank=True)
    query = models.JSONField(default=list)  # [[name, value], ...]
    request_headers = models.JSONField(default=list)  # [[name, value], ...]
    request_body = models.TextField(blank=True)
    timeout_seconds = models.FloatField()
    follow_redirects = models.BooleanField(default=False)
    # Send a W3C traceparent with each attempt (a new one each time).
    send_traceparent = models.BooleanField(default=False)
    profile = models.CharField(max_length=40)
    has_api_key = models.BooleanField(default=False)
    secrets_encrypted = models.BinaryField(blank=True, default=b"", editable=False)
    # Automatic retries with backoff: {} for none, else {"base", "cap", "max_attempts"}.
    retry_policy = models.JSONField(default=dict, blank=True)
    # Submitted as recorded (the API's diagnose-only path): the caller gave the exchange it
    # already had; nothing was sent for the first attempt.
    recorded = models.BooleanField(default=False)
    # "Try the fix": the diagnosis' Fix this run made to its source's request, as
    # `Fix.to_dict()` with the cause's code under "cause"; {} for any other run.
    fix = models.JSONField(default=dict, blank=True)

    # Summary of the latest finished attempt, for lists and filters.
    attempt_count = models.PositiveIntegerField(default=0)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    failure_kind = models.CharField(max_length=30, blank=True)
    diagnosis_code = models.CharField(max_length=80, blank=True)
    diagnosis_title = models.CharField(max_length=200, blank=True)
    severity = models.CharField(max_length=10, blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    # Reads of a team's runs go through `Run.objects.for_team(team)`, which refuses no team.
    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        # The team log reads (team, created_at, id) newest first, in keyset pages; a filter on
        # a column that can be rare has an index of its own in the same order, so a page is
        # one short index range scan. On PostgreSQL, migration 0004 also adds indexes no
        # Meta can declare portably: diagnosis codes and their prefixes (pattern ops), and
        # trigram indexes for the free-text search of url and diagnosis_title; migration 0013
        # gives `run_team_host` the status classes' columns (INCLUDE outcome, response_status)
        # so that the latest runs of a host in one class are found in the index alone.
        indexes = [
            models.Index(fields=["team", "-created_at", "-id"], name="run_team_keyset"),
            models.Index(
                fields=["team", "response_status", "-created_at", "-id"], name="run_team_status"
            ),
            models.Index(fields=["team", "host", "-created_at", "-id"], name="run_team_host"),
            models.Index(
                fields=["team", "created_by", "-created_at", "-id"], name="run_team_member"
            ),
            models.Index(fields=["team", "method", "-created_at", "-id"], name="run_team_method"),
            # "No response" runs (class=network) are few: a partial index holds only them.
            models.Index(
                fields=["team", "-created_at", "-id"],
                name="run_team_failures",
                condition=models.Q(outcome="failure"),
            ),
            # Runs without a result yet: few, and the only ones the trends' rollups don't count.
            models.Index(
                fields=["team", "-created_at", "-id"],
                name="run_team_pending",
                condition=models.Q(outcome=""),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.method} {self.url} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in {self.Status.DONE, self.Status.INTERRUPTED}

    @property
    def is_idempotent(self) -> bool:
        return self.method in IDEMPOTENT_METHODS


class Attempt(models.Model):
    """One execution of a run's request, and exactly what came back."""

    class Reason(models.TextChoices):
        FIRST = "first", "First attempt"
        RETRY = "retry", "Retried by hand"
        BACKOFF = "backoff", "Retry with backoff"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"  # waiting for a worker, possibly until `not_before`
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        CANCELLED = "cancelled", "Cancelled"
        # Its worker stopped while the request was in flight (a method that is not idempotent).
        INTERRUPTED = "interrupted", "Interrupted"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="attempts")
    number = models.PositiveIntegerField()
    reason = models.CharField(max_length=10, choices=Reason.choices, default=Reason.FIRST)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    created_at = models.DateTimeField(auto_now_add=True)
    not_before = models.DateTimeField(null=True, blank=True)  # scheduled retries
    wait_reason = models.CharField(max_length=200, blank=True)  # why that long
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    deliveries = models.PositiveIntegerField(default=0)
    # Delivery bookkeeping: last publish to the broker (None: the broker could not be
    # reached), the worker executing it, and that execution's last sign of life.
    published_at = models.DateTimeField(null=True, blank=True)
    worker = models.CharField(max_length=200, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)

    sent_url = models.TextField(blank=True)  # final URL with its query string, redacted
    sent_headers = models.JSONField(default=list)  # redacted
    redirects = models.JSONField(default=list)  # [[status, location], ...] followed, redacted
    outcome = models.CharField(max_length=10, choices=Run.Outcome.choices, blank=True, default="")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_reason = models.CharField(max_length=200, blank=True)
    response_http_version = models.CharField(max_length=10, blank=True)
    response_headers = models.JSONField(default=list)  # redacted
    response_body = models.TextField(blank=True)  # decoded, capped, redacted
    response_body_truncated = models.BooleanField(default=False)
    response_body_bytes = models.PositiveIntegerField(null=True, blank=True)
    failure_kind = models.CharField(max_length=30, blank=True)
    failure_detail = models.CharField(max_length=40, blank=True)
    failure_message = models.TextField(blank=True)
    duration_ms = models.FloatField(null=True, blank=True)
    diagnosis_code = models.CharField(max_length=80, blank=True)
    diagnosis = models.JSONField(default=dict)
    # The team's OpenAPI profile version the diagnosis was made against, if one covered it.
    spec_version = models.ForeignKey(
        "library.SpecVersion", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Every request the attempt sent (each redirect hop, then the last), as
    # `apps.egress.types.HopFacts.to_dict()`: phase timings, connection and TLS facts.
    hops = models.JSONField(default=list, blank=True)
    # The final request's total and phases as read from `hops` (`phases.final_phases`), kept
    # with them (`set_final_phases`) so that the trends' percentiles read no JSON. NULL: not
    # measured (the total), or the phase did not happen.
    final_total_ms = models.FloatField(null=True, blank=True)
    final_dns_ms = models.FloatField(null=True, blank=True)
    final_connect_ms = models.FloatField(null=True, blank=True)
    final_tls_ms = models.FloatField(null=True, blank=True)
    final_send_ms = models.FloatField(null=True, blank=True)
    final_wait_ms = models.FloatField(null=True, blank=True)
    final_receive_ms = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["number"]
        constraints = [
            models.UniqueConstraint(fields=["run", "number"], name="one_attempt_number_per_run")
        ]
        indexes = [
            # The sweeper's look-up: only the few attempts still waiting or running.
            models.Index(
                fields=["status", "created_at"],
                name="attempt_pending",
                condition=models.Q(status__in=["queued", "running"]),
            )
        ]

    def __str__(self) -> str:
        return f"attempt {self.number} of {self.run_id} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in {self.Status.QUEUED, self.Status.RUNNING}

    def set_final_phases(self) -> tuple[str, ...]:
        """Set the `final_*_ms` fields from `hops`; their names, to save."""
        for name, value in final_phases(self.hops).items():
            setattr(self, name, value)
        return FINAL_FIELDS

    @property
    def phases_text(self) -> str:
        """Where its final request's time went, in words ("" when not measured)."""
        return phases_in_words(self.hops)

    def facts(self) -> AttemptFacts:
        """Its hops' timings, connection and TLS facts, the request ids of its response,
        Server-Timing and the traceparent sent (`.to_dict()` for plain data)."""
        return attempt_facts(
            hops=self.hops, response_headers=self.response_headers, sent_headers=self.sent_headers
        )


# Durations are counted in buckets a quarter of a power of two wide: bucket 0 holds
# [0, 1) ms, bucket i >= 1 holds [2^((i-1)/4), 2^(i/4)) ms, the last one everything above.
DURATION_BUCKETS = 72


class RollupRow(models.Model):
    """What an hourly and a daily rollup row hold: the team's finished runs of one period
    that share a host, method, outcome, status and diagnosis, counted, with their durations
    in buckets (`d00`...)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    host = models.CharField(max_length=255, blank=True)
    method = models.CharField(max_length=10)
    outcome = models.CharField(max_length=10, choices=Run.Outcome.choices)
    response_status = models.PositiveSmallIntegerField()  # 0: no response
    diagnosis_code = models.CharField(max_length=80, blank=True)
    diagnosis_title = models.CharField(max_length=200, blank=True)
    runs = models.IntegerField(db_default=0)
    timed = models.IntegerField(db_default=0)  # runs with a duration
    duration_sum = models.FloatField(db_default=0.0)  # ms

    KEY = ("host", "method", "outcome", "response_status", "diagnosis_code", "diagnosis_title")

    class Meta:
        abstract = True


class RunHourRollup(RollupRow):
    """The rows of one hour (by `created_at`, UTC).

    Kept up to date as runs finish (apps.runs.rollups), so the trends of long windows read
    a few rows per hour instead of every run. Pending runs are not in it.
    """

    hour = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "hour", *RollupRow.KEY], name="run_hour_rollup_key"
            )
        ]
        indexes = [models.Index(fields=["team", "hour"], name="run_hour_rollup_team_hour")]

    def __str__(self) -> str:
        return f"{self.hour:%Y-%m-%d %H}h {self.host} {self.outcome}: {self.runs} runs"


class RunDayRollup(RollupRow):
    """RunHourRollup's rows of one day (UTC) added up: the trends of windows counted per
    day read these for their whole days, 24 times fewer rows. Kept with the hourly rows."""

    day = models.DateTimeField()  # midnight UTC

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "day", *RollupRow.KEY], name="run_day_rollup_key"
            )
        ]
        indexes = [models.Index(fields=["team", "day"], name="run_day_rollup_team_day")]

    def __str__(self) -> str:
        return f"{self.day:%Y-%m-%d} {self.host} {self.outcome}: {self.runs} runs"


for _bucket in range(DURATION_BUCKETS):
    RunHourRollup.add_to_class(f"d{_bucket:02d}", models.IntegerField(db_default=0))
    RunDayRollup.add_to_class(f"d{_bucket:02d}", models.IntegerField(db_default=0))
