"""The verdict at the top of a run's page: what happened in one sentence, the most likely
cause with its one or two decisive evidence lines, the one action that fits, and the few
others that apply. Pure: a stored diagnosis and the attempt's facts in, a Verdict out.

Action kinds (rendered by runs/_verdict_action.html):
  retry_at          POST retry, mode=backoff: waits as the server asked, label "Retry at HH:MM"
  retry_now         POST retry, mode=now
  back_off          POST retry, mode=backoff
  reauthenticate    the re-authenticate dialog (page fallback)
  request_access    the check-access playbook, linked back to the run
  check_certificate the check-tls playbook, linked back to the run
  fix_request       the form, filled from the run ("Edit and re-run")
  compare           the comparison with the previous run of the same request
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from apps.diagnosis.lookups import get_playbook
from apps.diagnosis.results import Diagnosis, Evidence

# Statuses where a new key can be the answer: never a 200, a refused connection or TLS.
AUTH_STATUSES = frozenset({401, 403})
# A playbook's slug → the action kind the verdict offers for it, before its own `action`.
PLAYBOOK_KINDS = {
    "check-access": "request_access",
    "check-tls": "check_certificate",
}
PLAYBOOK_ACTIONS = {
    "reauthenticate": "reauthenticate",
    "back_off": "back_off",
    "retry_later": "retry_at",
    "retry": "retry_now",
    "fix_request": "fix_request",
}
MAX_EVIDENCE = 2


@dataclass(frozen=True)
class Verdict:
    sentence: str  # what happened, one sentence
    title: str  # the diagnosis' title
    severity: str
    cause_title: str = ""  # the most likely cause, when one was found
    evidence: list[Evidence] = field(default_factory=list)  # its decisive lines, at most 2
    primary: str = ""  # one action kind, "" when nothing needs doing
    secondary: list[str] = field(default_factory=list)
    retry_at: datetime | None = None  # when a retry is expected to work (the server's wait)
    playbook: str = ""  # the slug the primary action's playbook link goes to


def what_happened(
    *, host: str, status: int | None, reason: str | None, failure: str | None, ms: float | None
) -> str:
    """One sentence: who answered what, how fast; or what kept it from answering."""
    took = f" in {ms:.0f} ms" if ms is not None else ""
    if status is not None:
        return f"{host} answered {status}{f' {reason}' if reason else ''}{took}."
    return f"No response from {host}{took}: {(failure or 'the request failed').rstrip('.')}."


def _action_kinds(diagnosis: Diagnosis) -> list[tuple[str, str]]:
    """(action kind, playbook slug) of the top cause's playbooks, then the diagnosis'."""
    slugs: list[str] = []
    if diagnosis.top_cause is not None:
        slugs.extend(diagnosis.top_cause.playbooks)
    slugs.extend(slug for slug in diagnosis.playbooks if slug not in slugs)
    kinds: list[tuple[str, str]] = []
    for slug in slugs:
        kind = PLAYBOOK_KINDS.get(slug)
        if kind is None:
            try:
                kind = PLAYBOOK_ACTIONS.get(get_playbook(slug).action or "")
            except KeyError:
                continue
        if kind and kind not in (k for k, _ in kinds):
            kinds.append((kind, slug))
    return kinds


def _applies(kind: str, *, diagnosis: Diagnosis, idempotent: bool) -> bool:
    if kind == "reauthenticate":
        return diagnosis.status in AUTH_STATUSES
    if kind in ("back_off", "retry_at"):
        return diagnosis.retryable and idempotent and diagnosis.severity != "ok"
    if kind == "retry_now":
        return diagnosis.retryable
    return True


def decide(
    *,
    diagnosis: Diagnosis,
    host: str,
    finished_at: datetime | None,
    duration_ms: float | None,
    idempotent: bool,
    has_earlier: bool,
    now: datetime | None = None,
) -> Verdict:
    """The verdict of a finished attempt's diagnosis, as of `now` (None: just finished)."""
    cause = diagnosis.top_cause
    sentence = what_happened(
        host=host,
        status=diagnosis.status,
        reason=diagnosis.reason,
        failure=diagnosis.failure_message,
        ms=duration_ms,
    )
    # The decisive lines: with a value, and not one the sentence already says.
    evidence = (
        [line for line in cause.evidence if line.value and line.value.rstrip(".") not in sentence]
        if cause
        else []
    )[:MAX_EVIDENCE]
    kinds = [
        (kind, slug)
        for kind, slug in _action_kinds(diagnosis)
        if _applies(kind, diagnosis=diagnosis, idempotent=idempotent)
    ]
    primary, playbook = kinds[0] if kinds and diagnosis.severity != "ok" else ("", "")
    if not primary and diagnosis.severity != "ok":
        # No playbook action fits (e.g. a POST the dashboard never retries by itself): by hand.
        primary = "retry_now" if diagnosis.retryable else "fix_request"
    retry_at = None
    if diagnosis.wait_seconds is not None and finished_at is not None:
        retry_at = finished_at + timedelta(seconds=diagnosis.wait_seconds)
    if primary in ("back_off", "retry_at") and retry_at is not None:
        # Past the time the server named, the wait is over: a retry now fits.
        primary = "retry_at" if now is None or retry_at > now else "retry_now"
    elif primary == "retry_at":
        primary = "back_off"
    secondary = []
    if primary != "fix_request":
        secondary.append("fix_request")
    if primary not in ("retry_now", "retry_at", "back_off"):
        secondary.append("retry_now")
    if primary != "reauthenticate" and diagnosis.status in AUTH_STATUSES:
        secondary.append("reauthenticate")
    if has_earlier:
        secondary.append("compare")
    return Verdict(
        sentence=sentence,
        title=diagnosis.title,
        severity=diagnosis.severity,
        cause_title=cause.title if cause and cause.title != diagnosis.title else "",
        evidence=evidence,
        primary=primary,
        secondary=secondary,
        retry_at=retry_at if primary == "retry_at" else None,
        playbook=playbook,
    )
