"""Writes of monitors: making one from a run or a saved request, the scheduler's tick, a
check (a normal Run, executed by the worker that took the check), its evaluation and the
state machine, alert channels and the deliveries of their alerts (through apps.egress,
retried with backoff), and the retention of old checks."""

import logging
import math
import secrets as token_secrets
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any, cast

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.diagnosis.lookups import profile_for_url
from apps.diagnosis.results import Diagnosis
from apps.egress.client import Limits, send
from apps.egress.policy import AddressPolicy, TargetRefused, parse_target
from apps.egress.types import OutboundRequest
from apps.library import services as library_services
from apps.library.models import Environment, SavedRequest
from apps.monitors import alerts, assertions, incidents, schedules, state
from apps.monitors.models import AlertChannel, Check, Delivery, Monitor, StateChange, StatusPage
from apps.runs import execution
from apps.runs import secrets as run_secrets
from apps.runs.forms import RunRequest
from apps.runs.models import Attempt, Run
from apps.runs.services import REQUEST_FIELDS, split_secrets, submit_copy
from apps.sharing.models import ShareLink
from apps.sharing.services import create_link
from apps.vault import services as vault_services

logger = logging.getLogger(__name__)

MIN_INTERVAL = 30
MAX_INTERVAL = 24 * 3600
TICK_BATCH = 500
# A check published but not started after this long is published again (a lost message).
CHECK_REPUBLISH_AFTER = timedelta(seconds=60)
# A check whose run finished but was not evaluated (its worker stopped) is evaluated by the
# tick after this long.
CHECK_EVALUATE_AFTER = timedelta(seconds=10)
# A delivery claimed this long ago without an outcome lost its worker: tried again.
DELIVERY_STALE_AFTER = timedelta(seconds=120)
WEBHOOK_TIMEOUT = 10.0


class ChannelRefused(ValueError):
    """A channel target that cannot be used; the message says why, at the field."""


# The library's refusal of a saved request that cannot be sent as it is (a variable with
# no value, a vault secret missing or bound to other hosts): its message says why.
RequestRefused = library_services.RequestRefused


class Keep:
    """An argument left as it is (`KEEP`)."""


KEEP = Keep()


# Monitors ---------------------------------------------------------------------------------


def resolve_saved(
    *, saved: SavedRequest, environment: Environment | None, user: User | None
) -> vault_services.Resolved:
    """The saved request as it is sent now: the collection's variables with the
    environment's over them, then {{vault:NAME}} secrets, by the library's and the vault's
    own path (the one a saved request's Run button takes). RequestRefused says why not."""
    request = library_services.run_request_of(
        saved, variables=library_services.variables_of(saved.collection, environment)
    )
    try:
        # A monitor whose maker has left resolves on no one's behalf (refusals noted so).
        return vault_services.resolve_request(
            team=saved.team, user=cast(User, user), request=request
        )
    except vault_services.VaultRefused as refusal:
        raise RequestRefused(str(refusal)) from None


def request_fields(request: RunRequest) -> dict[str, Any]:
    """A resolved request as the columns a run keeps of it (`REQUEST_FIELDS`): every value
    redacted, the secrets encrypted, split by the runs' own `split_secrets`."""
    stored, kept = split_secrets(request)
    return {
        "method": request.method,
        "url": stored.url,
        "host": stored.host,
        "query": [list(pair) for pair in stored.params],
        "request_headers": [list(pair) for pair in stored.headers],
        "request_body": stored.body,
        "timeout_seconds": request.timeout,
        "follow_redirects": request.follow_redirects,
        "send_traceparent": request.send_traceparent,
        "profile": request.profile or profile_for_url(request.url).slug,
        "has_api_key": bool(request.api_key),
        "secrets_encrypted": run_secrets.encrypt(kept),
    }


def _request_of_monitor(monitor: Monitor) -> tuple[dict[str, Any], list[Any]]:
    """What this check sends (`REQUEST_FIELDS`) and the vault secrets it uses: a copy of
    the run's request, or the saved request and environment as they are now."""
    if not monitor.uses_saved_request:
        return {name: getattr(monitor, name) for name in REQUEST_FIELDS}, []
    if monitor.saved_request is None:
        raise RequestRefused(
            f"The saved request “{monitor.saved_request_name}” this monitor sends was "
            "deleted: make a new monitor from another saved request, or delete this one."
        )
    if monitor.environment is None and monitor.environment_name:
        raise RequestRefused(
            f"The environment “{monitor.environment_name}” this monitor uses was deleted: "
            "choose another one (or none) in the monitor's settings."
        )
    resolved = resolve_saved(
        saved=monitor.saved_request, environment=monitor.environment, user=monitor.created_by
    )
    return request_fields(resolved.request), resolved.used


def first_check_at(monitor: Monitor, now: datetime) -> datetime:
    """A new monitor's first slot: its cron expression's next time plus its jitter, or
    within its interval (at most MONITOR_JITTER_SECONDS), both derived from its id."""
    if monitor.cron:
        return schedules.next_time(monitor.cron, now, monitor.cron_offset)
    span = int(min(float(monitor.interval_seconds), settings.MONITOR_JITTER_SECONDS))
    return now + timedelta(seconds=schedules.offset_of(monitor.id, span))


def create_monitor(
    *,
    team: Team,
    user: User,
    source_run: Run | None = None,
    saved_request: SavedRequest | None = None,
    environment: Environment | None = None,
    name: str,
    interval_seconds: int,
    assertion_list: list[dict[str, Any]],
    failures_to_down: int = 2,
    successes_to_up: int = 1,
    reminder_minutes: int = 0,
    channels: list[AlertChannel] | None = None,
    public: bool = False,
    cron: str = "",
    now: datetime | None = None,
) -> Monitor:
    """A monitor sending either a copy of `source_run`'s request (its secrets included,
    still encrypted) or `saved_request` with `environment`, resolved at each check (what
    it keeps of them is what is shown, no secret); first checked within its jitter window.

    A saved request is resolved once here too, so that one that cannot be sent now is
    refused at once (RequestRefused) rather than by its first check."""
    if (source_run is None) == (saved_request is None):
        raise ValueError("a monitor sends a run's request or a saved request")
    if source_run is not None and environment is not None:
        raise ValueError("an environment goes with a saved request")
    for part in (source_run, saved_request, environment):
        if part is not None and part.team_id != team.pk:
            raise ValueError("the monitor's request is not the team's")
    now = now or timezone.now()
    if source_run is not None:
        request = {name_: getattr(source_run, name_) for name_ in REQUEST_FIELDS}
    else:
        assert saved_request is not None
        resolved = resolve_saved(saved=saved_request, environment=environment, user=user)
        shown = request_fields(resolved.request)
        request = {
            **shown,
            "method": saved_request.method,
            "url": saved_request.url,
            "query": saved_request.query,
            "request_headers": saved_request.request_headers,
            "request_body": saved_request.request_body,
            "has_api_key": saved_request.has_api_key,
            "secrets_encrypted": b"",  # taken from the saved request at each check
        }
    monitor = Monitor(
        team=team,
        created_by=user,
        name=name,
        source_run=source_run,
        saved_request=saved_request,
        saved_request_name=saved_request.name[:200] if saved_request else "",
        environment=environment,
        environment_name=environment.name[:100] if environment else "",
        interval_seconds=interval_seconds,
        assertions=assertion_list,
        failures_to_down=failures_to_down,
        successes_to_up=successes_to_up,
        reminder_minutes=reminder_minutes,
        public=public,
        cron=cron,
        **request,
    )
    monitor.next_check_at = first_check_at(monitor, now)
    with transaction.atomic():
        monitor.save(force_insert=True)
        monitor.channels.set([c for c in channels or [] if c.team_id == team.pk])
    made_from = (
        f"run {source_run.id}" if source_run else f"saved request {monitor.saved_request_id}"
    )
    logger.info("monitor %s made by user %s from %s", monitor.id, user.pk, made_from)
    return monitor


def update_monitor(
    *,
    monitor: Monitor,
    name: str,
    interval_seconds: int,
    assertion_list: list[dict[str, Any]],
    failures_to_down: int,
    successes_to_up: int,
    reminder_minutes: int,
    channels: list[AlertChannel],
    public: bool = False,
    cron: str = "",
    environment: Environment | Keep | None = KEEP,
) -> Monitor:
    """Change a monitor. `environment` is for a monitor of a saved request (a run's copy
    has none): a new one is tried with the saved request first (RequestRefused)."""
    if monitor.uses_saved_request and not isinstance(environment, Keep):
        chosen = environment.pk if environment is not None else None
        if chosen != monitor.environment_id or (environment is None and monitor.environment_name):
            if environment is not None and environment.team_id != monitor.team_id:
                raise ValueError("the environment is not the team's")
            if monitor.saved_request is not None:
                resolve_saved(
                    saved=monitor.saved_request, environment=environment, user=monitor.created_by
                )
            monitor.environment = environment
            monitor.environment_name = environment.name[:100] if environment is not None else ""
    monitor.name = name
    monitor.public = public
    if cron and cron != monitor.cron:
        monitor.next_check_at = schedules.next_time(
            cron, timezone.now(), schedules.cron_jitter(cron, monitor.id)
        )
    monitor.cron = cron
    if interval_seconds != monitor.interval_seconds and monitor.next_check_at is not None:
        monitor.next_check_at = min(
            monitor.next_check_at, timezone.now() + timedelta(seconds=interval_seconds)
        )
    monitor.interval_seconds = interval_seconds
    monitor.assertions = assertion_list
    monitor.failures_to_down = failures_to_down
    monitor.successes_to_up = successes_to_up
    monitor.reminder_minutes = reminder_minutes
    with transaction.atomic():
        monitor.save()
        monitor.channels.set([c for c in channels if c.team_id == monitor.team_id])
    return monitor


def set_paused(*, monitor: Monitor, paused: bool) -> None:
    """Pause (no checks, no alerts) or resume (checked within its interval again)."""
    monitor.paused = paused
    if not paused:
        monitor.next_check_at = timezone.now()
    Monitor.objects.filter(pk=monitor.pk).update(paused=paused, next_check_at=monitor.next_check_at)
    logger.info("monitor %s %s", monitor.id, "paused" if paused else "resumed")


def check_now(*, monitor: Monitor) -> None:
    """Bring the next check forward to the next tick."""
    Monitor.objects.filter(pk=monitor.pk).update(next_check_at=timezone.now())


def delete_monitor(*, monitor: Monitor) -> None:
    """The monitor, its checks and state changes go; its runs stay in the team log."""
    monitor.delete()


def set_status_page(*, team: Team, enabled: bool, rotate: bool = False) -> StatusPage:
    """Turn the team's public status page on or off; `rotate` gives it a new address."""
    page, created = StatusPage.objects.get_or_create(
        team=team, defaults={"key": token_secrets.token_urlsafe(16), "title": team.name[:100]}
    )
    page.enabled = enabled
    if rotate and not created:
        page.key = token_secrets.token_urlsafe(16)
    page.save(update_fields=["enabled", "key"])
    logger.info("status page of team %s %s", team.pk, "on" if enabled else "off")
    return page


# Scheduling (beat) ------------------------------------------------------------------------


def next_slot(
    planned: datetime, interval: int, now: datetime, cron: str = "", offset: int = 0
) -> datetime:
    """The first slot of the schedule after `now` (and after `planned`): missed slots (beat
    or workers down) are skipped, so a monitor is checked once after an outage, not once
    per missed slot. A cron schedule's slots are its times plus the monitor's `offset`."""
    if cron:
        return schedules.next_time(cron, max(planned, now), offset)
    following = planned + timedelta(seconds=interval)
    if following > now:
        return following
    missed = math.floor((now - planned).total_seconds() / interval) + 1
    return planned + timedelta(seconds=interval * missed)


def lookahead() -> timedelta:
    """How far ahead a tick claims slots: to the next tick, and one tick late more. Each
    check is published for its slot's time (the worker holds it until then), so it starts
    on time however coarse the ticks are."""
    return timedelta(seconds=2 * settings.MONITOR_TICK_INTERVAL)


def tick(*, now: datetime | None = None) -> dict[str, int]:
    """Claim the monitors due before the next tick (each with a conditional update on the
    slot read, so two beats never run one slot twice), record their checks and publish
    each for its slot's time; publish again the checks and deliveries the broker lost;
    evaluate checks whose worker stopped."""
    now = now or timezone.now()
    counts = {"checks": 0, "republished": 0, "evaluated": 0, "deliveries": 0}
    # Incidents across the team are looked for on every tick too (apps.monitors.incidents).
    # One transaction for the whole batch (one commit, not one per monitor); each claim is
    # still conditional on the slot read, which is what keeps two beats apart on SQLite,
    # and on PostgreSQL the rows another beat holds are skipped, not waited for.
    with transaction.atomic():
        due = list(
            Monitor.objects.select_for_update(skip_locked=True)
            .filter(paused=False, next_check_at__lte=now + lookahead())
            .order_by("next_check_at")
            .values_list("pk", "next_check_at", "interval_seconds", "cron")[:TICK_BATCH]
        )
        claimed: list[tuple[Any, datetime]] = []
        for pk, planned, interval, cron in due:
            if planned is None:
                continue
            offset = schedules.cron_jitter(cron, pk) if cron else 0
            if Monitor.objects.filter(pk=pk, paused=False, next_check_at=planned).update(
                next_check_at=next_slot(planned, interval, now, cron, offset)
            ):
                claimed.append((pk, planned))
        Check.objects.bulk_create(
            [Check(monitor_id=pk, planned_at=planned) for pk, planned in claimed],
            ignore_conflicts=True,
        )
    wanted = set(claimed)
    made = Check.objects.filter(
        started_at=None, monitor_id__in=[pk for pk, _ in claimed]
    ).values_list("pk", "monitor_id", "planned_at")
    for check_id, monitor_id, planned_at in made:
        if (monitor_id, planned_at) in wanted:
            publish_check(check_id=check_id, eta=planned_at if planned_at > now else None)
            counts["checks"] += 1
    lost = Check.objects.filter(
        started_at=None, planned_at__lte=now - CHECK_REPUBLISH_AFTER
    ).values_list("pk", flat=True)[:TICK_BATCH]
    for check_id in lost:
        counts["republished"] += int(publish_check(check_id=check_id))
    stragglers = Check.objects.filter(
        evaluated_at=None,
        started_at__lte=now - CHECK_EVALUATE_AFTER,
        run__status__in=[Run.Status.DONE, Run.Status.INTERRUPTED],
    ).values_list("pk", flat=True)[:TICK_BATCH]
    for check_id in stragglers:
        counts["evaluated"] += int(evaluate_check(check_id=check_id))
    due_deliveries = Delivery.objects.filter(
        Q(status=Delivery.Status.PENDING, next_attempt_at__lte=now)
        | Q(status=Delivery.Status.SENDING, claimed_at__lte=now - DELIVERY_STALE_AFTER)
    ).values_list("pk", flat=True)[:TICK_BATCH]
    for delivery_id in due_deliveries:
        counts["deliveries"] += int(publish_delivery(delivery_id=delivery_id))
    counts.update(incidents.detect(now=now))
    acted = {name: count for name, count in counts.items() if count}
    if acted:
        logger.info("monitors tick: %s", ", ".join(f"{k} {v}" for k, v in acted.items()))
    return counts


def publish_check(*, check_id: int, eta: datetime | None = None) -> bool:
    """Publish the check, to start at `eta` when given (its slot, a few seconds ahead)."""
    from apps.monitors.tasks import run_check_task

    try:
        if eta is None:
            run_check_task.delay(check_id)
        else:
            run_check_task.apply_async((check_id,), eta=eta)
    except Exception as exc:  # any transport's error: the tick publishes it again
        logger.warning("check %s not published (%s)", check_id, type(exc).__name__)
        return False
    return True


def publish_delivery(*, delivery_id: int) -> bool:
    from apps.monitors.tasks import deliver_task

    try:
        deliver_task.delay(delivery_id)
    except Exception as exc:  # any transport's error: the tick publishes it again
        logger.warning("delivery %s not published (%s)", delivery_id, type(exc).__name__)
        return False
    return True


# A check (worker) ---------------------------------------------------------------------------


def run_check(*, check_id: int, worker: str = "") -> None:
    """Claim the check, send its monitor's request as a normal Run (executed here, through
    the runs pipeline), then evaluate it."""
    now = timezone.now()
    if not Check.objects.filter(pk=check_id, started_at=None).update(started_at=now):
        logger.info("check %s was started by another delivery", check_id)
        return
    check = Check.objects.select_related(
        "monitor__team",
        "monitor__created_by",
        "monitor__saved_request__collection",
        "monitor__saved_request__team",
        "monitor__environment",
    ).get(pk=check_id)
    monitor = check.monitor
    try:
        request, used = _request_of_monitor(monitor)
    except RequestRefused as refusal:
        logger.info("check %s of monitor %s not sent: refused", check_id, monitor.id)
        settle_unsent(check_id=check_id, reason=str(refusal))
        return
    with transaction.atomic():
        run, attempt = submit_copy(
            team=monitor.team, user=monitor.created_by, request=request, publish=False
        )
        Check.objects.filter(pk=check_id).update(run=run)
        if used:
            vault_services.record_use(used=used, user=cast(User, monitor.created_by), run=run)
    execution.execute_attempt(attempt_id=attempt.id, worker=worker)
    evaluate_check(check_id=check_id)


def settle_unsent(*, check_id: int, reason: str) -> bool:
    """A check whose request could not be composed (a saved request or environment that
    was deleted, a variable with no value, a vault secret refused): a failure, explained,
    seen by the state machine like any other. No run: nothing was sent."""
    failure = {
        "assertion": "",
        "title": f"The request was not sent. {reason}"[:500],
        "evidence": [],
        "advice": "Fix the saved request, its environment or the vault secret it names: "
        "the next check sends them as they are then.",
    }
    return _settle(check_id=check_id, failures=[failure], run=None, attempt=None, phases={})


def observe(attempt: Attempt) -> assertions.Observation:
    facts = attempt.facts()
    final = facts.final
    phases: dict[str, float] = {}
    cert_days: int | None = None
    if final is not None:
        if final.timings is not None:
            for name in assertions.TIME_PHASES[1:]:
                value = final.timings.phase(name)
                if value is not None:
                    phases[name] = value
        leaf = final.tls.leaf if final.tls is not None else None
        cert_days = leaf.days_left if leaf is not None else None
    failure = attempt.failure_message or attempt.failure_kind
    return assertions.Observation(
        status=attempt.response_status if attempt.outcome == Run.Outcome.RESPONSE else None,
        headers=[(str(n), str(v)) for n, v in attempt.response_headers],
        body=attempt.response_body,
        total_ms=attempt.duration_ms,
        phases=phases,
        cert_days_left=cert_days,
        failure=failure or ("The worker stopped during the check." if not attempt.outcome else ""),
    )


def evaluate_check(*, check_id: int) -> bool:
    """Apply the assertions to the check's finished run and move the monitor's state; once
    per check (a conditional claim), whoever gets there first. False when not done now."""
    check = Check.objects.select_related("run", "monitor").filter(pk=check_id).first()
    if check is None or check.run is None or not check.run.is_finished:
        return False
    run = check.run
    attempt = run.attempts.exclude(status=Attempt.Status.CANCELLED).order_by("-number").first()
    if attempt is None:
        return False
    seen = observe(attempt)
    failures = [f.to_dict() for f in assertions.evaluate(check.monitor.assertions, seen)]
    if attempt.status != Attempt.Status.DONE and not failures:
        failures = [
            {
                "assertion": "",
                "title": "The check did not complete",
                "evidence": [attempt.failure_message[:200]],
                "advice": "See the run.",
            }
        ]
    return _settle(
        check_id=check_id, failures=failures, run=run, attempt=attempt, phases=seen.phases
    )


def _settle(
    *,
    check_id: int,
    failures: list[dict[str, Any]],
    run: Run | None,
    attempt: Attempt | None,
    phases: dict[str, float],
) -> bool:
    """Record the check's outcome once (a conditional claim) and move its monitor's state,
    recording a change and queueing its alerts. False when another got there first."""
    now = timezone.now()
    with transaction.atomic():
        claimed = Check.objects.filter(pk=check_id, evaluated_at=None).update(
            evaluated_at=now,
            passed=not failures,
            failures=failures,
            duration_ms=attempt.duration_ms if attempt is not None else None,
            phases=phases,
        )
        if not claimed:
            return False
        check = Check.objects.get(pk=check_id)
        monitor = Monitor.objects.select_for_update().get(pk=check.monitor_id)
        before = state.Counters(
            monitor.state, monitor.consecutive_failures, monitor.consecutive_successes
        )
        after = state.step(
            before,
            passed=not failures,
            failures_to_down=monitor.failures_to_down,
            successes_to_up=monitor.successes_to_up,
        )
        monitor.state = after.state
        monitor.consecutive_failures = after.failures
        monitor.consecutive_successes = after.successes
        monitor.last_check_at = now
        diagnosis = (
            Diagnosis.from_dict(attempt.diagnosis)
            if attempt is not None and attempt.diagnosis
            else None
        )
        change = None
        if after.state != before.state:
            change = StateChange.objects.create(
                monitor=monitor,
                check_made=check,
                run=run,
                at=now,
                from_state=before.state,
                to_state=after.state,
                diagnosis_code=diagnosis.code if diagnosis else "",
                diagnosis_title=(diagnosis.title if diagnosis else "")[:200],
                reason=failures[0]["title"] if failures else "",
            )
        event = state.alert_for(before.state, after.state)
        if (
            not event
            and monitor.state == state.DOWN
            and monitor.reminder_minutes
            and monitor.last_alert_at is not None
            and now - monitor.last_alert_at >= timedelta(minutes=monitor.reminder_minutes)
        ):
            event = "reminder"
        if event:
            monitor.last_alert_at = now
            _queue_alerts(
                monitor=monitor,
                event=event,
                change=change,
                run=run,
                attempt=attempt,
                diagnosis=diagnosis,
                failures=failures,
                from_state=before.state,
                to_state=after.state,
            )
        monitor.save(
            update_fields=[
                "state",
                "consecutive_failures",
                "consecutive_successes",
                "last_check_at",
                "last_alert_at",
            ]
        )
    if change is not None:
        logger.info(
            "monitor %s: %s -> %s (run %s)",
            monitor.id,
            before.state,
            after.state,
            run.id if run is not None else "none: not sent",
        )
    return True


def _status_text(attempt: Attempt | None) -> str:
    if attempt is None:
        return "Not sent"
    if attempt.outcome == Run.Outcome.RESPONSE:
        return f"{attempt.response_status} {attempt.response_reason}".strip()
    return f"No response ({attempt.failure_kind or 'not finished'})"


def _queue_alerts(
    *,
    monitor: Monitor,
    event: str,
    change: StateChange | None,
    run: Run | None,
    attempt: Attempt | None,
    diagnosis: Diagnosis | None,
    failures: list[dict[str, Any]],
    from_state: str,
    to_state: str,
) -> None:
    channels = list(monitor.channels.all())
    if not channels:
        return
    message = alerts.build_message(
        event=event,
        monitor_name=monitor.name,
        monitor_url=settings.SITE_URL + reverse("monitors:detail", args=[monitor.pk]),
        from_state=from_state,
        to_state=to_state,
        status=_status_text(attempt),
        diagnosis=diagnosis,
        failures=failures,
        # Stored redacted; a check that sent nothing has its refusal instead.
        excerpt=(
            (attempt.response_body or attempt.failure_message)
            if attempt is not None
            else failures[0]["title"]
        ),
        run_url=settings.SITE_URL + reverse("runs:detail", args=[run.pk]) if run else "",
        at=timezone.now().isoformat(),
    )
    share_url = ""
    if monitor.created_by is not None and run is not None and event != "recovery":
        _, token = create_link(
            run=run,
            created_by=monitor.created_by,
            visibility=ShareLink.Visibility.TEAM,
            lifetime=None,
        )
        share_url = settings.SITE_URL + reverse("sharing:shared", args=[token])
    queue_deliveries(
        channels=channels,
        kind=event,
        message=message,
        share_url=share_url,
        monitor=monitor,
        change=change,
    )


def queue_deliveries(
    *,
    channels: list[AlertChannel],
    kind: str,
    message: dict[str, Any],
    share_url: str,
    monitor: Monitor | None,
    change: StateChange | None,
) -> list[Delivery]:
    encrypted = run_secrets.fernet().encrypt(share_url.encode()) if share_url else b""
    made = []
    for channel in channels:
        delivery = Delivery.objects.create(
            channel=channel,
            monitor=monitor,
            change=change,
            kind=kind,
            message=message,
            share_url_encrypted=encrypted,
            next_attempt_at=timezone.now(),
        )
        transaction.on_commit(partial(publish_delivery, delivery_id=delivery.pk))
        made.append(delivery)
    return made


# Retention ------------------------------------------------------------------------------------

PURGE_BATCH = 500
PURGE_MAX_BATCHES = 40  # per call: the next call (beat, hourly) goes on from there


def purge_old_checks(
    *, now: datetime | None = None, batch: int = PURGE_BATCH, max_batches: int = PURGE_MAX_BATCHES
) -> dict[str, int]:
    """Delete the checks planned more than MONITOR_RETENTION_DAYS ago, `batch` at a time
    (one short transaction each), with their runs when the check alone made use of them.

    Kept: every check and run a StateChange names (the incident timeline keeps its runs and
    diagnoses), and runs that became more than a check's: shared, saved to the library,
    the source of a monitor or of another run (a retry, a fix tried)."""
    counts = {"checks": 0, "runs": 0}
    days = settings.MONITOR_RETENTION_DAYS
    if days <= 0:
        return counts
    cutoff = (now or timezone.now()) - timedelta(days=days)
    kept_checks = StateChange.objects.filter(check_made__isnull=False).values("check_made_id")
    kept_runs = StateChange.objects.filter(run__isnull=False).values("run_id")
    old = (
        Check.objects.filter(planned_at__lt=cutoff)
        .exclude(pk__in=kept_checks)
        .exclude(run__in=kept_runs)
        .order_by("planned_at", "pk")
    )
    for _ in range(max_batches):
        rows = list(old.values_list("pk", "run_id")[:batch])
        if not rows:
            break
        run_ids = [run_id for _, run_id in rows if run_id is not None]
        with transaction.atomic():
            counts["checks"] += (
                Check.objects.filter(pk__in=[pk for pk, _ in rows])
                .delete()[1]
                .get("monitors.Check", 0)
            )
            only_the_checks = (
                Run.objects.filter(pk__in=run_ids)
                .exclude(pk__in=kept_runs)
                .filter(share_links=None, saved_from=None)
                .exclude(pk__in=Monitor.objects.filter(source_run__in=run_ids).values("source_run"))
                .exclude(pk__in=Run.objects.filter(source__in=run_ids).values("source"))
            )
            counts["runs"] += only_the_checks.delete()[1].get("runs.Run", 0)
        if len(rows) < batch:
            break
    if counts["checks"]:
        logger.info(
            "monitors retention: %s checks and %s runs older than %s days deleted",
            counts["checks"],
            counts["runs"],
            days,
        )
    return counts


# Channels and deliveries ------------------------------------------------------------------


def check_webhook_url(url: str) -> None:
    """ChannelRefused unless the URL may be reached by the workers (the egress policy)."""
    try:
        target = parse_target(url)
        AddressPolicy.from_allowlist(settings.EGRESS_ALLOWLIST).check(target)
    except TargetRefused as exc:
        raise ChannelRefused(exc.message) from None


def create_channel(
    *, team: Team, user: User, name: str, kind: str, target: str, incident_alerts: bool = False
) -> tuple[AlertChannel, str]:
    """A new channel and, for a generic webhook, its signing key (shown once)."""
    if kind != AlertChannel.Kind.EMAIL:
        check_webhook_url(target)
        hint = (parse_target(target).host + "/…")[:120]
    else:
        hint = target[:120]
    key = token_secrets.token_urlsafe(32) if kind == AlertChannel.Kind.WEBHOOK else ""
    fernet = run_secrets.fernet()
    channel = AlertChannel.objects.create(
        team=team,
        created_by=user,
        name=name,
        kind=kind,
        target_encrypted=fernet.encrypt(target.encode()),
        target_hint=hint,
        incident_alerts=incident_alerts,
        signing_key_encrypted=fernet.encrypt(key.encode()) if key else b"",
    )
    logger.info("alert channel %s (%s) made by user %s", channel.id, kind, user.pk)
    return channel, key


def send_test_alert(*, channel: AlertChannel) -> Delivery:
    message = alerts.build_message(
        event="test",
        monitor_name=channel.name,
        monitor_url=settings.SITE_URL + reverse("monitors:channel", args=[channel.pk]),
        from_state="up",
        to_state="up",
        status="",
        diagnosis=None,
        failures=[],
        excerpt="",
        run_url="",
        at=timezone.now().isoformat(),
    )
    message["what_to_do"] = "Nothing: this channel works."
    with transaction.atomic():
        (delivery,) = queue_deliveries(
            channels=[channel],
            kind=Delivery.Kind.TEST,
            message=message,
            share_url="",
            monitor=None,
            change=None,
        )
    return delivery


def backoff_seconds(attempts: int) -> float:
    return float(min(settings.ALERT_BACKOFF_CAP, settings.ALERT_BACKOFF_BASE * 2 ** (attempts - 1)))


def deliver(*, delivery_id: int) -> str:
    """Send one delivery (claimed with a conditional update); on failure schedule the next
    try with backoff until ALERT_MAX_ATTEMPTS. Its new status."""
    row = Delivery.objects.filter(pk=delivery_id).values("status", "attempts", "claimed_at").first()
    if row is None or row["status"] in (Delivery.Status.SENT, Delivery.Status.FAILED):
        return row["status"] if row else "missing"
    now = timezone.now()
    stale = row["claimed_at"] is None or row["claimed_at"] <= now - DELIVERY_STALE_AFTER
    if row["status"] == Delivery.Status.SENDING and not stale:
        return str(row["status"])
    claimed = Delivery.objects.filter(
        pk=delivery_id, status=row["status"], attempts=row["attempts"]
    ).update(status=Delivery.Status.SENDING, claimed_at=now, attempts=row["attempts"] + 1)
    if not claimed:
        return "taken"
    delivery = Delivery.objects.select_related("channel").get(pk=delivery_id)
    ok, code, error = _send_to_channel(delivery)
    if ok:
        Delivery.objects.filter(pk=delivery_id).update(
            status=Delivery.Status.SENT,
            sent_at=timezone.now(),
            response_status=code,
            last_error="",
        )
        logger.info("delivery %s to channel %s sent", delivery_id, delivery.channel_id)
        return Delivery.Status.SENT
    give_up = delivery.attempts >= settings.ALERT_MAX_ATTEMPTS
    Delivery.objects.filter(pk=delivery_id).update(
        status=Delivery.Status.FAILED if give_up else Delivery.Status.PENDING,
        response_status=code,
        last_error=error[:300],
        next_attempt_at=None
        if give_up
        else timezone.now() + timedelta(seconds=backoff_seconds(delivery.attempts)),
    )
    logger.warning(
        "delivery %s to channel %s failed (try %s): %s",
        delivery_id,
        delivery.channel_id,
        delivery.attempts,
        error[:200],
    )
    return Delivery.Status.FAILED if give_up else Delivery.Status.PENDING


def _send_to_channel(delivery: Delivery) -> tuple[bool, int | None, str]:
    channel = delivery.channel
    fernet = run_secrets.fernet()
    target = fernet.decrypt(bytes(channel.target_encrypted)).decode()
    share_url = (
        fernet.decrypt(bytes(delivery.share_url_encrypted)).decode()
        if delivery.share_url_encrypted
        else ""
    )
    if channel.kind == AlertChannel.Kind.EMAIL:
        recipients = [address.strip() for address in target.split(",") if address.strip()]
        try:
            send_mail(
                subject=f"[{delivery.message['state']}] {delivery.message['headline']}",
                message=alerts.as_text(delivery.message, share_url),
                from_email=None,
                recipient_list=recipients,
            )
        except Exception as exc:  # SMTP errors of every kind: retried with backoff
            return False, None, f"The email could not be sent ({type(exc).__name__})."
        return True, None, ""
    key = (
        fernet.decrypt(bytes(channel.signing_key_encrypted))
        if channel.signing_key_encrypted
        else b""
    )
    outgoing = alerts.outgoing(
        kind=channel.kind,
        message=delivery.message,
        share_url=share_url,
        signing_key=key,
        now=int(time.time()),
    )
    exchange = send(
        OutboundRequest(
            method="POST",
            url=target,
            headers=outgoing.headers,
            body=outgoing.body,
            timeout=WEBHOOK_TIMEOUT,
        ),
        policy=AddressPolicy.from_allowlist(settings.EGRESS_ALLOWLIST),
        limits=Limits(max_body_bytes=16 * 1024, connect_timeout=settings.EGRESS_CONNECT_TIMEOUT),
    )
    if exchange.response is None:
        assert exchange.failure is not None
        # The failure message may name the URL's host, never its path (where tokens live).
        return False, None, exchange.failure.message.replace(target, channel.target_hint)
    status = exchange.response.status
    if 200 <= status < 300:
        return True, status, ""
    return False, status, f"The receiver answered {status}."
