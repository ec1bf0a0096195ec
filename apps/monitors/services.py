"""Writes of monitors: making one from a run, the scheduler's tick, a check (a normal Run,
executed by the worker that took the check), its evaluation and the state machine, alert
channels and the deliveries of their alerts (through apps.egress, retried with backoff)."""

import logging
import math
import random
import secrets as token_secrets
import time
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import Team
from apps.diagnosis.results import Diagnosis
from apps.egress.client import Limits, send
from apps.egress.policy import AddressPolicy, TargetRefused, parse_target
from apps.egress.types import OutboundRequest
from apps.monitors import alerts, assertions, incidents, schedules, state
from apps.monitors.models import AlertChannel, Check, Delivery, Monitor, StateChange, StatusPage
from apps.runs import execution
from apps.runs import secrets as run_secrets
from apps.runs.models import Attempt, Run
from apps.runs.services import REQUEST_FIELDS, submit_copy
from apps.sharing.models import ShareLink
from apps.sharing.services import create_link

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


# Monitors ---------------------------------------------------------------------------------


def create_monitor(
    *,
    team: Team,
    user: User,
    source_run: Run,
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
    """A monitor sending a copy of `source_run`'s request (its secrets included, still
    encrypted), first checked within its jitter window."""
    if source_run.team_id != team.pk:
        raise ValueError("the run is not the team's")
    now = now or timezone.now()
    request = {name_: getattr(source_run, name_) for name_ in REQUEST_FIELDS}
    jitter = random.SystemRandom().uniform(
        0, min(float(interval_seconds), settings.MONITOR_JITTER_SECONDS)
    )
    with transaction.atomic():
        monitor = Monitor.objects.create(
            team=team,
            created_by=user,
            name=name,
            source_run=source_run,
            interval_seconds=interval_seconds,
            assertions=assertion_list,
            failures_to_down=failures_to_down,
            successes_to_up=successes_to_up,
            reminder_minutes=reminder_minutes,
            public=public,
            cron=cron,
            next_check_at=(
                schedules.next_time(cron, now) if cron else now + timedelta(seconds=jitter)
            ),
            **request,
        )
        monitor.channels.set([c for c in channels or [] if c.team_id == team.pk])
    logger.info("monitor %s made by user %s from run %s", monitor.id, user.pk, source_run.id)
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
) -> Monitor:
    monitor.name = name
    monitor.public = public
    if cron and cron != monitor.cron:
        monitor.next_check_at = schedules.next_time(cron, timezone.now())
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


def next_slot(planned: datetime, interval: int, now: datetime, cron: str = "") -> datetime:
    """The first slot of the schedule after `now`: missed slots (beat or workers down) are
    skipped, so a monitor is checked once after an outage, not once per missed slot."""
    if cron:
        return schedules.next_time(cron, max(planned, now))
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
            if Monitor.objects.filter(pk=pk, paused=False, next_check_at=planned).update(
                next_check_at=next_slot(planned, interval, now, cron)
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
    check = Check.objects.select_related("monitor").get(pk=check_id)
    monitor = check.monitor
    request = {name: getattr(monitor, name) for name in REQUEST_FIELDS}
    with transaction.atomic():
        run, attempt = submit_copy(
            team=monitor.team, user=monitor.created_by, request=request, publish=False
        )
        Check.objects.filter(pk=check_id).update(run=run)
    execution.execute_attempt(attempt_id=attempt.id, worker=worker)
    evaluate_check(check_id=check_id)


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
    failures = [
        f.to_dict() for f in assertions.evaluate(check.monitor.assertions, observe(attempt))
    ]
    if attempt.status != Attempt.Status.DONE and not failures:
        failures = [
            {
                "assertion": "",
                "title": "The check did not complete",
                "evidence": [attempt.failure_message[:200]],
                "advice": "See the run.",
            }
        ]
    now = timezone.now()
    seen = observe(attempt)
    with transaction.atomic():
        claimed = Check.objects.filter(pk=check_id, evaluated_at=None).update(
            evaluated_at=now,
            passed=not failures,
            failures=failures,
            duration_ms=attempt.duration_ms,
            phases=seen.phases,
        )
        if not claimed:
            return False
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
        diagnosis = Diagnosis.from_dict(attempt.diagnosis) if attempt.diagnosis else None
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
        logger.info("monitor %s: %s -> %s (run %s)", monitor.id, before.state, after.state, run.id)
    return True


def _status_text(attempt: Attempt) -> str:
    if attempt.outcome == Run.Outcome.RESPONSE:
        return f"{attempt.response_status} {attempt.response_reason}".strip()
    return f"No response ({attempt.failure_kind or 'not finished'})"


def _queue_alerts(
    *,
    monitor: Monitor,
    event: str,
    change: StateChange | None,
    run: Run,
    attempt: Attempt,
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
        excerpt=attempt.response_body or attempt.failure_message,  # stored redacted
        run_url=settings.SITE_URL + reverse("runs:detail", args=[run.pk]),
        at=timezone.now().isoformat(),
    )
    share_url = ""
    if monitor.created_by is not None and event != "recovery":
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
