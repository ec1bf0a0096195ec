"""Writes to runs on a user's behalf: submitting one, publishing its attempts, retrying,
cancelling. What a worker does with an attempt is in `execution.py`; the sweeper that
recovers lost and stuck attempts is in `sweeper.py`."""

import contextlib
import logging
import random
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from django.conf import settings
from django.contrib.auth.models import User
from django.db import DatabaseError, transaction
from django.utils import timezone

from apps.accounts.models import Team
from apps.diagnosis.lookups import profile_for_url
from apps.diagnosis.results import Diagnosis, Fix
from apps.egress.redaction import (
    REDACTED,
    SecretValues,
    is_secret_header,
    is_secret_param,
    redact_body,
    redact_url,
)
from apps.runs import backoff, secrets
from apps.runs.fix_requests import FixNotApplicable, apply_fix, host_of
from apps.runs.forms import RunRequest
from apps.runs.models import Attempt, Run
from apps.runs.statements import db_value, insert, prepared_cursor, quoted, save_fields

logger = logging.getLogger(__name__)


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
    user: User,
    request: RunRequest,
    source: Run | None = None,
    fix: dict[str, object] | None = None,
) -> Run:
    """Store a new run (secrets encrypted) with its first attempt, enqueued on commit.

    With a `source` run (edit and re-run, re-authenticate), values the user left as
    "[redacted]" and an empty key with `request.keep_api_key` take the source's secrets.
    """
    # Inside a caller's transaction, no savepoint: a failure here fails the whole of it.
    with transaction.atomic(savepoint=False):
        run = _new_run(team=team, user=user, request=request, source=source, fix=fix)
        # Noted as published in the insert (one UPDATE less); unnoted if the publish fails.
        attempt = Attempt(
            run=run, number=1, reason=Attempt.Reason.FIRST, published_at=timezone.now()
        )
        # As SQL composed once (see apps.runs.statements): this runs for every submission.
        insert(run)
        insert(attempt)
        transaction.on_commit(
            lambda: enqueue_attempt(attempt_id=attempt.id, noted_at=attempt.published_at)
        )
    logger.info("run %s submitted by user %s: %s %s", run.id, user.pk, run.method, run.host)
    return run


def submit_runs(*, team: Team, user: User, requests: list[RunRequest]) -> list[Run]:
    """Several new runs at once (a collection): stored with their first attempts in two
    bulk inserts, each enqueued on commit, exactly as `submit_run` stores one."""
    runs = [_new_run(team=team, user=user, request=request) for request in requests]
    with transaction.atomic(savepoint=False):
        Run.objects.bulk_create(runs)
        now = timezone.now()
        attempts = Attempt.objects.bulk_create(
            [
                Attempt(run=run, number=1, reason=Attempt.Reason.FIRST, published_at=now)
                for run in runs
            ]
        )
        ids = [attempt.id for attempt in attempts]
        transaction.on_commit(lambda: [enqueue_attempt(attempt_id=i, noted_at=now) for i in ids])
    logger.info("%d runs submitted by user %s", len(runs), user.pk)
    return runs


def _new_run(
    *,
    team: Team,
    user: User,
    request: RunRequest,
    source: Run | None = None,
    fix: dict[str, object] | None = None,
) -> Run:
    """The run to store for a request (not saved): every column redacted, the secrets
    encrypted."""
    request = _restore_secrets(request, source) if source is not None else request
    stored, run_secrets = split_secrets(request)
    profile = request.profile or profile_for_url(request.url).slug
    policy = default_retry_policy().to_dict() if request.auto_retry else {}
    return Run(
        team=team,
        created_by=user,
        source=source,
        method=request.method,
        url=stored.url,
        host=stored.host,
        query=[list(pair) for pair in stored.params],
        request_headers=[list(pair) for pair in stored.headers],
        request_body=stored.body,
        timeout_seconds=request.timeout,
        follow_redirects=request.follow_redirects,
        send_traceparent=request.send_traceparent,
        profile=profile,
        has_api_key=bool(request.api_key),
        secrets_encrypted=secrets.encrypt(run_secrets),
        retry_policy=policy,
        status=Run.Status.QUEUED,
        attempt_count=1,
        fix=fix or {},
    )


@dataclass(frozen=True)
class StoredRequest:
    url: str
    host: str
    params: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    body: str


def split_secrets(request: RunRequest) -> tuple[StoredRequest, secrets.RunSecrets]:
    """What is stored of the request in clear, and its secrets (stored encrypted): the one
    way a run's request is stored, whether submitted or recorded.

    The secrets are what the user marked as such: the key field, secret-named headers,
    parameters and body keys. Each is then removed by value (in every encoding the policy
    knows) from everything else: the URL's path and query, the other headers, parameters
    and the body; a part that held one is kept whole among the secrets, to be sent as typed.
    """
    request = _move_secret_query_to_params(request)
    content_type = next((v for n, v in request.headers if n.lower() == "content-type"), "")
    _, body_values = redact_body(request.body, content_type)
    marked = secrets.RunSecrets(
        api_key=request.api_key,
        headers=[(n, v) for n, v in request.headers if v and is_secret_header(n)],
        params=[(n, v) for n, v in request.params if v and is_secret_param(n)],
        body_values=body_values,
    )
    values = SecretValues(marked.values())

    def split(
        pairs: list[tuple[str, str]], is_secret: Callable[[str], bool]
    ) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
        shown, kept = [], []
        for name, value in pairs:
            if value and (is_secret(name) or values.found_in(value)):
                shown.append((name, REDACTED))
                kept.append((name, value))
            else:
                shown.append((name, value))
        return shown, kept

    shown_headers, secret_headers = split(request.headers, is_secret_header)
    shown_params, secret_params = split(request.params, is_secret_param)
    shown_body, _ = redact_body(request.body, content_type, values)
    shown_url = redact_url(request.url, values)
    stored = StoredRequest(
        url=shown_url,
        host=values.redact(_host_of(request.url)),
        params=shown_params,
        headers=shown_headers,
        body=shown_body,
    )
    return stored, secrets.RunSecrets(
        api_key=request.api_key,
        headers=secret_headers,
        params=secret_params,
        body=request.body if shown_body != request.body else "",
        body_values=body_values,
        url=request.url if shown_url != request.url else "",
    )


# The request fields of a run that another part (a monitor) keeps its own copy of.
REQUEST_FIELDS = (
    "method", "url", "host", "query", "request_headers", "request_body", "timeout_seconds",
    "follow_redirects", "send_traceparent", "profile", "has_api_key", "secrets_encrypted",
)  # fmt: skip


def submit_copy(
    *, team: Team, user: User | None, request: dict[str, Any], publish: bool = True
) -> tuple[Run, Attempt]:
    """Store a new run from request fields already redacted and secrets already encrypted
    (`REQUEST_FIELDS`, e.g. a monitor's copy), with its first attempt.

    With `publish=False` the caller executes the attempt itself (a monitor's check, in its
    worker); if it never does, the sweeper publishes it as one the broker never got.
    """
    values = {name: request[name] for name in REQUEST_FIELDS}
    with transaction.atomic():
        run = Run.objects.create(
            team=team, created_by=user, status=Run.Status.QUEUED, attempt_count=1, **values
        )
        attempt = Attempt.objects.create(run=run, number=1, reason=Attempt.Reason.FIRST)
        if publish:
            transaction.on_commit(lambda: enqueue_attempt(attempt_id=attempt.id))
    return run, attempt


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
    # An unchanged body or URL whose secrets were redacted is sent as first composed.
    body = kept.body if kept.body and request.body == source.request_body else request.body
    url = kept.url if kept.url and request.url == source.url else request.url
    return RunRequest(
        **{
            **request.__dict__,
            "headers": headers,
            "params": params,
            "api_key": api_key,
            "body": body,
            "url": url,
        }
    )


def add_attempt(run: Run, *, reason: str, delay: float = 0.0, wait_reason: str = "") -> Attempt:
    """Create the run's next attempt and publish it once the transaction commits."""
    number = run.attempts.count() + 1
    not_before = timezone.now() + timedelta(seconds=delay) if delay else None
    attempt = Attempt.objects.create(
        run=run, number=number, reason=reason, not_before=not_before, wait_reason=wait_reason,
        published_at=timezone.now(),
    )  # fmt: skip
    run.attempt_count = number
    run.status = Run.Status.WAITING if delay else Run.Status.QUEUED
    run.save(update_fields=["attempt_count", "status"])
    transaction.on_commit(
        lambda: enqueue_attempt(attempt_id=attempt.id, delay=delay, noted_at=attempt.published_at)
    )
    return attempt


def enqueue_attempt(
    *, attempt_id: uuid.UUID, delay: float = 0.0, noted_at: datetime | None = None
) -> bool:
    """Publish an attempt to the broker: its id only. A broker outage leaves it queued
    (never an error for the caller); the sweeper publishes it once the broker is back.

    `published_at` is noted before publishing, so that a worker's claim is always later
    than it: here, or by the caller in the attempt's insert (`noted_at`), which is then
    cleared if the publish fails (never published: the sweeper's short delay applies).
    """
    from apps.runs.tasks import execute_attempt_task

    published_at = noted_at or timezone.now()
    try:
        # Celery's default countdown is None (at once); celery-types only allows a float.
        execute_attempt_task.apply_async((str(attempt_id),), countdown=delay or None)  # type: ignore[arg-type]
    except Exception as exc:  # each transport has its own errors; none may fail a submission
        logger.warning(
            "attempt %s stays queued: the broker could not be reached (%s)",
            attempt_id,
            type(exc).__name__,
        )
        if noted_at is not None:
            with contextlib.suppress(DatabaseError):
                Attempt.objects.filter(pk=attempt_id, published_at=noted_at).update(
                    published_at=None
                )
        return False
    if noted_at is not None:
        return True
    try:
        Attempt.objects.filter(pk=attempt_id).update(published_at=published_at)
    except DatabaseError:
        logger.warning("attempt %s was published but that could not be noted", attempt_id)
    return True


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "")[:255]
    except ValueError:
        return ""


# Shared with the worker (apps.runs.execution) ----------------------------------------------


def decide_retry(run: Run, diagnosis: Diagnosis, *, attempts_made: int) -> backoff.Decision:
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


def settle_run(run: Run, *, also_save: list[str] | None = None) -> None:
    """The run's status from its attempts: done once none is queued or running, or
    interrupted if its latest attempt was. Saved with the fields `also_save` names."""
    # As SQL composed once (see apps.runs.statements): this runs for every attempt stored.
    with prepared_cursor() as cursor:
        cursor.execute(
            f"SELECT number, status, not_before IS NOT NULL FROM {quoted(Attempt)} "  # noqa: S608
            "WHERE run_id = %s AND status <> %s",
            [db_value(Attempt, "run", run.pk), Attempt.Status.CANCELLED],
        )
        attempts = cursor.fetchall()
    pending = [
        (status, scheduled)
        for _, status, scheduled in attempts
        if status in (Attempt.Status.QUEUED, Attempt.Status.RUNNING)
    ]
    if any(status == Attempt.Status.RUNNING for status, _ in pending):
        status = Run.Status.RUNNING
    elif any(scheduled for _, scheduled in pending):
        status = Run.Status.WAITING
    elif pending:
        status = Run.Status.QUEUED
    else:
        latest = max(attempts, default=None, key=lambda row: row[0])
        interrupted = latest is not None and latest[1] == Attempt.Status.INTERRUPTED
        status = Run.Status.INTERRUPTED if interrupted else Run.Status.DONE
    fields = list(also_save or [])
    if run.status != status:
        run.status = status
        fields.append("status")
    if fields:
        save_fields(run, fields)


# Actions on a finished run ----------------------------------------------------------------


def retry_now(*, run: Run) -> Attempt:
    """Send the same request again, at once, as a new attempt of the run."""
    with transaction.atomic():
        run = Run.objects.select_for_update().get(pk=run.pk)
        if not run.is_finished:
            raise ActionRefused("This run is still in progress; wait for it or cancel retries.")
        return add_attempt(run, reason=Attempt.Reason.RETRY)


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
        decision = decide_retry(run, diagnosis, attempts_made=1)
        if not decision.retry:
            raise ActionRefused(decision.reason)
        return add_attempt(
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
        settle_run(run)
    return cancelled


def fix_of(*, run: Run, cause_code: str, index: int | None = None) -> Fix | None:
    """The fix the run's latest diagnosis offers for that cause, if any. `index` (the
    cause's position in the diagnosis) tells apart causes of the same code (two invalid
    parameters); without it, the first cause of that code with a fix."""
    last = run.attempts.filter(status=Attempt.Status.DONE).order_by("-number").first()
    if last is None:
        return None
    causes = list(enumerate(Diagnosis.from_dict(last.diagnosis).causes))
    if index is not None:
        causes = causes[index : index + 1] if index >= 0 else []
    return next((c.fix for _, c in causes if c.code == cause_code and c.fix is not None), None)


def fix_refusal(*, run: Run, fix: Fix) -> str:
    """Why this fix is not offered for this run ("" when it is): a change that would send
    the run's key or credentials to another host never is."""
    header = fix.changes.get("to_header", "")
    if fix.kind == "move_key_to_header" and not is_secret_header(header):
        # Stored requests keep secret-named headers encrypted; another name would be clear.
        return (
            f"Not offered: {header} is not a header name this dashboard keeps secret, so the "
            "key would be stored in clear. Edit the request and put the key there yourself."
        )
    target = host_of(fix.changes.get("url", "")) if fix.kind == "use_url" else run.host
    if fix.same_host and target == run.host:
        return ""
    if (run.has_api_key or bytes(run.secrets_encrypted or b"")) and target == run.host:
        return (
            "Not offered: it sends the request over plain http, unencrypted, and this request "
            "carries a key or credentials, which are never sent in clear. Check why the API "
            "points at http, then edit the request yourself."
        )
    if run.has_api_key or bytes(run.secrets_encrypted or b""):
        return (
            f"Not offered: it sends the request to {target or 'another host'}, not "
            f"{run.host}, and this request carries a key or credentials, which are never "
            "sent to another host. Check that host, then edit the request yourself."
        )
    return ""


def try_fix(*, run: Run, user: User, cause_code: str, index: int | None = None) -> Run:
    """A follow-up run of the run's request with exactly the fix the diagnosis names for
    the cause: enqueued like any submission, its source the run, the fix noted on it."""
    if not run.is_finished:
        raise ActionRefused("This run is still in progress; try the fix once it is done.")
    fix = fix_of(run=run, cause_code=cause_code, index=index)
    if fix is None:
        raise ActionRefused("This run's diagnosis has no fix to try for that cause.")
    refusal = fix_refusal(run=run, fix=fix)
    if refusal:
        raise ActionRefused(refusal)
    original = _restore_secrets(
        RunRequest(
            method=run.method,
            url=run.url,
            params=[(name, value) for name, value in run.query],
            headers=[(name, value) for name, value in run.request_headers],
            body=run.request_body,
            api_key="",
            timeout=run.timeout_seconds,
            profile=run.profile,
            follow_redirects=run.follow_redirects,
            send_traceparent=run.send_traceparent,
            keep_api_key=True,
        ),
        run,
    )
    try:
        fixed = apply_fix(original, fix)
    except FixNotApplicable as problem:
        raise ActionRefused(str(problem)) from None
    return submit_run(
        team=run.team,
        user=user,
        request=fixed,
        source=run,
        fix={**asdict(fix), "cause": cause_code},
    )
