"""Writes to runs: submitting one, and executing it on a worker."""

import logging
import uuid
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
from apps.diagnosis.rules import diagnose
from apps.egress.client import Limits, send
from apps.egress.policy import AddressPolicy
from apps.egress.redaction import (
    REDACTED,
    is_secret_header,
    is_secret_param,
    redact_text,
    split_secret_pairs,
)
from apps.egress.types import Exchange, Failure, FailureKind, OutboundRequest
from apps.runs import secrets
from apps.runs.forms import RunRequest
from apps.runs.models import Run

logger = logging.getLogger(__name__)

API_KEY_HEADER = "X-Api-Key"


def submit_run(*, team: Team, user: AbstractBaseUser, request: RunRequest) -> Run:
    """Store a new queued run (secrets encrypted) and enqueue it once the row is committed."""
    shown_headers, secret_headers = split_secret_pairs(request.headers, is_secret=is_secret_header)
    shown_params, secret_params = split_secret_pairs(request.params, is_secret=is_secret_param)
    run_secrets = secrets.RunSecrets(
        api_key=request.api_key, headers=secret_headers, params=secret_params
    )
    profile = request.profile or profile_for_url(request.url).slug
    with transaction.atomic():
        run = Run.objects.create(
            team=team,
            created_by=user,
            method=request.method,
            url=_redact_url(request.url),
            query=[list(pair) for pair in shown_params],
            request_headers=[list(pair) for pair in shown_headers],
            request_body=redact_text(request.body, run_secrets.values()),
            timeout_seconds=request.timeout,
            profile=profile,
            has_api_key=bool(request.api_key),
            secrets_encrypted=secrets.encrypt(run_secrets),
        )
        transaction.on_commit(lambda: enqueue_run(run_id=run.id))
    logger.info("run %s submitted by user %s: %s %s", run.id, user.pk, run.method, run.host)
    return run


def enqueue_run(*, run_id: uuid.UUID) -> bool:
    """Publish the run to the broker. Only its id travels; a broker outage leaves it queued."""
    from apps.runs.tasks import execute_run_task

    try:
        execute_run_task.delay(str(run_id))
    except OperationalError:
        logger.exception("run %s stays queued: the broker could not be reached", run_id)
        return False
    return True


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


def claim_run(*, run_id: uuid.UUID) -> bool:
    """Move the run from queued to running; False if another delivery already did."""
    claimed = Run.objects.filter(pk=run_id, status=Run.Status.QUEUED).update(
        status=Run.Status.RUNNING, started_at=timezone.now(), deliveries=F("deliveries") + 1
    )
    return claimed == 1


def execute_run(*, run_id: uuid.UUID) -> None:
    """Claim the run, send its request, diagnose the outcome and store both."""
    if not claim_run(run_id=run_id):
        logger.info("run %s was not queued any more; delivery ignored", run_id)
        return
    run = Run.objects.get(pk=run_id)
    try:
        run_secrets = secrets.decrypt(run.secrets_encrypted)
        outbound = _outbound_request(run, run_secrets)
        exchange = _send(run, outbound)
        store_result(run=run, exchange=exchange, secret_values=run_secrets.values())
    except Exception as exc:
        # Whatever went wrong, the run must not stay "running" with nothing said about it.
        logger.exception("run %s failed inside the worker", run_id)
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
        store_result(run=Run.objects.get(pk=run_id), exchange=exchange, secret_values=[])


def _send(run: Run, outbound: OutboundRequest) -> Exchange:
    policy = AddressPolicy.from_allowlist(settings.EGRESS_ALLOWLIST)
    limits = Limits(
        max_body_bytes=settings.EGRESS_MAX_BODY_BYTES,
        connect_timeout=settings.EGRESS_CONNECT_TIMEOUT,
    )
    try:
        return send(outbound, policy=policy, limits=limits)
    except SoftTimeLimitExceeded:
        started = run.started_at or timezone.now()
        return Exchange(
            method=run.method,
            url=run.url,
            request_headers=outbound.headers,
            response=None,
            failure=Failure(
                kind=FailureKind.READ_TIMEOUT,
                message="The run took longer than the worker's time limit and was stopped.",
            ),
            elapsed_ms=(timezone.now() - started).total_seconds() * 1000,
        )


def _outbound_request(run: Run, run_secrets: secrets.RunSecrets) -> OutboundRequest:
    secret_headers = dict((name.lower(), value) for name, value in run_secrets.headers)
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
        body=run.request_body.encode(),
        timeout=run.timeout_seconds,
    )


def store_result(*, run: Run, exchange: Exchange, secret_values: list[str]) -> None:
    """Save what came back, redacted, with its diagnosis, and mark the run done."""
    try:
        profile = get_profile(run.profile)
    except KeyError:
        profile = profile_for_url(run.url)
    diagnosis = diagnose(exchange, profile)

    def clean(text: str) -> str:
        return redact_text(text, secret_values)

    def clean_pairs(pairs: list[tuple[str, str]]) -> list[list[str]]:
        return [
            [name, REDACTED if is_secret_header(name) else clean(value)] for name, value in pairs
        ]

    run.sent_url = clean(_redact_url(exchange.url))
    run.sent_headers = clean_pairs(exchange.request_headers)
    run.duration_ms = round(exchange.elapsed_ms, 1)
    if exchange.response is not None:
        response = exchange.response
        run.outcome = Run.Outcome.RESPONSE
        run.response_status = response.status
        run.response_reason = clean(response.reason)[:200]
        run.response_http_version = response.http_version
        run.response_headers = clean_pairs(response.headers)
        run.response_body = clean(decode_body(response.body, response.header("Content-Type")))
        run.response_body_truncated = response.truncated
        run.response_body_bytes = len(response.body)
    else:
        assert exchange.failure is not None
        run.outcome = Run.Outcome.FAILURE
        run.failure_kind = exchange.failure.kind.value
        run.failure_message = clean(exchange.failure.message)
    run.diagnosis_code = diagnosis.code
    run.diagnosis = diagnosis.to_dict()
    run.status = Run.Status.DONE
    run.finished_at = timezone.now()
    run.save()
    logger.info(
        "run %s done: %s in %.0f ms",
        run.id,
        run.response_status or run.failure_kind,
        exchange.elapsed_ms,
    )


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
