"""Monitors: a request sent on a schedule, its assertions and its state; each check is a
normal Run; alert channels and their deliveries."""

import uuid

from django.conf import settings
from django.db import models

from apps.accounts.models import Team, TeamScopedQuerySet
from apps.library.models import Environment, SavedRequest
from apps.runs.models import Run


class State(models.TextChoices):
    UNKNOWN = "unknown", "Not checked yet"
    UP = "up", "Up"
    DEGRADED = "degraded", "Degraded"
    DOWN = "down", "Down"


STATE_CLASSES: dict[str, str] = {
    State.UNKNOWN: "info",
    State.UP: "ok",
    State.DEGRADED: "warning",
    State.DOWN: "error",
}


class AlertChannel(models.Model):
    """Where a team's alerts go: an email address list, a Slack or Teams/Discord-style
    incoming webhook, or a generic webhook signed with HMAC-SHA256."""

    class Kind(models.TextChoices):
        EMAIL = "email", "Email"
        SLACK = "slack", "Slack incoming webhook"
        CHAT = "chat", "Microsoft Teams / Discord webhook"
        WEBHOOK = "webhook", "Generic webhook (JSON, signed)"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="alert_channels")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    # A webhook URL or comma-separated email addresses. A webhook URL is a secret of sorts
    # (Slack's carry a token): shown to the team shortened, never in logs.
    target_encrypted = models.BinaryField(editable=False)
    target_hint = models.CharField(max_length=120)  # "hooks.slack.com/…", "ops@example.com"
    # Also alert when an incident opens across the team (many runs to one host failing).
    incident_alerts = models.BooleanField(default=False)
    # The generic webhook's signing key, encrypted; shown once when the channel is made.
    signing_key_encrypted = models.BinaryField(blank=True, default=b"", editable=False)

    objects = TeamScopedQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"


class Monitor(models.Model):
    """A request sent on a schedule, with assertions on what comes back."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="monitors")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    name = models.CharField(max_length=100)
    source_run = models.ForeignKey(
        Run, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Or a saved request, sent as it is at each check with the environment's {{variables}}
    # and {{vault:NAME}} secrets resolved then. SET_NULL, not PROTECT: deleting a collection
    # or an environment in the library is never blocked by a monitor; the monitor's next
    # check fails instead, saying what was deleted (hence the names kept here), and alerts.
    saved_request = models.ForeignKey(
        SavedRequest, null=True, blank=True, on_delete=models.SET_NULL, related_name="monitors"
    )
    saved_request_name = models.CharField(max_length=200, blank=True)
    environment = models.ForeignKey(
        Environment, null=True, blank=True, on_delete=models.SET_NULL, related_name="monitors"
    )
    environment_name = models.CharField(max_length=100, blank=True)

    # The request: its own copy of a run's request fields (redacted) and encrypted secrets.
    # A monitor of a saved request keeps only what is shown of it here (no secrets).
    method = models.CharField(max_length=10)
    url = models.TextField()
    host = models.CharField(max_length=255, blank=True)
    query = models.JSONField(default=list)
    request_headers = models.JSONField(default=list)
    request_body = models.TextField(blank=True)
    timeout_seconds = models.FloatField()
    follow_redirects = models.BooleanField(default=False)
    send_traceparent = models.BooleanField(default=False)
    profile = models.CharField(max_length=40)
    has_api_key = models.BooleanField(default=False)
    secrets_encrypted = models.BinaryField(blank=True, default=b"", editable=False)

    # The schedule: every `interval_seconds`, from `next_check_at` (claimed per tick).
    interval_seconds = models.PositiveIntegerField(default=300)
    # A cron expression (five fields, UTC) instead of the interval, when set.
    cron = models.CharField(max_length=100, blank=True)
    paused = models.BooleanField(default=False)
    next_check_at = models.DateTimeField(null=True, blank=True)

    # [{"kind": ..., ...}, ...]: see apps.monitors.assertions.
    assertions = models.JSONField(default=list)
    failures_to_down = models.PositiveSmallIntegerField(default=2)
    successes_to_up = models.PositiveSmallIntegerField(default=1)
    reminder_minutes = models.PositiveIntegerField(default=0)  # 0: no reminders
    # Shown (name, state, uptime only) on the team's public status page, if it has one.
    public = models.BooleanField(default=False)
    channels = models.ManyToManyField(AlertChannel, blank=True, related_name="monitors")

    state = models.CharField(max_length=10, choices=State.choices, default=State.UNKNOWN)
    consecutive_failures = models.PositiveIntegerField(default=0)
    consecutive_successes = models.PositiveIntegerField(default=0)
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_alert_at = models.DateTimeField(null=True, blank=True)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(
                fields=["next_check_at"], name="monitor_due", condition=models.Q(paused=False)
            )
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def schedule_text(self) -> str:
        """The schedule in words."""
        if self.cron:
            from apps.monitors.schedules import in_words

            return in_words(self.cron)
        return f"Every {self.interval_seconds} s"

    @property
    def cron_offset(self) -> int:
        """Seconds after each time its cron expression names that it runs (0 without one)."""
        if not self.cron:
            return 0
        from apps.monitors.schedules import cron_jitter

        return cron_jitter(self.cron, self.id)

    @property
    def uses_saved_request(self) -> bool:
        """Made from a saved request (even if that has been deleted since)."""
        return bool(self.saved_request_id or self.saved_request_name)

    @property
    def state_class(self) -> str:
        """The badge colour of its state."""
        return STATE_CLASSES[self.state]


class Check(models.Model):
    """One scheduled check of a monitor: a Run, and what its assertions made of it."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="checks")
    run = models.OneToOneField(
        Run, null=True, on_delete=models.SET_NULL, related_name="monitor_check"
    )
    planned_at = models.DateTimeField()  # the tick it belongs to
    started_at = models.DateTimeField(null=True, blank=True)  # its run was created
    evaluated_at = models.DateTimeField(null=True, blank=True)
    passed = models.BooleanField(null=True)
    # The assertions that failed, each explained: [{"title", "evidence": [...], "advice"}].
    failures = models.JSONField(default=list)
    duration_ms = models.FloatField(null=True, blank=True)
    # {phase: ms} of the final request, when known.
    phases = models.JSONField(default=dict)

    class Meta:
        constraints = [
            # Two beats claiming the same tick of a monitor: one check only.
            models.UniqueConstraint(fields=["monitor", "planned_at"], name="one_check_per_tick")
        ]
        indexes = [
            models.Index(fields=["monitor", "-planned_at"], name="check_monitor_recent"),
            models.Index(fields=["planned_at"], name="check_planned"),  # retention
            models.Index(
                fields=["started_at"],
                name="check_unevaluated",
                condition=models.Q(evaluated_at=None),
            ),
        ]

    def __str__(self) -> str:
        return f"check of {self.monitor_id} planned {self.planned_at:%Y-%m-%d %H:%M:%S}"


class StateChange(models.Model):
    """A monitor went from one state to another, with the run and diagnosis that did it."""

    monitor = models.ForeignKey(Monitor, on_delete=models.CASCADE, related_name="changes")
    check_made = models.ForeignKey(Check, null=True, on_delete=models.SET_NULL, related_name="+")
    run = models.ForeignKey(Run, null=True, on_delete=models.SET_NULL, related_name="+")
    at = models.DateTimeField()
    from_state = models.CharField(max_length=10, choices=State.choices)
    to_state = models.CharField(max_length=10, choices=State.choices)
    diagnosis_code = models.CharField(max_length=80, blank=True)
    diagnosis_title = models.CharField(max_length=200, blank=True)
    reason = models.TextField(blank=True)  # the first failed assertion, explained

    class Meta:
        ordering = ["-at", "-id"]

    def __str__(self) -> str:
        return f"{self.monitor_id}: {self.from_state} -> {self.to_state}"


class Delivery(models.Model):
    """One alert to one channel, retried with backoff until sent or given up."""

    class Kind(models.TextChoices):
        DOWN = "down", "Down"
        REMINDER = "reminder", "Still down"
        RECOVERY = "recovery", "Recovered"
        TEST = "test", "Test alert"
        INCIDENT = "incident", "Incident"

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed"

    channel = models.ForeignKey(AlertChannel, on_delete=models.CASCADE, related_name="deliveries")
    monitor = models.ForeignKey(Monitor, null=True, on_delete=models.SET_NULL, related_name="+")
    change = models.ForeignKey(StateChange, null=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    claimed_at = models.DateTimeField(null=True, blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    # What the alert says (already redacted); the same on every attempt. The team-only
    # share link's URL holds a token, so it is kept apart, encrypted.
    message = models.JSONField(default=dict)
    share_url_encrypted = models.BinaryField(blank=True, default=b"", editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(
                fields=["next_attempt_at"],
                name="delivery_due",
                condition=models.Q(status__in=["pending", "sending"]),
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} alert to {self.channel_id} ({self.status})"


class StatusPage(models.Model):
    """A team's optional public status page: its public monitors' names, states and uptime,
    at an unguessable address that can be changed (which retires the old one)."""

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="status_page")
    key = models.CharField(max_length=64, unique=True)
    title = models.CharField(max_length=100)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"status page of {self.team_id}"


class Incident(models.Model):
    """Several of a team's runs to one host failing with the same diagnosis within the
    window: likely the provider. Open until a run to that host succeeds again."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="incidents")
    host = models.CharField(max_length=255)
    diagnosis_code = models.CharField(max_length=80)
    diagnosis_title = models.CharField(max_length=200, blank=True)
    opened_at = models.DateTimeField()
    closed_at = models.DateTimeField(null=True, blank=True)
    first_failure_at = models.DateTimeField()
    last_failure_at = models.DateTimeField()
    failed_runs = models.PositiveIntegerField(default=0)  # in the window, same diagnosis
    total_runs = models.PositiveIntegerField(default=0)  # to the host, in the window
    members_affected = models.PositiveIntegerField(default=0)

    objects = TeamScopedQuerySet.as_manager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["team", "host"],
                condition=models.Q(closed_at=None),
                name="one_open_incident_per_host",
            )
        ]

    def __str__(self) -> str:
        return f"incident {self.host} ({self.diagnosis_code})"
