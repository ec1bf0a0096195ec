"""Writes to runs: submitting one, executing its attempts on a worker, retrying, re-running."""

import logging
import random
import uuid
from datetime import timedelta
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from kombu.exceptions import OperationalError

from apps.accounts.models import Team
from apps.diagnosis.catalog import get_profile, profile_for_url
from apps.diagnosis.rules import Diagnosis, DiagnosisContext, diagnose
from apps.egress.client import Limits, send
from apps.egress.policy import AddressPolicy
from apps.egress.redaction import (
    REDACTED,
    is_secret_header,
    is_secret_param,
    redact_body,
    redact_text,
    split_secret_pairs,
)
from apps.egress.types import Exchange, Failure, FailureKind, OutboundRequest
from apps.runs import backoff, secrets
from apps.runs.forms import RunRequest
from apps.runs.models import Attempt, Run

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-Api-Key"
# 429s from the same host within this window tell a sustained overload from a burst.
RATE_LIMIT_HISTORY = timedelta(minutes=10)


class ActionRefused(Exception):
    """An action on a run that cannot be done now; the message says why, to the user."""


def default_retry_policy() -> backoff.RetryPolicy:
    return backoff.RetryPolicy(
        base=settings.RETRY_BACKOFF_BASE,
        cap=settings.RETRY_BACKOFF_CAP,
        max_attempts=settings.RETRY_MAX_ATTEMPTS,
        max_wait=settings.RETRY_MAX_WAIT,
    )


# Submitting -----------------------------------------------------------------------------


def submit_run(
    *,
    team: Team,
    user: AbstractBaseUser,
    request: RunRequest,
    source: Run | None = None,
) -> Run:
    """Store a new run (secrets encrypted) with its first attempt, enqueued on commit.

    With a `source` run (edit and re-run, re-authenticate), values the user left as
    "[redacted]" and an empty key with `request.keep_api_key` take the source's secrets.
    """
    request = _restore_secrets(request, source) if source is not None else request
    request = _move_secret_query_to_params(request)
    shown_headers, secret_headers = split_secret_pairs(request.headers, is_secret=is_secret_header)
    shown_params, secret_params = split_secret_pairs(request.params, is_secret=is_secret_param)
    content_type = next((v for n, v in request.headers if n.lower() == "content-type"), "")
    shown_body, body_values = redact_body(request.body, content_type)
    run_secrets = secrets.RunSecrets(
        api_key=request.api_key,
        headers=secret_headers,
        params=secret_params,
        body=request.body if body_values else "",
        body_values=body_values,
    )
    profile = request.profile or profile_for_url(request.url).slug
    policy = default_retry_policy().to_dict() if request.auto_retry else {}
    with transaction.atomic():
        run = Run.objects.create(
            team=team,
            created_by=user,
            source=source,
            method=request.method,
            url=_redact_url(request.url),
            host=_host_of(request.url),
            query=[list(pair) for pair in shown_params],
            request_headers=[list(pair) for pair in shown_headers],
            request_body=redact_text(shown_body, run_secrets.values()),
            timeout_seconds=request.timeout,
            follow_redirects=request.follow_redirects,
            profile=profile,
            has_api_key=bool(request.api_key),
            secrets_encrypted=secrets.encrypt(run_secrets),
            retry_policy=policy,
        )
        _add_attempt(run, reason=Attempt.Reason.FIRST)
    logger.info("run %s submitted by user %s: %s %s", run.id, user.pk, run.method, run.host)
    return run


def _move_secret_query_to_params(request: RunRequest) -> RunRequest:
    """A URL whose query string holds a secret gives its query to the parameters, which
    keep secrets encrypted; the URL is stored without it."""
    parts = urlsplit(request.url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret_param(name) for name, _ in pairs):
        return request
    return RunRequest(
        **{
            **request.__dict__,
            "url": urlunsplit(parts._replace(query="")),
            "params": pairs + list(request.params),
        }
    )


def _restore_secrets(request: RunRequest, source: Run) -> RunRequest:
    kept = secrets.decrypt(source.secrets_encrypted)
    kept_headers = {name.lower(): value for name, value in kept.headers}
    kept_params = dict(kept.params)
    headers = [
        (name, kept_headers.get(name.lower(), value) if value == REDACTED else value)
        for name, value in request.headers
    ]
    params = [
        (name, kept_params.get(name, value) if value == REDACTED else value)
        for name, value in request.params
    ]
    api_key = request.api_key or (kept.api_key if request.keep_api_key else "")
    # An unchanged body whose secrets were redacted is sent as it was first composed.
    body = kept.body if kept.body and request.body == source.request_body else request.body
    return RunRequest(
        **{
            **request.__dict__,
            "headers": headers,
            "params": params,
            "api_key": api_key,
            "body": body,
        }
    )


def _add_attempt(run: Run, *, reason: str, delay: float = 0.0, wait_reason: str = "") -> Attempt:
    """Create the run's next attempt and publish it once the transaction commits."""
    number = run.attempts.count() + 1
    not_before = timezone.now() + timedelta(seconds=delay) if delay else None
    attempt = Attempt.objects.create(
        run=run, number=number, reason=reason, not_before=not_before, wait_reason=wait_reason
    )
    run.attempt_count = number
    run.status = Run.Status.WAITING if delay else Run.Status.QUEUED
    run.save(update_fields=["attempt_count", "status"])
    transaction.on_commit(lambda: enqueue_attempt(attempt_id=attempt.id, delay=delay))
    return attempt


def enqueue_attempt(*, attempt_id: uuid.UUID, delay: float = 0.0) -> bool:
    """Publish an attempt to the broker: its id only. A broker outage leaves it queued."""
    from apps.runs.tasks import execute_attempt_task

    try:
        execute_attempt_task.apply_async((str(attempt_id),), countdown=delay or None)
    except OperationalError:
        logger.exception("attempt %s stays queued: the broker could not be reached", attempt_id)
        return False
    return True


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "")[:255]
    except ValueError:
        return ""


def _redact_url(url: str) -> str:
    """The URL with the values of secret-looking query parameters replaced."""
    parts = urlsplit(url)
    if not parts.query:
        return url
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    if not any(is_secret_param(name) for name, _ in pairs):
        return url
    query = urlencode(
        [(name, REDACTED if is_secret_param(name) else value) for name, value in pairs], safe="[]"
    )
    return urlunsplit(parts._replace(query=query))


# Executing (on a worker) ------------------------------------------------------------------


def claim_attempt(*, attempt_id: uuid.UUID) -> bool:
    """Move the attempt from queued to running; False if cancelled or already taken."""
    now = timezone.now()
    claimed = Attempt.objects.filter(pk=attempt_id, status=Attempt.Status.QUEUED).update(
        status=Attempt.Status.RUNNING, started_at=now, deliveries=F("deliveries") + 1
    )
    if claimed:
        Run.objects.filter(attempts=attempt_id).update(status=Run.Status.RUNNING)
    return claimed == 1


def execute_attempt(*, attempt_id: uuid.UUID) -> None:
    """Claim the attempt, send the run's request, diagnose the outcome, store it."""
    if not claim_attempt(attempt_id=attempt_id):
        logger.info("attempt %s was not queued any more; delivery ignored", attempt_id)
        return
    attempt = Attempt.objects.select_related("run").get(pk=attempt_id)
    run = attempt.run
    try:
        run_secrets = secrets.decrypt(run.secrets_encrypted)
        outbound = _outbound_request(run, run_secrets)
        exchange = _send(attempt, outbound)
        store_result(attempt=attempt, exchange=exchange, secret_values=run_secrets.values())
    except Exception as exc:
        # Whatever went wrong, the attempt must not stay "running" with nothing said about it.
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
        fresh = Attempt.objects.select_related("run").get(pk=attempt_id)
        store_result(attempt=fresh, exchange=exchange, secret_values=[], may_retry=False)


def _send(attempt: Attempt, outbound: OutboundRequest) -> Exchange:
    policy = AddressPolicy.from_allowlist(settings.EGRESS_ALLOWLIST)
    limits = Limits(
        max_body_bytes=settings.EGRESS_MAX_BODY_BYTES,
        connect_timeout=settings.EGRESS_CONNECT_TIMEOUT,
    )
    try:
        # The extra CA file is read at run time (again when it changes): in development the
        # TLS sandbox makes it after the worker has started.
        return send(
            outbound,
            policy=policy,
            limits=limits,
            extra_ca_bundle=settings.EGRESS_EXTRA_CA_BUNDLE or None,
        )
    except SoftTimeLimitExceeded:
        started = attempt.started_at or timezone.now()
        return Exchange(
            method=outbound.method,
            url=outbound.url,
            request_headers=outbound.headers,
            response=None,
            failure=Failure(
                kind=FailureKind.READ_TIMEOUT,
                message="The run took longer than the worker's time limit and was stopped.",
            ),
            elapsed_ms=(timezone.now() - started).total_seconds() * 1000,
        )


def _outbound_request(run: Run, run_secrets: secrets.RunSecrets) -> OutboundRequest:
    secret_headers = {name.lower(): value for name, value in run_secrets.headers}
    headers = [
        (name, secret_headers.get(name.lower(), value) if value == REDACTED else value)
        for name, value in run.request_headers
    ]
    if run_secrets.api_key:
        headers.append((API_KEY_HEADER, run_secrets.api_key))
    secret_params = dict(run_secrets.params)
    params = [
        (name, secret_params.get(name, value) if value == REDACTED else value)
        for name, value in run.query
    ]
    return OutboundRequest(
        method=run.method,
        url=run.url,
        params=params,
        headers=headers,
        body=(run_secrets.body or run.request_body).encode(),
        timeout=run.timeout_seconds,
        follow_redirects=run.follow_redirects,
    )


def _diagnosis_context(run: Run) -> DiagnosisContext:
    since = timezone.now() - RATE_LIMIT_HISTORY
    recent = Attempt.objects.filter(
        run__team_id=run.team_id,
        run__host=run.host,
        response_status=429,
        finished_at__gte=since,
    ).count()
    return DiagnosisContext(
        recent_rate_limited=recent, window_seconds=int(RATE_LIMIT_HISTORY.total_seconds())
    )


def store_result(
    *, attempt: Attempt, exchange: Exchange, secret_values: list[str], may_retry: bool = True
) -> None:
    """Save what came back (redacted) with its diagnosis; then retry or finish the run."""
    run = attempt.run
    try:
        profile = get_profile(run.profile)
    except KeyError:
        profile = profile_for_url(run.url)
    diagnosis = diagnose(exchange, profile, context=_diagnosis_context(run))

    def clean(text: str) -> str:
        return redact_text(text, secret_values)

    def clean_pairs(pairs: list[tuple[str, str]]) -> list[list[str]]:
        return [
            [name, REDACTED if is_secret_header(name) else clean(value)] for name, value in pairs
        ]

    attempt.sent_url = clean(_redact_url(exchange.url))
    attempt.sent_headers = clean_pairs(exchange.request_headers)
    attempt.redirects = [
        [status, clean(_redact_url(location))] for status, location in exchange.redirects
    ]
    attempt.duration_ms = round(exchange.elapsed_ms, 1)
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
        attempt.failure_detail = exchange.failure.detail
        attempt.failure_message = clean(exchange.failure.message)
    attempt.diagnosis_code = diagnosis.code
    attempt.diagnosis = diagnosis.to_dict()
    attempt.status = Attempt.Status.DONE
    attempt.finished_at = timezone.now()
    with transaction.atomic():
        attempt.save()
        run = Run.objects.select_for_update().get(pk=run.pk)
        _summarise(run, attempt, diagnosis)
        decision = None
        if (
            may_retry
            and run.retry_policy
            and not run.attempts.filter(status=Attempt.Status.QUEUED).exists()
        ):
            decision = _decide(run, diagnosis, attempts_made=attempt.number)
        if decision is not None and decision.retry:
            _add_attempt(
                run,
                reason=Attempt.Reason.BACKOFF,
                delay=decision.delay,
                wait_reason=decision.reason,
            )
        else:
            if decision is not None and diagnosis.severity != "ok":
                attempt.wait_reason = decision.reason
                attempt.save(update_fields=["wait_reason"])
            _settle(run)
    logger.info(
        "attempt %s of run %s done: %s in %.0f ms",
        attempt.number,
        run.id,
        attempt.response_status or attempt.failure_kind,
        exchange.elapsed_ms,
    )


def _summarise(run: Run, attempt: Attempt, diagnosis: Diagnosis) -> None:
    run.outcome = attempt.outcome
    run.response_status = attempt.response_status
    run.failure_kind = attempt.failure_kind
    run.diagnosis_code = diagnosis.code
    run.diagnosis_title = diagnosis.title[:200]
    run.severity = diagnosis.severity
    run.duration_ms = attempt.duration_ms
    run.finished_at = attempt.finished_at
    run.save(
        update_fields=[
            "outcome", "response_status", "failure_kind", "diagnosis_code",
            "diagnosis_title", "severity", "duration_ms", "finished_at",
        ]
    )  # fmt: skip


def _decide(run: Run, diagnosis: Diagnosis, *, attempts_made: int) -> backoff.Decision:
    wait = getattr(diagnosis, "wait_seconds", None)
    if wait is None:
        wait = diagnosis.retry_after_seconds
    return backoff.decide(
        method=run.method,
        retryable=diagnosis.retryable and diagnosis.severity != "ok",
        retry_after_seconds=wait,
        attempts_made=attempts_made,
        policy=backoff.RetryPolicy.from_dict(run.retry_policy),
        rng=random.SystemRandom(),
    )


def _settle(run: Run) -> None:
    """The run's status from its attempts: done once none is queued or running."""
    pending = run.attempts.filter(status__in=[Attempt.Status.QUEUED, Attempt.Status.RUNNING])
    if pending.filter(status=Attempt.Status.RUNNING).exists():
        status = Run.Status.RUNNING
    elif pending.filter(not_before__isnull=False).exists():
        status = Run.Status.WAITING
    elif pending.exists():
        status = Run.Status.QUEUED
    else:
        status = Run.Status.DONE
    if run.status != status:
        run.status = status
        run.save(update_fields=["status"])


def decode_body(body: bytes, content_type: str | None) -> str:
    """The body as text, in its declared charset, else UTF-8; undecodable bytes replaced."""
    charset = "utf-8"
    for part in (content_type or "").split(";")[1:]:
        key, _, value = part.strip().partition("=")
        if key.lower() == "charset" and value:
            charset = value.strip("\"' ")
    try:
        return body.decode(charset, errors="replace").replace("\x00", "\ufffd")
    except LookupError:
        return body.decode("utf-8", errors="replace").replace("\x00", "\ufffd")


# Actions on a finished run ----------------------------------------------------------------


def retry_now(*, run: Run) -> Attempt:
    """Send the same request again, at once, as a new attempt of the run."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if not run.is_finished:
            raise ActionRefused("This run is still in progress; wait for it or cancel retries.")
        return _add_attempt(run, reason=Attempt.Reason.RETRY)


def retry_with_backoff(*, run: Run) -> Attempt:
    """Retry until success or a limit, waiting as the server asks, else backing off."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if not run.is_finished:
            raise ActionRefused("This run is still in progress; wait for it or cancel retries.")
        last = run.attempts.filter(status=Attempt.Status.DONE).order_by("-number").first()
        if last is None:
            raise ActionRefused("This run has no finished attempt to retry.")
        run.retry_policy = default_retry_policy().to_dict()
        run.save(update_fields=["retry_policy"])
        diagnosis = Diagnosis.from_dict(last.diagnosis)
        # A retry asked for by hand starts a new series: the earlier attempts don't count.
        decision = _decide(run, diagnosis, attempts_made=1)
        if not decision.retry:
            raise ActionRefused(decision.reason)
        return _add_attempt(
            run, reason=Attempt.Reason.BACKOFF, delay=decision.delay, wait_reason=decision.reason
        )


def cancel_pending(*, run: Run) -> int:
    """Cancel the run's attempts that have not started; the run keeps its last result."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        cancelled = run.attempts.filter(status=Attempt.Status.QUEUED).update(
            status=Attempt.Status.CANCELLED, finished_at=timezone.now()
        )
        run.retry_policy = {}
        run.save(update_fields=["retry_policy"])
        _settle(run)
    return cancelled
