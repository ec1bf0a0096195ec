"""What a worker does with an attempt: claim it, note a heartbeat while its request is in
flight, send it, diagnose and store the result (redacted), then retry or settle the run.
A delivery that finds its attempt's worker gone interrupts it or gives up on it. A delivery
past its team's share of runs in flight is published again a moment later (fair share)."""

import contextlib
import functools
import logging
import random
import time
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, cast

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db import InterfaceError as DatabaseInterfaceError
from django.db import OperationalError as DatabaseUnavailable
from django.utils import timezone

from apps.accounts.models import Team
from apps.diagnosis.diagnose import diagnose
from apps.diagnosis.lookups import get_profile, profile_for_url
from apps.diagnosis.results import Diagnosis, DiagnosisContext
from apps.egress.client import Limits, send
from apps.egress.decoding import decode_body
from apps.egress.policy import AddressPolicy
from apps.egress.redaction import REDACTED, SecretValues, redact_data, redact_pairs, redact_url
from apps.egress.types import IDEMPOTENT_METHODS, Exchange, Failure, FailureKind, OutboundRequest
from apps.library.models import SpecProfile
from apps.library.selectors import spec_covering
from apps.runs import recovery, rollups, secrets, statements
from apps.runs.inflight import IN_FLIGHT
from apps.runs.models import Attempt, Run
from apps.runs.phases import FINAL_FIELDS

# Adding an attempt, deciding a retry and settling a run are shared with the user's actions.
from apps.runs.services import add_attempt, decide_retry, enqueue_attempt, settle_run
from apps.runs.statements import (
    column_list,
    db_value,
    from_row,
    prepared_cursor,
    quoted,
    save_fields,
)

logger = logging.getLogger(__name__)

# 429s from the same host within this window tell a sustained overload from a burst.
RATE_LIMIT_HISTORY = timedelta(minutes=10)
# The team's own requests to a host within this window are the evidence on a 429 from an
# API that announces no quota (Kaiko: 6,000 requests per minute per key).
REQUEST_RATE_WINDOW = timedelta(minutes=1)


INTERRUPTED_MESSAGE = (
    "The worker stopped while this {method} was in flight; it may or may not have reached "
    "the server. It was not sent again automatically: check the server's side, then use "
    "Send again if a repeat is harmless."
)
TIMED_OUT_MESSAGE = "The run took longer than the worker's time limit ({limit} s) and was stopped."
GIVEN_UP_MESSAGE = (
    "This run was handed to a worker {deliveries} times and the worker stopped each time, so "
    "it is not tried again. The request itself may be what stops the worker; check it, then "
    "send it again."
)


def recovery_limits() -> recovery.Limits:
    return recovery.Limits(
        stale_after=timedelta(seconds=settings.RUN_STALE_AFTER),
        hard_limit=timedelta(seconds=settings.CELERY_TASK_TIME_LIMIT + 10),
        max_deliveries=settings.RUN_MAX_DELIVERIES,
        queued_after=timedelta(seconds=settings.SWEEP_QUEUED_AFTER),
        republish_after=timedelta(seconds=settings.SWEEP_REPUBLISH_AFTER),
    )


def _state_of(attempt: Attempt) -> recovery.AttemptState:
    return recovery.AttemptState(
        status=attempt.status,
        idempotent=attempt.run.method in IDEMPOTENT_METHODS,
        deliveries=attempt.deliveries,
        created_at=attempt.created_at,
        not_before=attempt.not_before,
        published_at=attempt.published_at,
        started_at=attempt.started_at,
        heartbeat_at=attempt.heartbeat_at,
    )


def claim_attempt(*, attempt_id: uuid.UUID, worker: str = "") -> int | None:
    """Take the attempt for this delivery; its delivery number, or None when this delivery
    must not send the request (see `apps.runs.recovery`).

    A queued attempt is claimed, a running one whose execution is gone is taken over
    (idempotent) or stored as interrupted (not idempotent), each with a conditional update
    on the values read, so that of two deliveries racing, one wins. Past its team's share
    of runs in flight, the attempt is left as it is and published again a moment later.
    """
    claimed = _claim(attempt_id=attempt_id, worker=worker)
    return None if claimed is None else claimed.deliveries


def _claim(*, attempt_id: uuid.UUID, worker: str) -> Attempt | None:
    """`claim_attempt`, giving the claimed attempt (and its run) as now stored. The attempt
    carries `team_has_specs`: whether its team had an OpenAPI profile at the claim.

    Three statements in one transaction: read the attempt and its run, locking the team's
    row (PostgreSQL; SQLite's IMMEDIATE transaction locks the whole file); take the attempt
    with a conditional update whose condition also counts the team's runs in flight (a
    statement of its own after the lock, so that it sees the claims committed before); mark
    the run running (on PostgreSQL, in the update's statement).
    """
    now = timezone.now()
    with transaction.atomic():
        attempt = _read_for_claim(attempt_id)
        if attempt is None:
            logger.warning("attempt %s does not exist; delivery ignored", attempt_id)
            return None
        action = recovery.on_delivery(_state_of(attempt), now=now, limits=recovery_limits())
        taken = False
        if action in {recovery.Action.EXECUTE, recovery.Action.TAKE_OVER}:
            taken = _take(attempt, now=now, worker=worker[:200])
            if not taken and _unchanged(attempt):
                # Nothing else took it: the update's count said the team had no room.
                _wait_for_room(attempt)
                return None
    if action in {recovery.Action.EXECUTE, recovery.Action.TAKE_OVER}:
        if not taken:
            logger.info("attempt %s was taken by another delivery", attempt_id)
            return None
        if action == recovery.Action.TAKE_OVER:
            logger.warning(
                "attempt %s: its worker (%s) stopped; %s is idempotent, sent again (delivery %s)",
                attempt_id,
                attempt.worker or "unknown",
                attempt.run.method,
                attempt.deliveries + 1,
            )
        attempt.status = Attempt.Status.RUNNING
        attempt.started_at = attempt.heartbeat_at = now
        attempt.worker = worker[:200]
        attempt.deliveries += 1
        return attempt
    if action == recovery.Action.INTERRUPT:
        interrupt_attempt(attempt=attempt)
    elif action == recovery.Action.GIVE_UP:
        give_up_attempt(attempt=attempt)
    else:
        logger.info("attempt %s is %s; delivery ignored", attempt_id, attempt.status)
    return None


def _read_for_claim(attempt_id: uuid.UUID) -> Attempt | None:
    """The attempt with its run, whether the team has OpenAPI profiles, and (PostgreSQL)
    the team's row locked until the transaction ends (SQLite's IMMEDIATE transaction locks
    the whole file)."""
    # NO KEY UPDATE: it queues the claims of one team, not the inserts whose foreign key
    # names the team (a submission's run, a rollup's row), which lock it FOR KEY SHARE.
    features = connection.features
    no_key = features.has_select_for_update_of and features.has_select_for_no_key_update
    lock = " FOR NO KEY UPDATE OF t" if no_key else ""
    sql = (
        f"SELECT {column_list('a', Attempt)}, {column_list('r', Run)}, "  # noqa: S608
        f"EXISTS (SELECT 1 FROM {quoted(SpecProfile)} s WHERE s.team_id = r.team_id) "
        f"FROM {quoted(Attempt)} a JOIN {quoted(Run)} r ON r.id = a.run_id "
        f"JOIN {quoted(Team)} t ON t.id = r.team_id WHERE a.id = %s{lock}"
    )
    with prepared_cursor() as cursor:
        cursor.execute(sql, [db_value(Attempt, "id", attempt_id)])
        row = cursor.fetchone()
    if row is None:
        return None
    width = len(statements.concrete_fields(Attempt))
    attempt = from_row(Attempt, row[:width])
    attempt.run = from_row(Run, row[width:-1])
    attempt.team_has_specs = bool(row[-1])  # type: ignore[attr-defined]
    return attempt


def _take(attempt: Attempt, *, now: datetime, worker: str) -> bool:
    """The conditional update of a claim: the attempt as read, and its team under its cap of
    runs in flight (alive ones: an attempt whose worker is gone holds no slot); if taken, its
    run is marked running too (on PostgreSQL, in the same statement)."""
    running = db_value(Attempt, "status", Attempt.Status.RUNNING)
    stamp = db_value(Attempt, "heartbeat_at", now)
    if attempt.heartbeat_at is None:
        beat, beat_params = "heartbeat_at IS NULL", []
    else:
        beat = "heartbeat_at = %s"
        beat_params = [db_value(Attempt, "heartbeat_at", attempt.heartbeat_at)]
    alive_since = now - timedelta(seconds=settings.RUN_STALE_AFTER)
    # The count starts from the attempts running (any team's: at most the workers' threads,
    # found by the `attempt_pending` index) and looks up each one's run by its key: a plan
    # that stays cheap whatever the statistics say. As a join, right after a collection's
    # bulk insert PostgreSQL's statistics still said the team had almost no runs, and it
    # scanned all of them for each attempt (~0.1 s a claim with the team's row locked: the
    # claims of all workers then ran at ~10/s until autovacuum analysed the tables).
    sql = (
        f"UPDATE {quoted(Attempt)} SET status = %s, started_at = %s, heartbeat_at = %s, "  # noqa: S608
        "worker = %s, deliveries = deliveries + 1 "
        f"WHERE id = %s AND status = %s AND deliveries = %s AND {beat} "
        f"AND (SELECT COUNT(*) FROM {quoted(Attempt)} x WHERE x.status = %s "
        f"AND x.heartbeat_at >= %s AND (SELECT y.team_id FROM {quoted(Run)} y "
        "WHERE y.id = x.run_id) = %s) < %s"
    )
    params = [
        running, stamp, stamp, worker,
        db_value(Attempt, "id", attempt.pk), attempt.status, attempt.deliveries, *beat_params,
        running, db_value(Attempt, "heartbeat_at", alive_since),
        db_value(Run, "team", attempt.run.team_id), settings.RUN_TEAM_MAX_IN_FLIGHT,
    ]  # fmt: skip
    one_statement = connection.vendor == "postgresql"
    if one_statement:
        sql = (
            f"WITH taken AS ({sql} RETURNING run_id) "  # noqa: S608
            f"UPDATE {quoted(Run)} SET status = %s WHERE id IN (SELECT run_id FROM taken)"
        )
        params.append(db_value(Run, "status", Run.Status.RUNNING))
    with prepared_cursor() as cursor:
        cursor.execute(sql, params)
        taken = cursor.rowcount == 1
    if taken:
        attempt.run.status = Run.Status.RUNNING
        if not one_statement:
            save_fields(attempt.run, ["status"])
    return taken


def _save_result(attempt: Attempt) -> bool:
    """The result's fields saved on the attempt if it is still this delivery's (same
    `deliveries`, not finished); whether it was."""
    return (
        save_fields(
            attempt,
            RESULT_FIELDS,
            condition="deliveries = %s AND status IN (%s, %s)",
            condition_params=[attempt.deliveries, Attempt.Status.QUEUED, Attempt.Status.RUNNING],
        )
        == 1
    )


def _locked_run(run_id: uuid.UUID) -> Run:
    """The run as now stored, its row locked until the transaction ends (PostgreSQL;
    SQLite's IMMEDIATE transaction locks the whole file)."""
    lock = " FOR UPDATE" if connection.features.has_select_for_update else ""
    sql = f"SELECT {column_list('r', Run)} FROM {quoted(Run)} r WHERE r.id = %s{lock}"  # noqa: S608
    with prepared_cursor() as cursor:
        cursor.execute(sql, [db_value(Run, "id", run_id)])
        row = cursor.fetchone()
    if row is None:
        raise Run.DoesNotExist(run_id)
    return from_row(Run, row)


def _unchanged(attempt: Attempt) -> bool:
    """Whether the attempt is still as the claim read it (status, deliveries, heartbeat):
    asked only when the claim's conditional update took nothing, to tell a team with no
    room (unchanged) from another delivery or its live worker (changed). Counting the team's
    runs again instead would be wrong whenever one of them finished in between: the attempt
    would be taken for claimed by another delivery and never published again."""
    return Attempt.objects.filter(
        pk=attempt.pk,
        status=attempt.status,
        deliveries=attempt.deliveries,
        heartbeat_at=attempt.heartbeat_at,
    ).exists()


def _wait_for_room(attempt: Attempt) -> None:
    """Publish the attempt again a moment later; this delivery ends. The other teams'
    deliveries queued meanwhile go first. If the broker cannot be reached, the attempt stays
    queued and the sweeper publishes it."""
    # Spread over half a wait, so that the waiting attempts do not come back all at once.
    delay = settings.RUN_TEAM_WAIT_SECONDS * random.SystemRandom().uniform(1.0, 1.5)
    logger.info(
        "attempt %s waits: its team has %s runs in flight; again in %.1f s",
        attempt.pk,
        settings.RUN_TEAM_MAX_IN_FLIGHT,
        delay,
    )
    transaction.on_commit(lambda: enqueue_attempt(attempt_id=attempt.pk, delay=delay))


def interrupt_attempt(*, attempt: Attempt) -> bool:
    """Store a running attempt whose worker stopped as interrupted, explained; never re-sent."""
    message = INTERRUPTED_MESSAGE.format(method=attempt.run.method)
    with transaction.atomic():
        done = Attempt.objects.filter(
            pk=attempt.pk, status=Attempt.Status.RUNNING, deliveries=attempt.deliveries
        ).update(
            status=Attempt.Status.INTERRUPTED,
            finished_at=timezone.now(),
            failure_message=message,
        )
        if done:
            settle_run(Run.objects.select_for_update().get(pk=attempt.run_id))
    if done:
        logger.warning(
            "attempt %s of run %s interrupted: its worker (%s) stopped during a %s",
            attempt.number,
            attempt.run_id,
            attempt.worker or "unknown",
            attempt.run.method,
        )
    return bool(done)


def give_up_attempt(*, attempt: Attempt) -> bool:
    """Settle an attempt delivered too many times as failed, explained."""
    run = attempt.run
    exchange = Exchange(
        method=run.method,
        url=run.url,
        request_headers=[],
        response=None,
        failure=Failure(
            kind=FailureKind.OTHER,
            message=GIVEN_UP_MESSAGE.format(deliveries=attempt.deliveries),
        ),
        elapsed_ms=0.0,
    )
    return store_result(attempt=attempt, exchange=exchange, secret_values=[], may_retry=False)


def execute_attempt(*, attempt_id: uuid.UUID, worker: str = "") -> None:
    """Claim the attempt, send the run's request, diagnose the outcome, store it.

    The claim and the save are retried while the database is unreachable (for
    DB_RETRY_SECONDS); if it stays away, the attempt is left running and the sweeper
    settles it once its heartbeat is stale.
    """
    attempt = _retrying("claiming", lambda: _claim(attempt_id=attempt_id, worker=worker))
    if attempt is None:
        return
    delivery = attempt.deliveries  # the guard of the save: nobody took it over since
    run = attempt.run
    with IN_FLIGHT.holding(
        attempt_id=attempt_id,
        delivery=delivery,
        on_overdue=lambda: _store_timed_out(attempt_id=attempt_id, delivery=delivery),
    ):
        try:
            run_secrets = secrets.decrypt(run.secrets_encrypted)
            outbound = _outbound_request(run, run_secrets)
            exchange = _send(outbound)
            _retrying(
                "saving",
                lambda: store_result(
                    attempt=attempt,
                    exchange=exchange,
                    secret_values=run_secrets.values(),
                    team_has_specs=getattr(attempt, "team_has_specs", True),
                ),
            )
        except DatabaseError:
            logger.exception("attempt %s left running: the database stayed away", attempt_id)
            raise
        except Exception as exc:
            # Whatever went wrong, the attempt must not stay "running" with nothing said.
            logger.exception("attempt %s failed inside the worker", attempt_id)
            failure = Failure(
                kind=FailureKind.OTHER,
                message=f"The worker could not complete this run ({type(exc).__name__}). "
                "It was not retried; submit it again once the cause is fixed.",
            )
            exchange = Exchange(
                method=run.method,
                url=run.url,
                request_headers=[],
                response=None,
                failure=failure,
                elapsed_ms=0.0,
            )

            def store_failure() -> bool:
                fresh = Attempt.objects.select_related("run").get(pk=attempt_id)
                fresh.deliveries = delivery
                return store_result(
                    attempt=fresh, exchange=exchange, secret_values=[], may_retry=False
                )

            _retrying("saving", store_failure)


def _retrying[T](what: str, action: Callable[[], T]) -> T:
    """Run a database action again while the database is unreachable, for a bounded time.

    The broken connection is closed before each new try (Django opens a new one). Each
    action is one transaction, so a failed try leaves nothing half-written.
    """
    deadline = time.monotonic() + settings.DB_RETRY_SECONDS
    pause = 0.5
    while True:
        try:
            return action()
        except (DatabaseUnavailable, DatabaseInterfaceError) as exc:
            if time.monotonic() + pause > deadline:
                raise
            logger.warning(
                "database unavailable while %s (%s); trying again in %.1f s",
                what,
                type(exc).__name__,
                pause,
            )
            with contextlib.suppress(DatabaseError):
                connection.close()
            time.sleep(pause)
            pause = min(pause * 2, 5.0)


def _store_timed_out(*, attempt_id: uuid.UUID, delivery: int) -> bool:
    """Store an attempt still in flight past the soft time limit as timed out (from the
    watchdog's thread, `apps.runs.inflight`); the late result of its thread is discarded."""
    attempt = Attempt.objects.select_related("run").get(pk=attempt_id)
    attempt.deliveries = delivery  # the guard of the save: this delivery's, or nothing
    limit = settings.CELERY_TASK_SOFT_TIME_LIMIT
    exchange = Exchange(
        method=attempt.run.method,
        url=attempt.run.url,
        request_headers=[],
        response=None,
        failure=Failure(
            kind=FailureKind.READ_TIMEOUT, message=TIMED_OUT_MESSAGE.format(limit=limit)
        ),
        elapsed_ms=limit * 1000.0,
    )
    return store_result(attempt=attempt, exchange=exchange, secret_values=[], may_retry=False)


def _send(outbound: OutboundRequest) -> Exchange:
    policy = AddressPolicy.from_allowlist(settings.EGRESS_ALLOWLIST)
    limits = Limits(
        max_body_bytes=settings.EGRESS_MAX_BODY_BYTES,
        connect_timeout=settings.EGRESS_CONNECT_TIMEOUT,
    )
    # The extra CA file is read at run time (again when it changes): in development the
    # TLS sandbox makes it after the worker has started.
    return send(
        outbound,
        policy=policy,
        limits=limits,
        extra_ca_bundle=settings.EGRESS_EXTRA_CA_BUNDLE or None,
    )


def _outbound_request(run: Run, run_secrets: secrets.RunSecrets) -> OutboundRequest:
    secret_headers = {name.lower(): value for name, value in run_secrets.headers}
    headers = [
        (name, secret_headers.get(name.lower(), value) if value == REDACTED else value)
        for name, value in run.request_headers
    ]
    if run_secrets.api_key:
        headers.append((secrets.API_KEY_HEADER, run_secrets.api_key))
    secret_params = dict(run_secrets.params)
    params = [
        (name, secret_params.get(name, value) if value == REDACTED else value)
        for name, value in run.query
    ]
    return OutboundRequest(
        method=run.method,
        url=run_secrets.url or run.url,
        params=params,
        headers=headers,
        body=(run_secrets.body or run.request_body).encode(),
        timeout=run.timeout_seconds,
        follow_redirects=run.follow_redirects,
        traceparent=run.send_traceparent,
    )


def _diagnosis_context(run: Run, exchange: Exchange) -> DiagnosisContext:
    """What the diagnosis needs besides the exchange, for a 429: the host's recent 429s,
    and how many requests the team sent to the host in the last minute (the evidence when
    the API sends no rate-limit headers)."""
    if exchange.response is None or exchange.response.status != 429:
        return DiagnosisContext(window_seconds=int(RATE_LIMIT_HISTORY.total_seconds()))
    now = timezone.now()
    to_host = Attempt.objects.filter(run__team_id=run.team_id, run__host=run.host)
    recent = to_host.filter(response_status=429, finished_at__gte=now - RATE_LIMIT_HISTORY)
    window = REQUEST_RATE_WINDOW
    # Attempts started in the window (this one included): each is a request sent.
    sent = to_host.filter(started_at__gte=now - window).count()
    return DiagnosisContext(
        recent_rate_limited=recent.count(),
        window_seconds=int(RATE_LIMIT_HISTORY.total_seconds()),
        recent_requests=sent,
        requests_window_seconds=int(window.total_seconds()),
    )


# What storing a result writes to its attempt.
RESULT_FIELDS = (
    "sent_url", "sent_headers", "redirects", "duration_ms", "outcome", "response_status",
    "response_reason", "response_http_version", "response_headers", "response_body",
    "response_body_truncated", "response_body_bytes", "failure_kind", "failure_detail",
    "failure_message", "diagnosis_code", "diagnosis", "status", "finished_at",
    "spec_version", "hops", *FINAL_FIELDS,
)  # fmt: skip


def store_result(
    *,
    attempt: Attempt,
    exchange: Exchange,
    secret_values: list[str],
    may_retry: bool = True,
    team_has_specs: bool = True,
) -> bool:
    """Save what came back (redacted) with its diagnosis; then retry or finish the run.

    Stored only if the attempt is still this delivery's (same `deliveries`, not finished):
    an execution that was given up for lost and taken over stores nothing. False then.
    `team_has_specs=False` (the team had no OpenAPI profile when the attempt was claimed)
    spares looking for one.
    """
    run = attempt.run
    try:
        profile = get_profile(run.profile)
    except KeyError:
        profile = profile_for_url(run.url)
    # A team's OpenAPI profile covering the URL.
    covering = spec_covering(team_id=run.team_id, url=exchange.url) if team_has_specs else None
    diagnosis = diagnose(
        exchange,
        profile,
        context=_diagnosis_context(run, exchange),
        spec=covering.spec if covering else None,
    )
    attempt.spec_version = covering.version if covering else None
    # Every stored field is cleaned of the run's secrets, in every encoding (the policy).
    values = SecretValues(secret_values)
    diagnosis = Diagnosis.from_dict(cast(dict[str, Any], redact_data(diagnosis.to_dict(), values)))
    clean, clean_pairs = values.redact, functools.partial(redact_pairs, secrets=values)

    attempt.sent_url = redact_url(exchange.url, values)
    attempt.sent_headers = clean_pairs(exchange.request_headers)
    attempt.redirects = [
        [status, redact_url(location, values)] for status, location in exchange.redirects
    ]
    attempt.duration_ms = round(exchange.elapsed_ms, 1)
    # Timings, connection and TLS facts: no request data, cleaned all the same.
    attempt.hops = redact_data([hop.to_dict() for hop in exchange.hops], values)
    attempt.set_final_phases()  # the trends' copy of the final request's timings
    if exchange.response is not None:
        response = exchange.response
        attempt.outcome = Run.Outcome.RESPONSE
        attempt.response_status = response.status
        attempt.response_reason = clean(response.reason)[:200]
        attempt.response_http_version = response.http_version
        attempt.response_headers = clean_pairs(response.headers)
        attempt.response_body = clean(decode_body(response.body, response.header("Content-Type")))
        attempt.response_body_truncated = response.truncated
        attempt.response_body_bytes = len(response.body)
    else:
        assert exchange.failure is not None
        attempt.outcome = Run.Outcome.FAILURE
        attempt.failure_kind = exchange.failure.kind.value
        attempt.failure_detail = clean(exchange.failure.detail)
        attempt.failure_message = clean(exchange.failure.message)
    attempt.diagnosis_code = diagnosis.code
    attempt.diagnosis = diagnosis.to_dict()
    attempt.status = Attempt.Status.DONE
    attempt.finished_at = timezone.now()
    with transaction.atomic():
        if not _save_result(attempt):
            logger.warning(
                "attempt %s: result of delivery %s discarded, the attempt was settled elsewhere",
                attempt.pk,
                attempt.deliveries,
            )
            return False
        run = _locked_run(run.pk)
        counted_before = rollups.counted(run)
        summary = _summarise(run, attempt, diagnosis)
        decision = None
        if (
            may_retry
            and run.retry_policy
            and not run.attempts.filter(status=Attempt.Status.QUEUED).exists()
        ):
            decision = decide_retry(run, diagnosis, attempts_made=attempt.number)
        if decision is not None and decision.retry:
            run.save(update_fields=summary)
            add_attempt(
                run,
                reason=Attempt.Reason.BACKOFF,
                delay=decision.delay,
                wait_reason=decision.reason,
            )
        else:
            if decision is not None and diagnosis.severity != "ok":
                attempt.wait_reason = decision.reason
                attempt.save(update_fields=["wait_reason"])
            settle_run(run, also_save=summary)
        rollups.record_result(before=counted_before, run=run)
    logger.info(
        "attempt %s of run %s done: %s in %.0f ms",
        attempt.number,
        run.id,
        attempt.response_status or attempt.failure_kind,
        exchange.elapsed_ms,
    )
    return True


def _summarise(run: Run, attempt: Attempt, diagnosis: Diagnosis) -> list[str]:
    """Copy the attempt's outcome onto the run; the names of the fields set, to save."""
    run.outcome = attempt.outcome
    run.response_status = attempt.response_status
    run.failure_kind = attempt.failure_kind
    run.diagnosis_code = diagnosis.code
    run.diagnosis_title = diagnosis.title[:200]
    run.severity = diagnosis.severity
    run.duration_ms = attempt.duration_ms
    run.finished_at = attempt.finished_at
    return [
        "outcome", "response_status", "failure_kind", "diagnosis_code",
        "diagnosis_title", "severity", "duration_ms", "finished_at",
    ]  # fmt: skip
