"""Turn an exchange into a Diagnosis: what the outcome means for this API, why it most
likely happened (ranked causes, each with its evidence), and what to do.

Pure: no database, no network, no Django. The steps are
1. read the facts an exchange offers (status, headers, the body in its format, the
   parameters and credentials sent, the failure, the timing): ``facts.read_facts``;
2. pick the catalog entry that answers for the status or failure (the API's own table
   first, then HTTP's);
3. tell the likely causes apart, with their evidence (``detect.find_causes``);
4. decide whether retrying can help, how long to wait, and whether it may happen
   unattended (RFC 9110 §9.2.2);
5. assemble the Diagnosis, the API's words first, and scrub it of the request's secrets.
"""

import logging
from dataclasses import replace
from urllib.parse import urlsplit

from apps.diagnosis.causes import find_causes, nothing_sent
from apps.diagnosis.facts import Facts, read_facts
from apps.diagnosis.fixes import attach_fixes
from apps.diagnosis.lookups import catalog
from apps.diagnosis.openapi import Spec, apply_spec
from apps.diagnosis.profiles import Catalog, CatalogEntry, Profile
from apps.diagnosis.results import LIKELY, Cause, Diagnosis, DiagnosisContext, Evidence
from apps.diagnosis.timing import with_timing
from apps.egress.types import IDEMPOTENT_METHODS, Exchange, FailureKind

logger = logging.getLogger(__name__)

IDEMPOTENCY_REFERENCE = "RFC 9110 §9.2.2"


def diagnose(
    exchange: Exchange,
    profile: Profile,
    *,
    context: DiagnosisContext | None = None,
    using: Catalog | None = None,
    spec: Spec | None = None,
) -> Diagnosis:
    """The diagnosis of one exchange under one API profile. Never raises.

    context: what the caller knows beyond the exchange (recent 429s of the same team and
    host); using: another catalog than the project's (tests); spec: a team's OpenAPI
    profile covering the exchange's host, whose findings come first.
    """
    try:
        diagnosis = _diagnose(exchange, profile, using or catalog(), context or DiagnosisContext())
    except Exception:  # a diagnosis must never break a run: say so, and log it
        logger.exception("diagnosis failed for %s %s", exchange.method, _safe_url(exchange))
        diagnosis = Diagnosis(
            code="diagnosis.unavailable",
            severity="info",
            title="No diagnosis available",
            profile=profile.slug,
            profile_name=profile.name,
            api_name=profile.short_name,
            status=exchange.response.status if exchange.response else None,
            explanation="The dashboard could not diagnose this outcome; see the exchange itself.",
        )
    # OpenAPI profile hook (apps.diagnosis.openapi): the spec's findings first.
    if spec is not None:
        diagnosis = apply_spec(diagnosis, exchange, spec)
    return diagnosis


def _diagnose(
    exchange: Exchange, profile: Profile, using: Catalog, context: DiagnosisContext
) -> Diagnosis:
    facts = read_facts(exchange, profile, now=context.now, shapes=using.idioms.envelopes)
    if facts.status is None:
        entry = using.failure_entry(facts.failure_kind or FailureKind.OTHER.value)
        http = None
    else:
        entry = using.entry_for_status(profile, facts.status).variant_for(facts.api_message)
        http = using.http_entry(facts.status)
    causes = attach_fixes(find_causes(facts, profile, context, using), facts, profile)
    top = causes[0] if causes else None
    likely = [cause for cause in causes if cause.likelihood == LIKELY]
    playbooks = list(dict.fromkeys(slug for cause in likely for slug in cause.playbooks))
    retryable = entry.retryable
    if top is not None and top.likelihood == LIKELY and top.retryable is not None:
        retryable = top.retryable
    severity, explanation = entry.severity, entry.explanation
    if top is not None and top.likelihood == LIKELY and severity in ("ok", "info"):
        # A success or a redirect that the causes say is a failure: it is one.
        severity = "warning" if retryable else "error"
        explanation = top.explanation
    wait = facts.wait
    auto_retry, reason = retry_reasoning(facts, entry, retryable, wait.wait_seconds, top)
    diagnosis = Diagnosis(
        code=top.code if top else entry.code,
        severity=severity,
        title=top.title if top and top.likelihood == LIKELY else entry.title,
        profile=profile.slug,
        profile_name=profile.name,
        api_name=profile.short_name,
        status=facts.status,
        reason=http.reason if http and http.status is not None else facts.reason,
        failure_kind=facts.failure_kind,
        failure_detail=facts.failure_detail or None,
        failure_message=facts.failure_message,
        api_meaning=entry.api_meaning,
        api_docs_url=(profile.errors_url or profile.docs_url) if entry.api_meaning else None,
        api_message=facts.api_message,
        body_format=facts.body.label if facts.body and facts.body.format != "empty" else None,
        http_meaning=http.http_meaning if http else None,
        http_reference=http.http_reference if http else None,
        http_reference_url=http.http_reference_url if http else None,
        explanation=explanation,
        entry_code=entry.code,
        causes=causes,
        playbooks=playbooks or list(entry.playbooks),
        method=facts.method,
        retryable=retryable,
        auto_retry=auto_retry,
        retry_reason=reason,
        retry_after_seconds=facts.retry_after_seconds,
        wait_seconds=wait.wait_seconds,
        wait_source=wait.wait_source,
        quota=dict(wait.quota),
        retry_hint=retry_hint(entry, facts, retryable=retryable),
    )
    diagnosis = with_timing(diagnosis, exchange)  # phase timings and TLS facts (timing.py)
    return _scrub(diagnosis, facts)


def _scrub(diagnosis: Diagnosis, facts: Facts) -> Diagnosis:
    """Remove every secret value of the request from the texts taken from the exchange."""
    if not facts.secret_values:
        return diagnosis

    def clean(text: str | None) -> str | None:
        return facts.redact(text) if text else text

    def scrubbed(line: Evidence) -> Evidence:
        value, note = clean(line.value) or "", clean(line.note) or ""
        if (value, note) == (line.value, line.note):
            return line
        return replace(line, value=value, note=note)

    def scrubbed_cause(cause: Cause) -> Cause:
        evidence = [scrubbed(line) for line in cause.evidence]
        if all(new is old for new, old in zip(evidence, cause.evidence, strict=True)):
            return cause  # nothing of it held a secret: no copy (diagnose() stays fast)
        return replace(cause, evidence=evidence)

    causes = [scrubbed_cause(cause) for cause in diagnosis.causes]
    api_message = clean(diagnosis.api_message)
    failure_message = clean(diagnosis.failure_message)
    if (
        api_message == diagnosis.api_message
        and failure_message == diagnosis.failure_message
        and all(new is old for new, old in zip(causes, diagnosis.causes, strict=True))
    ):
        return diagnosis
    return replace(
        diagnosis, api_message=api_message, failure_message=failure_message, causes=causes
    )


def _safe_url(exchange: Exchange) -> str:
    try:
        parts = urlsplit(str(exchange.url))
        return f"{parts.scheme}://{parts.hostname}{parts.path}"
    except ValueError:
        return "(invalid URL)"


# ---------------------------------------------------------------------------- retrying


def _why_retrying_helps(facts: Facts, top: Cause | None) -> str:
    code = top.code if top else ""
    if facts.status == 429:
        return "the rate-limit window resets, and the same request is then accepted"
    if code.endswith("503.maintenance"):
        return "the service comes back once the maintenance is over"
    if facts.status is not None and facts.status >= 500:
        return "the fault is on the server's side and usually passes"
    if facts.status == 408:
        return "the server gave up waiting for the request; a new attempt may be quicker"
    if facts.status is None:
        return "this kind of failure is often temporary"
    return "the outcome may differ on a later attempt"


def _why_retrying_cannot_help(facts: Facts) -> str:
    if facts.status is None:
        return "this failure does not go away by itself"
    if 400 <= facts.status <= 499:
        return "the server refused the request as sent, and will refuse it the same way"
    return "the outcome does not depend on time"


def retry_reasoning(
    facts: Facts,
    entry: CatalogEntry,
    retryable: bool,
    wait_seconds: int | None,
    top: Cause | None,
) -> tuple[bool, str]:
    """(whether the dashboard may retry unattended, why retrying can or cannot help)."""
    if not retryable:
        if entry.severity in ("ok", "info"):
            return False, ""
        return False, (
            f"Retrying the same request cannot help: {_why_retrying_cannot_help(facts)}. "
            "Follow the playbook, then send the corrected request."
        )
    parts = [f"Retrying can help: {_why_retrying_helps(facts, top)}."]
    if wait_seconds is not None:
        parts.append(f"Wait {format_seconds(wait_seconds)} first ({facts.wait.wait_source}).")
    else:
        parts.append("No wait is announced: back off exponentially with full jitter.")
    method = facts.method
    if method in IDEMPOTENT_METHODS:
        parts.append(
            f"{method} is idempotent ({IDEMPOTENCY_REFERENCE}), so it may be retried automatically."
        )
        return True, " ".join(parts)
    if facts.status is None and nothing_sent(facts.failure_kind):
        parts.append(
            f"Nothing reached the server, so even a {method or 'request'} can be sent again safely."
        )
        return True, " ".join(parts)
    shown = method or "This method"
    parts.append(
        f"{shown} is not idempotent ({IDEMPOTENCY_REFERENCE}): it must not be retried "
        "automatically. Check that the first attempt had no effect, then retry by hand."
    )
    return False, " ".join(parts)


def retry_hint(entry: CatalogEntry, facts: Facts, *, retryable: bool | None = None) -> str:
    """One sentence on whether and when to retry."""
    retryable = entry.retryable if retryable is None else retryable
    if not retryable:
        if entry.severity in ("ok", "info"):
            return ""
        return "Sending the same request again will not help: follow the steps below first."
    wait = facts.wait
    if wait.wait_seconds is not None:
        hint = (
            f"Retrying can help: the server asks to wait {format_seconds(wait.wait_seconds)}"
            f" ({wait.wait_source}) before retrying."
        )
    else:
        hint = "Retrying can help: wait a little, then retry with exponential backoff and jitter."
    may_have_arrived = facts.status is not None or not nothing_sent(facts.failure_kind)
    if facts.method and facts.method not in IDEMPOTENT_METHODS and may_have_arrived:
        hint += (
            f" {facts.method} is not idempotent: make sure the first attempt had no effect"
            " before sending it again."
        )
    return hint


def format_seconds(seconds: int) -> str:
    """A duration for people: "45 s", "2 min 5 s", "3 h 20 min", "2 d 4 h"."""
    seconds = max(0, int(seconds))
    minutes, secs = divmod(seconds, 60)
    hours, minutes = divmod(minutes, 60)
    days, hours = divmod(hours, 24)
    if days:
        return f"{days} d {hours} h" if hours else f"{days} d"
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"
