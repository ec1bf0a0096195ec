"""The API's answers built from stored rows: dicts in the shapes of `schemas`.

A run is shown through the share page's view of it (`apps.sharing.presentation.shared_run`),
so everything it holds is redacted again by name and by the run's own secret values (and
their encodings) on the way out, exactly as a share page is: no secret in any field.
"""

from collections.abc import Callable
from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.http import HttpRequest
from django.urls import reverse

from apps.diagnosis.lookups import get_playbook
from apps.diagnosis.results import Diagnosis, Fix
from apps.egress.redaction import redact_url
from apps.library.models import Collection
from apps.runs import secrets
from apps.runs import selectors as run_selectors
from apps.runs.models import Attempt, Run
from apps.sharing.models import ShareLink
from apps.sharing.presentation import shared_run

Absolute = Callable[[str], str]  # a path to an absolute URL


def _pairs(pairs: list[tuple[str, str]] | list[list[str]]) -> list[dict[str, str]]:
    return [{"name": str(name), "value": str(value)} for name, value in pairs]


def _fix_out(fix: Fix) -> dict[str, Any]:
    return {
        "kind": fix.kind,
        "summary": fix.summary,
        "changes": dict(fix.changes),
        "same_host": fix.same_host,
    }


def tried_fix_out(run: Run) -> dict[str, Any] | None:
    """What a "Try the fix" run changed and whether it proved the fix; None for other runs."""
    fix = run_selectors.fix_of_followup(run=run)
    outcome = run_selectors.fix_outcome_of(run=run)
    if fix is None or outcome is None:
        return None
    return {
        **_fix_out(fix),
        "cause": str(run.fix.get("cause", "")),
        "source": run.source_id,
        "diff": [asdict(line) for line in run_selectors.fix_diff_of(run=run)],
        "outcome": {"state": outcome.state, "text": outcome.text},
    }


def diagnosis_out(diagnosis: Diagnosis, absolute: Absolute) -> dict[str, Any]:
    playbooks = []
    for slug in diagnosis.playbooks:
        try:
            title = get_playbook(slug).title
        except KeyError:
            continue
        url = absolute(reverse("diagnosis:playbook", args=[slug]))
        playbooks.append({"slug": slug, "title": title, "url": url})
    return {
        "code": diagnosis.code,
        "severity": diagnosis.severity,
        "title": diagnosis.title,
        "profile": diagnosis.profile,
        "api_name": diagnosis.api_name,
        "status": diagnosis.status,
        "failure_kind": diagnosis.failure_kind,
        "failure_detail": diagnosis.failure_detail,
        "api_meaning": diagnosis.api_meaning,
        "api_docs_url": diagnosis.api_docs_url,
        "api_message": diagnosis.api_message,
        "http_meaning": diagnosis.http_meaning,
        "http_reference": diagnosis.http_reference,
        "explanation": diagnosis.explanation,
        "causes": [
            {
                "code": cause.code,
                "title": cause.title,
                "explanation": cause.explanation,
                "likelihood": cause.likelihood,
                "evidence": [
                    {"source": e.source, "name": e.name, "value": e.value, "note": e.note}
                    for e in cause.evidence
                ],
                "playbooks": list(cause.playbooks),
                "fix": _fix_out(cause.fix) if cause.fix else None,
            }
            for cause in diagnosis.causes
        ],
        "playbooks": playbooks,
        "retryable": diagnosis.retryable,
        "auto_retry": diagnosis.auto_retry,
        "retry_reason": diagnosis.retry_reason,
        "retry_after_seconds": diagnosis.retry_after_seconds,
        "wait_seconds": diagnosis.wait_seconds,
        "wait_source": diagnosis.wait_source,
        "retry_hint": diagnosis.retry_hint,
    }


def run_out(
    run: Run,
    absolute: Absolute,
    *,
    warnings: list[str] | None = None,
    attempts: list[Attempt] | None = None,
) -> dict[str, Any]:
    """The run with its request, latest result, diagnosis and attempts, redacted.
    `attempts`: the run's, oldest first, when the caller read them (for many runs at once).

    Raises cryptography's InvalidToken when the run's secrets cannot be decrypted: without
    them the answer cannot be checked for them, so it is not given.
    """
    if attempts is None:
        attempts = run_selectors.attempts_of(run=run)
    secret_values = secrets.decrypt(run.secrets_encrypted).values()
    view = shared_run(run=run, attempts=attempts, secret_values=secret_values)
    result = None
    if view.result is not None:
        shown = view.result
        body = shown.body.head + shown.body.rest if shown.body is not None else ""
        result = {
            "attempt": shown.number,
            "outcome": shown.outcome,
            "status": shown.response_status,
            "reason": shown.response_reason,
            "failure_kind": next(
                (a.failure_kind for a in attempts if a.number == shown.number), ""
            ),
            "failure_message": shown.failure_message,
            "duration_ms": shown.duration_ms,
            "headers": _pairs(shown.response_headers),
            "body": body,
            "body_bytes": shown.body_bytes,
            "body_truncated": shown.body_truncated,
            "redirects": [{"status": s, "location": loc} for s, loc in shown.redirects],
            # Timings, connection and TLS facts, request ids, Server-Timing, traceparent:
            # what the run page shows, redacted as the share page redacts it.
            **shown.facts.to_dict(),
        }
    return {
        "id": run.id,
        "url": absolute(reverse("runs:detail", args=[run.id])),
        "status": run.status,
        "finished": run.is_finished,
        "recorded": run.recorded,
        "created_at": run.created_at,
        "finished_at": run.finished_at,
        "created_by": run.created_by.get_username() if run.created_by else None,
        "request": {
            "method": run.method,
            "url": view.url,
            "host": view.host,
            "query": _pairs(view.query),
            "headers": _pairs(view.request_headers),
            "body": view.request_body,
            "has_api_key": run.has_api_key,
            "timeout": run.timeout_seconds,
            "follow_redirects": run.follow_redirects,
            "send_traceparent": run.send_traceparent,
            "profile": run.profile,
            "curl": view.curl.text,
        },
        "result": result,
        "diagnosis": diagnosis_out(view.diagnosis, absolute) if view.diagnosis else None,
        "attempts": [
            {
                "number": a.number,
                "reason": a.reason,
                "status": a.status,
                "outcome": a.outcome,
                "response_status": a.response_status,
                "title": a.title,
                "duration_ms": a.duration_ms,
                "finished_at": a.finished_at,
                "not_before": a.not_before,
                "wait_reason": a.wait_reason,
            }
            for a in view.attempts
        ],
        "tried_fix": tried_fix_out(run),
        "redacted": view.redacted,
        "warnings": list(warnings or []),
    }


def log_run_out(run: Run, absolute: Absolute, *, shared: bool) -> dict[str, Any]:
    """A row of the team log: the stored summary columns (redacted when written)."""
    return {
        "id": run.id,
        "url": absolute(reverse("runs:detail", args=[run.id])),
        "api_url": absolute(reverse("api:get_run", args=[run.id])),
        "created_at": run.created_at,
        "created_by": run.created_by.get_username() if run.created_by else None,
        "status": run.status,
        "method": run.method,
        "host": run.host,
        "request_url": redact_url(run.url),
        "outcome": run.outcome,
        "response_status": run.response_status,
        "failure_kind": run.failure_kind,
        "diagnosis_code": run.diagnosis_code,
        "diagnosis_title": run.diagnosis_title,
        "severity": run.severity,
        "duration_ms": run.duration_ms,
        "recorded": run.recorded,
        "shared": shared,
    }


def share_link_out(link: ShareLink, now: datetime) -> dict[str, Any]:
    return {
        "id": link.id,
        "visibility": link.visibility,
        "state": link.state(now),
        "created_at": link.created_at,
        "created_by": link.created_by.get_username() if link.created_by else None,
        "expires_at": link.expires_at,
        "revoked_at": link.revoked_at,
        "view_count": link.view_count,
        "last_viewed_at": link.last_viewed_at,
    }


def collection_out(request: HttpRequest, collection: Collection) -> dict[str, Any]:
    """A collection and its saved requests (names, methods, URLs), with its page's address."""
    return {
        "id": collection.pk,
        "name": collection.name,
        "description": collection.description,
        "url": request.build_absolute_uri(reverse("saved:collection", args=[collection.pk])),
        "requests": [
            {"id": s.pk, "name": s.name, "folder": s.folder, "method": s.method, "url": s.url}
            for s in collection.requests.all()
        ],
    }
